"""What the fuzzers drive: a real server process (embedded SQLite, in-process bus, the OpenAPI document on)
and the size of a run (``OPENIM_FUZZ_EXAMPLES``, ``OPENIM_FUZZ_SEED``; docs/operations.md, "Fuzzing").
The process started here is stopped here, by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "fuzz-secret-0123456789abcdef"
ADMIN_ID = "imAdmin"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
EXAMPLES = int(os.environ.get("OPENIM_FUZZ_EXAMPLES", "25"))
# The log events of the server's last-resort handlers: REST errCode 500, WS errCode 500, a crashed connection.
INTERNAL_ERROR_EVENTS = ('"api.unhandled"', '"request.failed"', '"conn.crashed"', '"handshake.failed"')
SEED = int(os.environ["OPENIM_FUZZ_SEED"]) if os.environ.get("OPENIM_FUZZ_SEED") else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FuzzServer:
    api_url: str
    ws_url: str
    log_path: Path
    proc: subprocess.Popen[bytes]

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def call(self, path: str, body: object, token: str | None = None) -> object:
        headers = {"operationID": f"fz-{time.time_ns()}"}
        if token is not None:
            headers["token"] = token
        env = httpx.post(self.api_url + path, json=body, headers=headers, timeout=15).json()
        assert env["errCode"] == 0, f"{path}: {env}"
        return env.get("data")

    def admin_token(self) -> str:
        data = self.call("/auth/get_admin_token", {"secret": SECRET, "userID": ADMIN_ID})
        assert isinstance(data, dict)
        return str(data["token"])

    def user_token(self, user_id: str, platform_id: int = 5) -> str:
        data = self.call("/auth/get_user_token", {"userID": user_id, "platformID": platform_id},
                         token=self.admin_token())  # fmt: skip
        assert isinstance(data, dict)
        return str(data["token"])

    def internal_errors(self) -> list[str]:
        """Log lines of what the server answered with an internal error (500) or a dropped connection."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [line[:2000] for line in text.splitlines() if any(e in line for e in INTERNAL_ERROR_EVENTS)]


def start_server(base: Path) -> FuzzServer:
    api_port, ws_port = _free_port(), _free_port()
    config = base / "config.yaml"
    config.write_text(
        f"secret: {SECRET}\n"
        f"data_dir: {base / 'data'}\n"
        f"api: {{host: 127.0.0.1, port: {api_port}, openapi: true}}\n"
        f"gateway: {{host: 127.0.0.1, port: {ws_port}}}\n"
        "log: {format: json}\n",
        encoding="utf-8",
    )
    log_path = base / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "openim", "serve", "-c", str(config), "--module", "all"],
            cwd=base, stdout=log_file, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    srv = FuzzServer(f"http://127.0.0.1:{api_port}", f"ws://127.0.0.1:{ws_port}", log_path, proc)
    try:
        _wait_healthy(srv)
    except BaseException:
        stop_server(srv)
        raise
    return srv


def stop_server(srv: FuzzServer) -> None:
    _stop(srv.proc)


def _wait_healthy(srv: FuzzServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not srv.alive:
            pytest.fail(f"server exited with {srv.proc.returncode}:\n{srv.log_tail()}")
        try:
            if httpx.get(srv.api_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not healthy after {START_TIMEOUT_S}s:\n{srv.log_tail()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the process this fixture started, and only it."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)
