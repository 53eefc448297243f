"""What the fuzzers drive: a real server process (embedded SQLite, in-process bus, the OpenAPI document on)
and the size of a run (``OPENIM_FUZZ_EXAMPLES``, ``OPENIM_FUZZ_SEED``; docs/operations.md, "Fuzzing").
The process started here is stopped here, by pid."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import wsproto
from wsproto.events import AcceptConnection, CloseConnection, Message, Ping, RejectConnection, Request

from tests.integration.conftest import free_port, stop_process, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
SECRET = "fuzz-secret-0123456789abcdef"
ADMIN_ID = "imAdmin"
EXAMPLES = int(os.environ.get("OPENIM_FUZZ_EXAMPLES", "25"))
# The log events of the server's last-resort handlers: REST errCode 500, WS errCode 500, a crashed connection.
INTERNAL_ERROR_EVENTS = frozenset({"api.unhandled", "request.failed", "conn.crashed", "handshake.failed"})
SEED = int(os.environ["OPENIM_FUZZ_SEED"]) if os.environ.get("OPENIM_FUZZ_SEED") else None


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
        return [line[:2000] for line in text.splitlines() if _is_internal_error(line)]


def _is_internal_error(line: str) -> bool:
    """By the record's ``event``: a fuzzed string (an operationID, a userID) that happens to be an event's
    name must not count. A line that is not a JSON record counts when it names one of the events."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if isinstance(record, dict):
        return record.get("event") in INTERNAL_ERROR_EVENTS
    return any(f'"{event}"' in line for event in INTERNAL_ERROR_EVENTS)


def start_server(base: Path) -> FuzzServer:
    api_port, ws_port = free_port(), free_port()
    config = base / "config.yaml"
    config.write_text(
        f"secret: {SECRET}\n"
        f"data_dir: {base / 'data'}\n"
        f"api: {{host: 127.0.0.1, port: {api_port}, openapi: true}}\n"
        f"gateway: {{host: 127.0.0.1, port: {ws_port}}}\n"
        "log: {format: json}\n"
        # The fuzzers log in and send wrong secrets by the hundred: the abuse limits (tested in
        # tests/integration/test_security_*.py) would lock the harness out of its own tokens.
        "security: {admin_secret_attempts: 0, send_rate: 0, login_rate_user: 0, login_rate_ip: 0}\n",
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
        wait_healthy(srv)
    except BaseException:
        stop_server(srv)
        raise
    return srv


def stop_server(srv: FuzzServer) -> None:
    stop_process(srv.proc)


# -- a blocking WebSocket client (wsproto over a socket), so that hypothesis drives it example by example ------


class Closed(Exception):
    """The server closed the connection (code and reason in the message)."""


class SyncWs:
    """One logged-in connection, as the JS SDK opens it (``sdkType=js``, ``isMsgResp=true``)."""

    def __init__(self, ws_url: str, user_id: str, token: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(ws_url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        target = (f"/?sendID={user_id}&token={token}&platformID=5&operationID=fz{time.time_ns()}"
                  "&isBackground=false&isMsgResp=true&sdkType=js")  # fmt: skip
        self.sock.sendall(self.ws.send(Request(host=f"{parts.hostname}:{parts.port}", target=target)))
        self.closed: str | None = None
        self._pending: list[str | bytes] = []
        self._parts: list[str | bytes] = []
        deadline = time.monotonic() + timeout
        while True:
            for event in self._events(deadline):
                if isinstance(event, RejectConnection):
                    raise Closed(f"handshake refused: HTTP {event.status_code}")
                if isinstance(event, AcceptConnection):
                    first = self.recv(deadline - time.monotonic())
                    if first != '{"errCode":0,"errMsg":"","errDlt":""}':
                        raise Closed(f"handshake result: {first!r}")
                    return

    def _events(self, deadline: float) -> list[Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no frame from the server in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise
        except OSError as exc:
            self.closed = f"socket error: {exc}"
            raise Closed(self.closed) from exc
        if not data:
            self.closed = self.closed or "EOF"
            raise Closed(self.closed)
        self.ws.receive_data(data)
        out: list[Any] = []
        for event in self.ws.events():
            if isinstance(event, Ping):
                self.sock.sendall(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.closed = f"close {event.code} {event.reason}"
                with contextlib.suppress(Exception):
                    self.sock.sendall(self.ws.send(event.response()))
                raise Closed(self.closed)
            elif isinstance(event, Message):
                self._parts.append(event.data)
                if event.message_finished:
                    texts = [p for p in self._parts if isinstance(p, str)]
                    blobs = [p for p in self._parts if isinstance(p, bytes)]
                    whole: str | bytes = "".join(texts) if texts else b"".join(blobs)
                    self._parts = []
                    self._pending.append(whole)
            else:
                out.append(event)
        return out

    def send(self, frame: str | bytes) -> None:
        if self.closed:
            raise Closed(self.closed)
        try:
            self.sock.sendall(self.ws.send(Message(data=frame)))
        except OSError as exc:
            self.closed = f"socket error: {exc}"
            raise Closed(self.closed) from exc

    def recv(self, timeout: float) -> str | bytes:
        """The next whole message; Closed when the server closed, TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self._pending:
            if self.closed:
                raise Closed(self.closed)
            try:
                self._events(deadline)
            except Closed:
                if not self._pending:
                    raise
        return self._pending.pop(0)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if not self.closed:
                self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
        with contextlib.suppress(OSError):
            self.sock.close()
