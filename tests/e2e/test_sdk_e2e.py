"""End-to-end: the official OpenIM JS SDK (@openim/client-sdk 0.0.14, under Node) against a real
``openim serve`` process.

A module-scoped fixture starts the server on free loopback ports with a throw-away data dir and
config; each scenario file in tests/e2e/scenarios/ then runs as ``node --test <file>`` with
OPENIM_API_ADDR / OPENIM_WS_ADDR / OPENIM_SECRET pointing at it.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RunningServer

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parents[1]
SCENARIOS = sorted((E2E_DIR / "scenarios").glob("*.test.mjs"))

SCENARIO_TIMEOUT_S = 120.0

pytestmark = pytest.mark.e2e


def _run_node_test(scenario: Path, server: RunningServer) -> tuple[int | None, str]:
    """Run ``node --test <scenario>`` in its own process group; kill that group on timeout."""
    env = dict(
        os.environ,
        OPENIM_API_ADDR=server.api_addr,
        OPENIM_WS_ADDR=server.ws_addr,
        OPENIM_SECRET=server.secret,
    )
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


@pytest.mark.timeout(SCENARIO_TIMEOUT_S + 60)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name.removesuffix(".test.mjs") for p in SCENARIOS])
def test_sdk_scenario(scenario: Path, node_modules: Path, openim_server: RunningServer) -> None:
    returncode, output = _run_node_test(scenario, openim_server)
    if returncode != 0:
        pytest.fail(
            f"node --test {scenario.relative_to(REPO_ROOT)} exited with {returncode}\n"
            f"--- node output ---\n{output}\n{openim_server.logs()}",
            pytrace=False,
        )


def test_scenarios_present() -> None:
    names = {p.name for p in SCENARIOS}
    expected = {
        "login.test.mjs",
        "chat.test.mjs",
        "burst.test.mjs",
        "offline.test.mjs",
        "conversation.test.mjs",
        "revoke.test.mjs",
        "kick.test.mjs",
    }
    assert expected <= names, f"missing scenario files: {sorted(expected - names)}"
