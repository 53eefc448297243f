"""How a scenario file runs: ``node --test <file>`` with OPENIM_API_ADDR / OPENIM_WS_ADDR / OPENIM_SECRET
pointing at a server. Shared by tests/e2e (a ``python -m openim serve`` process) and tests/container (the
container image)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent
SCENARIO_TIMEOUT_S = 120.0


def run_node_test(scenario: Path, *, api_addr: str, ws_addr: str, secret: str) -> tuple[int | None, str]:
    """Run ``node --test <scenario>`` in its own process group; kill that group on timeout."""
    env = dict(os.environ, OPENIM_API_ADDR=api_addr, OPENIM_WS_ADDR=ws_addr, OPENIM_SECRET=secret)
    proc = subprocess.Popen(
        ["node", "--test", "--test-reporter=spec", str(scenario)],
        cwd=E2E_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=SCENARIO_TIMEOUT_S)
        return proc.returncode, output
    except subprocess.TimeoutExpired:
        # node --test runs the file in a child process: stop the whole group we created.
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return None, f"{output}\n[timed out after {SCENARIO_TIMEOUT_S:.0f} s]"
