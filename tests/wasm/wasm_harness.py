"""What the wasm SDK tests need besides a server: the page's HTTP server and a Selenium-driven client.

- :class:`StaticSite` serves tests/wasm/page/ plus the SDK package's files on a free loopback port:
  ``/openIM.wasm`` (openim-sdk-core compiled to WebAssembly), ``/sql-wasm.wasm`` (sql.js, the SDK's local
  database), ``/wasm_exec.js`` (Go's glue) and ``/sdk/lib/*`` (the JS wrapper and its worker).
- :class:`WasmClient` is one headless Chromium with one SDK instance (the SDK is a singleton per page),
  driven through ``window.driver`` (page/driver.mjs): calls return ``{"ok": data}`` or ``{"err": ...}``
  and every SDK callback is recorded, so a test waits for an event instead of sleeping.

Debian's chromium and chromedriver are used as in tests/browser; nothing is downloaded.
"""

from __future__ import annotations

import http.server
import mimetypes
import os
import shutil
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

WASM_DIR = Path(__file__).resolve().parent
PAGE_DIR = WASM_DIR / "page"
PACKAGE_DIR = WASM_DIR / "node_modules" / "@openim" / "wasm-client-sdk"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NPM_CI_TIMEOUT_S = 300.0
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
    "--window-size=800,600",
)
_TYPES = {".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html"}


def unavailable(reason: str) -> None:
    """Skip on a developer's machine, FAIL under CI: a CI that lost an install step must not pass."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the wasm SDK tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def ensure_package() -> Path:
    """The SDK package from the committed lockfile (npm ci when node_modules is missing)."""
    if not (PACKAGE_DIR / "assets" / "openIM.wasm").exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is required to install @openim/wasm-client-sdk")
            raise AssertionError("unreachable")
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=WASM_DIR, capture_output=True, text=True, timeout=NPM_CI_TIMEOUT_S, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            pytest.fail(f"npm ci in tests/wasm failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return PACKAGE_DIR


class _Handler(http.server.BaseHTTPRequestHandler):

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        target = _resolve(path)
        if target is None:
            self.send_error(404)
            return
        body = target.read_bytes()
        self.send_response(200)
        ctype = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _resolve(path: str) -> Path | None:
    if path in ("/", "/index.html"):
        return PAGE_DIR / "index.html"
    if path == "/driver.mjs":
        return PAGE_DIR / "driver.mjs"
    if path in ("/openIM.wasm", "/sql-wasm.wasm", "/wasm_exec.js"):
        return PACKAGE_DIR / "assets" / path[1:]
    if path.startswith("/sdk/lib/"):
        lib = (PACKAGE_DIR / "lib").resolve()
        target = (lib / path.removeprefix("/sdk/lib/")).resolve()
        if target.is_relative_to(lib) and target.is_file():
            return target
    return None


class StaticSite:
    """The page and the SDK's files on 127.0.0.1:<free port>, served by a thread."""

    def __init__(self) -> None:
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, name="wasm-site", daemon=True)

    def __enter__(self) -> StaticSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class WasmClient:
    """One Chromium, one page, one SDK instance logged in as one user."""

    def __init__(self, driver: Any, name: str) -> None:
        self.driver = driver
        self.name = name
        self.user_id = ""
        self._seen = 0  # events before this index were consumed by wait_event

    def call(self, method: str, *args: Any, timeout: float = 30) -> Any:
        """Run an SDK method; return its data or fail the test with the SDK's error."""
        result = self.raw_call(method, *args, timeout=timeout)
        if "err" in result:
            raise AssertionError(f"{self.name}: {method}{args!r} failed: {result['err']}")
        return result.get("ok")

    def raw_call(self, method: str, *args: Any, timeout: float = 30) -> dict[str, Any]:
        self.driver.set_script_timeout(timeout)
        script = "const done = arguments[arguments.length - 1]; window.driver.call(...arguments[0]).then(done);"
        result: dict[str, Any] = self.driver.execute_async_script(script, [method, *args])
        return result

    def send_text(self, text: str, *, to_user: str = "", to_group: str = "", timeout: float = 30) -> dict[str, Any]:
        self.driver.set_script_timeout(timeout)
        script = (
            "const done = arguments[arguments.length - 1];"
            "window.driver.sendText(arguments[0], arguments[1], arguments[2]).then(done);"
        )
        result: dict[str, Any] = self.driver.execute_async_script(script, text, to_user, to_group)
        if "err" in result:
            raise AssertionError(f"{self.name}: send {text!r} failed: {result['err']}")
        return dict(result["ok"])

    def events(self) -> list[dict[str, Any]]:
        return list(self.driver.execute_script("return window.driver.events;"))

    def event_names(self, last: int = 40) -> list[str]:
        return [e["event"] for e in self.events()[-last:]]

    def wait_event(
        self, event: str, predicate: Callable[[Any], bool] = lambda _d: True, *, timeout: float = 30
    ) -> dict[str, Any]:
        """The first not yet consumed ``event`` whose data satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            for i in range(self._seen, len(events)):
                if events[i]["event"] == event and predicate(events[i]["data"]):
                    self._seen = i + 1
                    return events[i]
            if time.monotonic() > deadline:
                names = [e["event"] for e in events[-30:]]
                raise AssertionError(f"{self.name}: no {event} within {timeout:.0f} s; last events: {names}")
            time.sleep(0.1)

    def login(self, user_id: str, token: str, api_addr: str, ws_addr: str, *, timeout: float = 90) -> None:
        """Log in and wait until the SDK says it is connected and has synced."""
        self.user_id = user_id
        config = {
            "userID": user_id, "token": token, "platformID": 5, "apiAddr": api_addr, "wsAddr": ws_addr,
            "logLevel": 3, "isLogStandardOutput": False,
        }  # fmt: skip
        result = self.raw_call("login", config, timeout=timeout)
        if "err" in result:
            raise AssertionError(f"{self.name}: login failed: {result['err']}; events: {self.events()[-20:]}")
        self.wait_event("OnConnectSuccess", timeout=timeout)

    def logs(self) -> str:
        try:
            entries = self.driver.get_log("browser")
        except Exception as exc:  # the browser may be gone; the logs are only for a failure message
            return f"(no browser log: {exc})"
        return "\n".join(f"{e.get('level')} {e.get('message', '')[:500]}" for e in entries[-60:])


def open_chromium(profile: Path) -> Any:
    """A headless Debian Chromium under chromedriver, with its own profile directory."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        unavailable("Debian's chromium and chromium-driver are missing (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("the selenium package is not installed")
        raise AssertionError("unreachable") from None
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never try to download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    return driver


