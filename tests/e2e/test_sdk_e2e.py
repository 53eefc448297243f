"""End-to-end: the official OpenIM JS SDK (@openim/client-sdk 0.0.14, under Node) against a real
``openim serve`` process.

A module-scoped fixture starts the server on free loopback ports with a throw-away data dir and
config; each scenario file in tests/e2e/scenarios/ then runs as ``node --test <file>`` with
OPENIM_API_ADDR / OPENIM_WS_ADDR / OPENIM_SECRET pointing at it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parents[1]
SCENARIOS = sorted((E2E_DIR / "scenarios").glob("*.test.mjs"))

HEALTH_TIMEOUT_S = 30.0
SCENARIO_TIMEOUT_S = 120.0
NPM_CI_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 15.0

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class RunningServer:
    api_addr: str
    ws_addr: str
    secret: str
    pid: int
    log_dir: Path

    def logs(self, limit: int = 20_000) -> str:
        parts = []
        for name in ("stdout", "stderr"):
            path = self.log_dir / f"server.{name}"
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- server {name} (last {limit} chars) ---\n{text[-limit:]}")
        return "\n".join(parts)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_ports(n: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < n:
        ports.add(_free_port())
    return sorted(ports)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _tail(path: Path, limit: int = 20_000) -> str:
    return path.read_text(errors="replace")[-limit:] if path.exists() else ""


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The SDK and ws installed from the committed lockfile (npm ci if node_modules is missing)."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are required for the e2e suite (Node 20+)", pytrace=False)
    modules = E2E_DIR / "node_modules"
    if not (modules / "@openim" / "client-sdk" / "package.json").exists() or not (modules / "ws").exists():
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=E2E_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT_S,
            check=False,
        )
        if proc.returncode != 0:
            pytest.fail(f"npm ci failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return modules


@pytest.fixture(scope="module")
def openim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real ``python -m openim serve`` on free loopback ports, stopped with SIGTERM at the end."""
    base = tmp_path_factory.mktemp("openim-e2e")
    data_dir = base / "data"
    data_dir.mkdir()
    api_port, ws_port = _free_ports(2)
    secret = f"e2e-secret-{secrets.token_hex(8)}"
    config_path = base / "config.yaml"
    config_path.write_text(
        f'secret: "{secret}"\n'
        f'data_dir: "{data_dir}"\n'
        f'api: {{host: "127.0.0.1", port: {api_port}}}\n'
        f'gateway: {{host: "127.0.0.1", port: {ws_port}}}\n'
        'log: {level: "info", format: "json"}\n'
    )
    stdout_path = base / "server.stdout"
    stderr_path = base / "server.stderr"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("OPENIM_CONFIG", None)
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "openim", "serve", "-c", str(config_path)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    try:
        health_url = f"http://127.0.0.1:{api_port}/healthz"
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"openim serve exited with {proc.returncode} before {health_url} answered\n"
                    f"--- stderr ---\n{_tail(stderr_path)}\n--- stdout ---\n{_tail(stdout_path)}",
                    pytrace=False,
                )
            if _healthy(health_url):
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{health_url} did not return 200 within {HEALTH_TIMEOUT_S:.0f} s\n"
                    f"--- stderr ---\n{_tail(stderr_path)}\n--- stdout ---\n{_tail(stdout_path)}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield RunningServer(
            api_addr=f"http://127.0.0.1:{api_port}",
            ws_addr=f"ws://127.0.0.1:{ws_port}",
            secret=secret,
            pid=proc.pid,
            log_dir=base,
        )
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)


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
