"""Fixtures of the end-to-end suites: a real ``openim serve`` process and the SDK's node_modules."""

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
HEALTH_TIMEOUT_S = 30.0
NPM_CI_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 15.0


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