def open_client(site: StaticSite, profile: Path, name: str) -> WasmClient:
    driver = open_chromium(profile)
    driver.get(site.url)
    deadline = time.monotonic() + 60
    while driver.execute_script("return typeof window.driver") != "object":
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: the page did not load the SDK:\n{driver.get_log('browser')}")
        time.sleep(0.1)
    return WasmClient(driver, name)


# ---------------------------------------------------------------------------------------------
# the scenario, shared by the embedded run (tests/wasm) and the cluster run (tests/cluster)
# ---------------------------------------------------------------------------------------------


class AdminApi:
    """The REST calls a test makes as the admin: register users, issue their tokens."""

    def __init__(self, api_addr: str, secret: str) -> None:
        self.api_addr = api_addr
        self.secret = secret
        self._token = ""

    def call(self, path: str, body: Any, token: str | None = None) -> Any:
        headers = {"operationID": f"wasm-{time.time_ns()}"}
        if token:
            headers["token"] = token
        env = httpx.post(self.api_addr + path, json=body, headers=headers, timeout=15).json()
        assert env["errCode"] == 0, f"{path}: {env}"
        return env.get("data")

    def admin_token(self) -> str:
        if not self._token:
            self._token = str(self.call("/auth/get_admin_token", {"secret": self.secret, "userID": "imAdmin"})["token"])
        return self._token

    def register(self, *user_ids: str) -> None:
        users = [{"userID": u, "nickname": f"nick-{u}", "faceURL": ""} for u in user_ids]
        self.call("/user/user_register", {"users": users}, self.admin_token())

    def user_token(self, user_id: str) -> str:
        return str(self.call("/auth/get_user_token", {"userID": user_id, "platformID": 5}, self.admin_token())["token"])


def _texts(messages: Any) -> list[str]:
    return [m.get("textElem", {}).get("content", "") for m in messages or []]


def _has_text(text: str) -> Callable[[Any], bool]:
    return lambda messages: text in _texts(messages)


