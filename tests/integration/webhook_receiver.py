"""A real HTTP receiver for OpenIM callbacks, for tests: a threading http.server on a free loopback port
that records every call and answers by a rule the test chooses per callbackCommand."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    command: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


# (command, body) -> (HTTP status, JSON answer or raw bytes, delay in seconds)
Rule = Callable[[str, dict[str, Any]], tuple[int, Any, float]]

CONTINUE: dict[str, Any] = {"actionCode": 0, "errCode": 0, "errMsg": "", "errDlt": "", "nextCode": 0}


@dataclass
class Receiver:
    url: str
    rules: dict[str, Rule] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, command: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.command == command and predicate(c.body)]

    def wait_for(
        self,
        command: str,
        predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
        *,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(command, predicate)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{command}: {len(self.of(command, predicate))} calls, wanted {count}")


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"_raw": raw.decode(errors="replace")}
            command = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
            with receiver.lock:
                receiver.calls.append(Call(command, self.path, body, dict(self.headers.items()), time.monotonic()))
            rule = receiver.rules.get(command)
            status, answer, delay = rule(command, body) if rule else (200, CONTINUE, 0.0)
            if delay:
                time.sleep(delay)
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the caller gave up (timeout): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/callback")
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
