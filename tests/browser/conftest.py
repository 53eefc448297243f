"""Fixtures of the browser suites: a real ``openim serve`` process and headless Chromium under Selenium.

The browser is Debian's (``/usr/bin/chromium`` driven by ``/usr/bin/chromedriver``); nothing is downloaded.
Without them (or without the ``selenium`` package) the suite is skipped on a developer's machine and FAILS
under CI (``CI=true``), so a CI that lost its install step cannot pass silently.

Screenshots go to ``test-artifacts/browser/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SECRET = "browser-secret-0123456789"
EXAMPLE_SECRET = "openIM123"  # the public one of config.example.yaml (openim.config.EXAMPLE_SECRET)
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
# The flags this machine needs: no sandbox as root, no GPU, and none of the background connections a
# closed network refuses (see the machine notes); each browser gets a fresh profile directory.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium (Debian's chromium + chromedriver)")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    api_url: str
    secret: str
    log_path: Path

    def call(self, path: str, body: Any, token: str | None = None) -> Any:
        headers = {"operationID": f"browser-{time.time_ns()}"}
        if token:
            headers["token"] = token
        env = httpx.post(self.api_url + path, json=body, headers=headers, timeout=15).json()
        assert env["errCode"] == 0, f"{path}: {env}"
        return env.get("data")

    def admin_token(self) -> str:
        return str(self.call("/admin/api/login", {"secret": self.secret})["token"])

    def register(self, *users: tuple[str, str]) -> None:
        self.call("/user/user_register", {"users": [{"userID": u, "nickname": n} for u, n in users]},
                  self.admin_token())

    def send_text(self, sender: str, receiver: str, text: str, token: str) -> None:
        """An admin's REST send (/msg/send_msg): traffic for the dashboard without a second client."""
        self.call("/msg/send_msg", {
            "sendID": sender, "recvID": receiver, "senderPlatformID": 5, "contentType": 101, "sessionType": 1,
            "content": {"content": text},
        }, token)


@contextlib.contextmanager
def serving(base: Path, secret: str | None, node_id: str, extra_config: str = "") -> Iterator[Server]:
    """A real ``openim serve`` on free loopback ports under ``base``; ``secret`` None: no secret and no hosts
    in the config (the embedded default: the public example secret, listeners narrowed to 127.0.0.1);
    ``extra_config``: YAML lines appended to the config."""
    api_port, ws_port = _free_port(), _free_port()
    config = base / "config.yaml"
    if secret is None:
        head, listeners = "", f"api: {{port: {api_port}}}\ngateway: {{port: {ws_port}}}\n"
    else:
        head = f"secret: {secret}\n"
        listeners = f"api: {{host: 127.0.0.1, port: {api_port}}}\ngateway: {{host: 127.0.0.1, port: {ws_port}}}\n"
    config.write_text(
        f"{head}data_dir: {base / 'data'}\nnode_id: {node_id}\n{listeners}log: {{format: json}}\n{extra_config}",
        encoding="utf-8",
    )
    log_path = base / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "openim", "serve", "-c", str(config)],
            cwd=base, stdout=log_file, stderr=subprocess.STDOUT, env=env,
        )
    srv = Server(f"http://127.0.0.1:{api_port}", secret or EXAMPLE_SECRET, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}")
            try:
                if httpx.get(srv.api_url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not healthy after {START_TIMEOUT_S}s")
            time.sleep(0.1)
        yield srv
    finally:
        if proc.poll() is None:  # stop the process this fixture started, and only it
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("browser-server"), SECRET, "browser-node-1") as srv:
        yield srv


@pytest.fixture(scope="module")
def example_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server left at the public example secret (no secret in its config), as a first try runs."""
    with serving(tmp_path_factory.mktemp("browser-example-server"), None, "browser-example-1") as srv:
        yield srv


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    """``browser(name)`` opens one headless Chromium (its own profile); all are quit at the end, after
    checking that no page logged an error (a CSP violation or a script error shows up there)."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        _unavailable("Debian's chromium and chromium-driver are missing (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("the selenium package is not installed")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never try to download anything
    drivers: list[tuple[str, Any]] = []

    def open_browser(name: str) -> Any:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / ('profile-' + name)}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
        driver.set_page_load_timeout(20)
        drivers.append((name, driver))
        return driver

    yield open_browser
    problems: list[str] = []
    for name, driver in drivers:
        try:
            for entry in driver.get_log("browser"):
                if entry.get("level") == "SEVERE":
                    problems.append(f"{name}: {entry['message']}")
        finally:
            driver.quit()
    assert not problems, "the pages logged errors:\n" + "\n".join(problems)