def run_chat_scenario(
    site: StaticSite, profiles: Path, admin: AdminApi, endpoints: list[tuple[str, str]], *, label: str
) -> None:
    """Two users of the official wasm core: one-to-one both ways, a group, read state, and the offline
    history after a re-login. ``endpoints`` are (api, ws) addresses: the second user uses the last one,
    so on a cluster the two users sit on different gateways."""
    suffix = f"{time.time_ns() % 10**9}"
    alice_id, bob_id = f"wasma{suffix}", f"wasmb{suffix}"
    admin.register(alice_id, bob_id)
    (alice_api, alice_ws), (bob_api, bob_ws) = endpoints[0], endpoints[-1]
    single = "si_" + "_".join(sorted((alice_id, bob_id)))
    alice = open_client(site, profiles / f"{label}-alice", "alice")
    bob = open_client(site, profiles / f"{label}-bob", "bob")
    clients = [alice, bob]
    try:
        alice.login(alice_id, admin.user_token(alice_id), alice_api, alice_ws)
        bob.login(bob_id, admin.user_token(bob_id), bob_api, bob_ws)

        # one-to-one, both ways: acked (status 2, the server's id), pushed to the other side with its seq
        sent = alice.send_text("hello bob", to_user=bob_id)
        assert sent["status"] == 2 and len(sent["serverMsgID"]) == 32, sent
        got = bob.wait_event("OnRecvNewMessages", _has_text("hello bob"))
        [msg] = [m for m in got["data"] if _texts([m]) == ["hello bob"]]
        assert (msg["sendID"], msg["recvID"], msg["seq"], msg["serverMsgID"]) == (
            alice_id, bob_id, 1, sent["serverMsgID"]
        )
        bob.send_text("hi alice", to_user=alice_id)
        got = alice.wait_event("OnRecvNewMessages", _has_text("hi alice"))
        assert [m["seq"] for m in got["data"] if _texts([m]) == ["hi alice"]] == [2]

        # read state: bob has one unread from alice, marks it read; the server keeps it (checked after
        # the re-login below, when the SDK takes the conversation from the server again)
        conv = bob.call("getOneConversation", {"sourceID": alice_id, "sessionType": 1})
        assert conv["conversationID"] == single and conv["unreadCount"] == 1, conv
        bob.call("markConversationMessageAsRead", single)
        assert bob.call("getOneConversation", {"sourceID": alice_id, "sessionType": 1})["unreadCount"] == 0

        # a group: alice creates it with bob, both write, each gets the other's message
        group = alice.call("createGroup", {
            "memberUserIDs": [bob_id], "groupInfo": {"groupName": f"wasm {suffix}", "groupType": 2},
        })  # fmt: skip
        group_id = group["groupID"]
        bob.wait_event("OnJoinedGroupAdded", lambda g: g and g.get("groupID") == group_id)
        alice.send_text("hello group", to_group=group_id)
        got = bob.wait_event("OnRecvNewMessages", _has_text("hello group"))
        assert [m["groupID"] for m in got["data"] if _texts([m]) == ["hello group"]] == [group_id]
        bob.send_text("group reply", to_group=group_id)
        alice.wait_event("OnRecvNewMessages", _has_text("group reply"))

        # offline: bob logs out, alice writes to him and to the group, bob logs in again
        bob.call("logout")
        offline = [f"while away {i}" for i in range(3)]
        for text in offline:
            alice.send_text(text, to_user=bob_id)
        alice.send_text("group while away", to_group=group_id)
        bob.login(bob_id, admin.user_token(bob_id), bob_api, bob_ws)
        bob.wait_event("OnSyncServerFinish")

        def history(conversation_id: str) -> list[dict[str, Any]]:
            page = bob.call("getAdvancedHistoryMessageList", {
                "count": 20, "viewType": 0, "startClientMsgID": "", "conversationID": conversation_id,
            })  # fmt: skip
            return sorted(page["messageList"] or [], key=lambda m: int(m["seq"]))

        texts = _texts(history(single))
        assert texts == ["hello bob", "hi alice", *offline], f"{texts}; events: {bob.event_names()}"
        conv = bob.call("getOneConversation", {"sourceID": alice_id, "sessionType": 1})
        assert conv["unreadCount"] == len(offline), conv  # the earlier read survived the re-login
        group_texts = _texts(history(f"sg_{group_id}"))
        assert {"hello group", "group reply", "group while away"} <= set(group_texts), group_texts
    except AssertionError as exc:
        logs = "\n".join(f"--- {c.name} browser log ---\n{c.logs()}" for c in clients)
        raise AssertionError(f"{exc}\n{logs}") from None
    finally:
        for c in clients:
            c.driver.quit()
