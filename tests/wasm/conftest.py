"""Fixtures of the wasm SDK suite: the page's HTTP server and a real embedded ``openim serve``."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the test modules (here and in tests/cluster) import wasm_harness by name

from wasm_harness import AdminApi, StaticSite, ensure_package  # noqa: E402

ROOT = HERE.parents[1]
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site() -> Iterator[StaticSite]:
    ensure_package()
    with StaticSite() as served:
        yield served


class Embedded:
    def __init__(self, api_addr: str, ws_addr: str, admin: AdminApi, log_path: Path) -> None:
        self.api_addr, self.ws_addr, self.admin, self.log_path = api_addr, ws_addr, admin, log_path

    def log_tail(self, limit: int = 8000) -> str:
        return self.log_path.read_text(errors="replace")[-limit:]


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    """``python -m openim serve`` with the embedded defaults (SQLite, in-process bus) on free ports."""
    base = tmp_path_factory.mktemp("wasm-embedded")
    api_port, ws_port = _free_port(), _free_port()
    secret = f"wasm-secret-{secrets.token_hex(8)}"
    config = base / "config.yaml"
    config.write_text(
        f'secret: "{secret}"\ndata_dir: "{base / "data"}"\n'
        f"api: {{host: 127.0.0.1, port: {api_port}}}\ngateway: {{host: 127.0.0.1, port: {ws_port}}}\n"
        "log: {level: info, format: json}\n",
        encoding="utf-8",
    )
    log_path = base / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "openim", "serve", "-c", str(config)],
            cwd=base, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    api = f"http://127.0.0.1:{api_port}"
    server = Embedded(api, f"ws://127.0.0.1:{ws_port}", AdminApi(api, secret), log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"openim serve exited with {proc.returncode}:\n{server.log_tail()}", pytrace=False)
            try:
                if httpx.get(api + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"openim serve not healthy after {START_TIMEOUT_S:.0f} s", pytrace=False)
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:  # the process this fixture started, and only it
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
