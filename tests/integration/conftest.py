"""Fixtures for the integration suites: a REAL server process, driven over its public ports.

``server`` starts ``python -m openim serve -c <config>`` on free loopback ports with its own data
directory (embedded SQLite, in-process bus), waits until /healthz answers, and stops exactly that
process at the end (SIGTERM, then SIGKILL after a grace period). One server per test module: tests in a
module share its users and data, so they create what they need under names of their own.

Shared between suites: add fixtures below, keep this one's contract (``ServerProcess`` fields and the
``admin_token`` / ``user_token`` helpers).
"""

from __future__ import annotations

import importlib.util
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "integration-secret-0123456789"
ADMIN_ID = "imAdmin"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    api_url: str  # http://127.0.0.1:<port>
    ws_url: str  # ws://127.0.0.1:<port>
    secret: str
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def post(self, path: str, body: Any = None, *, token: str | None = None, **headers: str) -> httpx.Response:
        """POST a JSON body with an operationID (and the token when given)."""
        hdrs = {"operationID": f"it-{time.time_ns()}", **headers}
        if token is not None:
            hdrs["token"] = token
        return httpx.post(self.api_url + path, json=body if body is not None else {}, headers=hdrs, timeout=15)

    def call(self, path: str, body: Any = None, *, token: str | None = None) -> Any:
        """POST and return ``data`` of a successful envelope (fails the test otherwise)."""
        resp = self.post(path, body, token=token)
        assert resp.status_code == 200, resp.text
        env = resp.json()
        assert env["errCode"] == 0, f"{path}: {env}"
        return env.get("data")

    def admin_token(self) -> str:
        data = self.call("/auth/get_admin_token", {"secret": self.secret, "userID": ADMIN_ID})
        return str(data["token"])

    def user_token(self, user_id: str, platform_id: int = 5) -> str:
        data = self.call(
            "/auth/get_user_token", {"userID": user_id, "platformID": platform_id}, token=self.admin_token()
        )
        return str(data["token"])


def _modules() -> str:
    # Every module, as a user runs it. Until the gateway module lands, the REST side runs without it.
    return "all" if importlib.util.find_spec("openim.gateway.module") is not None else "api,msg,transfer,push"


@pytest.fixture(scope="module")
def server_extra_config() -> str:
    """YAML lines appended to the server's config; a test module overrides this fixture to run its
    server with other settings (e.g. ``messaging: {friend_verify: true}``)."""
    return ""


@pytest.fixture(scope="module")
def server_env_extra() -> dict[str, str]:
    """Environment variables for the server process (e.g. ``OPENIM_API__BODY_TIMEOUT``: the sections the
    base config already writes, api and gateway, are overridden this way)."""
    return {}


@pytest.fixture(scope="module")
def server_nofile() -> int | None:
    """A soft RLIMIT_NOFILE for the server process (None: inherited)."""
    return None


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    server_extra_config: str,
    server_env_extra: dict[str, str],
    server_nofile: int | None,
) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("server")
    api_port, ws_port = free_port(), free_port()
    config = base / "config.yaml"
    config.write_text(
        f"secret: {SECRET}\n"
        f"data_dir: {base / 'data'}\n"
        f"api: {{host: 127.0.0.1, port: {api_port}}}\n"
        f"gateway: {{host: 127.0.0.1, port: {ws_port}}}\n"
        "log: {format: json}\n" + server_extra_config,
        encoding="utf-8",
    )
    log_path = base / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(server_env_extra)

    def limit_files() -> None:
        if server_nofile is not None:
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (server_nofile, hard))

    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "openim", "serve", "-c", str(config), "--module", _modules()],
            cwd=base,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=limit_files if server_nofile is not None else None,
        )
    srv = ServerProcess(
        f"http://127.0.0.1:{api_port}", f"ws://127.0.0.1:{ws_port}", SECRET, base / "data", log_path, proc
    )
    try:
        wait_healthy(srv)
        yield srv
    finally:
        stop_process(proc)


def wait_healthy(srv: Any) -> None:
    """Until ``srv`` (``api_url``, ``proc``, ``log_tail()``) answers /healthz; fails the test if it exits."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            pytest.fail(f"server exited with {srv.proc.returncode}:\n{srv.log_tail()}")
        try:
            if httpx.get(srv.api_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not healthy after {START_TIMEOUT_S}s:\n{srv.log_tail()}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop the process this fixture started, and only it."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)
