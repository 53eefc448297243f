"""The console's own endpoints over plain HTTP (no browser): who may call them, what they answer, and
that every page asset comes from the binary itself."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ROOT, SECRET, Server, serving
from tests.integration.webhook_receiver import CONTINUE, Receiver, running_receiver

WEB = ROOT / "openim" / "web"


def api(server: Server, method: str, path: str, body: Any = None, token: str = "") -> dict[str, Any]:
    headers = {"operationID": "console-api", **({"token": token} if token else {})}
    resp = httpx.request(method, server.api_url + path, json=body, headers=headers, timeout=15)
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


def test_admin_api_needs_an_admin_token(server: Server) -> None:
    assert api(server, "POST", "/admin/api/login", {"secret": "wrong"})["errCode"] == 1002
    assert api(server, "GET", "/admin/api/config")["errCode"] == 1001  # no token at all
    server.register(("api_carol", "Carol"))
    user = server.call("/auth/get_user_token", {"userID": "api_carol", "platformID": 5}, server.admin_token())
    for method, path in (("GET", "/admin/api/dashboard"), ("GET", "/admin/api/nodes"), ("GET", "/admin/api/config"),
                         ("GET", "/admin/api/warnings"), ("POST", "/admin/api/users/block")):
        assert api(server, method, path, {"userID": "api_carol"}, user["token"])["errCode"] == 1002, path


def test_block_kicks_refuses_tokens_and_lifts(server: Server) -> None:
    admin = server.admin_token()
    server.register(("api_dave", "Dave"))
    old = server.call("/auth/get_user_token", {"userID": "api_dave", "platformID": 5}, admin)["token"]

    blocked = api(server, "POST", "/admin/api/users/block", {"userID": "api_dave", "reason": "spam"}, admin)
    assert blocked["errCode"] == 0
    assert api(server, "POST", "/auth/parse_token", {"token": old})["errCode"] == 1506  # logged out everywhere
    refused = api(server, "POST", "/auth/get_user_token", {"userID": "api_dave", "platformID": 3}, admin)
    assert refused["errCode"] == 1002 and "blocked" in refused["errDlt"]
    blocks = api(server, "POST", "/admin/api/users/blocks", {"userIDs": ["api_dave", "nobody"]}, admin)["data"]
    assert [(b["userID"], b["reason"], b["operatorUserID"]) for b in blocks] == [("api_dave", "spam", "imAdmin")]

    assert api(server, "POST", "/admin/api/users/block", {"userID": "imAdmin"}, admin)["errCode"] == 1002
    assert api(server, "POST", "/admin/api/users/block", {"userID": "no_such_user"}, admin)["errCode"] == 1004

    assert api(server, "POST", "/admin/api/users/unblock", {"userID": "api_dave"}, admin)["data"] == {"lifted": True}
    assert api(server, "POST", "/auth/get_user_token", {"userID": "api_dave", "platformID": 3}, admin)["errCode"] == 0


def test_force_logout_ends_every_platform(server: Server) -> None:
    admin = server.admin_token()
    server.register(("api_erin", "Erin"))
    tokens = [server.call("/auth/get_user_token", {"userID": "api_erin", "platformID": p}, admin)["token"]
              for p in (1, 3, 5)]
    assert api(server, "POST", "/admin/api/users/force_logout", {"userID": "api_erin"}, admin)["errCode"] == 0
    assert [api(server, "POST", "/auth/parse_token", {"token": t})["errCode"] for t in tokens] == [1506] * 3


def test_dashboard_nodes_and_masked_config(server: Server) -> None:
    admin = server.admin_token()
    board = api(server, "GET", "/admin/api/dashboard", token=admin)["data"]
    assert board["nodeID"] == "browser-node-1"
    assert {"connections", "onlineUsers", "messagesSent", "errors", "sendLatency"} <= set(board["figures"])
    assert [n["health"] for n in board["nodes"] if n["self"]] == ["up"]
    config = api(server, "GET", "/admin/api/config", token=admin)["data"]
    assert config["secret"] == "****" and server.secret not in str(config)
    assert api(server, "GET", "/demo/config.json")["wsAddr"].startswith("ws://127.0.0.1:")


def test_config_warnings_name_the_example_secret_only_while_it_is_used(server: Server, example_server: Server) -> None:
    assert api(server, "GET", "/admin/api/warnings", token=server.admin_token())["data"] in (None, [])
    (warning,) = api(example_server, "GET", "/admin/api/warnings", token=example_server.admin_token())["data"]
    assert "secret: the public example value 'openIM123'" in warning and "openim init" in warning
    logged = [json.loads(line) for line in example_server.log_path.read_text().splitlines() if line.startswith("{")]
    assert [e["warning"] for e in logged if e["event"] == "config.warning.secret"] == [warning]
    assert "config.warning" not in server.log_path.read_text()


def test_pages_load_only_their_own_assets(server: Server) -> None:
    for page in ("/admin/", "/demo/"):
        resp = httpx.get(server.api_url + page)
        assert resp.status_code == 200
        assert "default-src 'self'" in resp.headers["content-security-policy"]
        for asset in re.findall(r'(?:src|href)="(/ui/[^"]+)"', resp.text):
            assert httpx.get(server.api_url + asset).status_code == 200, asset
    assert httpx.get(server.api_url + "/admin", follow_redirects=False).status_code == 308
    assert httpx.get(server.api_url + "/ui/../config.yaml").status_code == 404
    # No file of the web UI names another host: nothing is fetched from a CDN.
    for path in WEB.rglob("*"):
        if path.suffix in (".html", ".js", ".css"):
            text = path.read_text().replace("http://www.w3.org/2000/svg", "")  # a namespace name, not a fetch
            assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), path


def test_protobuf_codec_matches_the_protocol_examples() -> None:
    """openim/web/demo/pb.js against the worked examples of tests/unit/wire/test_wire_examples.py, under Node."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = Path(__file__).with_name("pb_examples.mjs")
    result = subprocess.run([node, str(script), str(WEB / "demo" / "pb.js")], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_demo_login_registers_issues_web_tokens_and_honours_bans(server: Server) -> None:
    assert api(server, "POST", "/demo/api/login", {"secret": "wrong", "userID": "api_frank"})["errCode"] == 1002
    frank = {"secret": server.secret, "userID": "api_frank", "nickname": "Frank"}
    first = api(server, "POST", "/demo/api/login", frank)
    assert first["errCode"] == 0 and first["data"]["nickname"] == "Frank"
    parsed = api(server, "POST", "/auth/parse_token", {"token": first["data"]["token"]})["data"]
    assert (parsed["userID"], parsed["platformID"]) == ("api_frank", 5)
    again = api(server, "POST", "/demo/api/login", {"secret": server.secret, "userID": "api_frank"})["data"]
    assert again["nickname"] == "Frank"  # known already: not registered twice
    assert api(server, "POST", "/auth/parse_token", {"token": first["data"]["token"]})["errCode"] == 1506  # policy 1

    assert api(server, "POST", "/demo/api/login", {"secret": server.secret, "userID": "imAdmin"})["errCode"] == 1002
    assert api(server, "POST", "/demo/api/login", {"secret": server.secret, "userID": "bad:id"})["errCode"] == 1001
    admin = server.admin_token()
    api(server, "POST", "/admin/api/users/block", {"userID": "api_frank"}, admin)
    refused = api(server, "POST", "/demo/api/login", {"secret": server.secret, "userID": "api_frank"})
    assert refused["errCode"] == 1002 and "blocked" in refused["errDlt"]


@pytest.fixture(scope="module")
def hook_receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec


@pytest.fixture(scope="module")
def hooks_server(tmp_path_factory: pytest.TempPathFactory, hook_receiver: Receiver) -> Iterator[Server]:
    """A server whose afterAddFriend callbacks give up after two attempts (dead letters)."""
    extra = (
        f"webhooks: {{url: '{hook_receiver.url}', enable: [afterAddFriend], timeout: 2s, after_attempts: 2, "
        "after_backoff: 50ms}\n"
    )
    with serving(tmp_path_factory.mktemp("browser-hooks-server"), SECRET, "browser-hooks-1", extra) as srv:
        yield srv


def _eventually(what: str, probe: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_webhook_dead_letters_are_shown_and_redriven(hooks_server: Server, hook_receiver: Receiver) -> None:
    command = "callbackAfterAddFriendCommand"
    hook_receiver.rules[command] = lambda _c, _b: (500, b"receiver broken", 0.0)
    admin = hooks_server.admin_token()
    hooks_server.register(("hook_ann", "Ann"), ("hook_ben", "Ben"))
    hooks_server.call("/friend/add_friend", {"fromUserID": "hook_ann", "toUserID": "hook_ben", "reqMsg": "hi"}, admin)

    def figures() -> dict[str, Any]:
        return dict(api(hooks_server, "GET", "/admin/api/dashboard", token=admin)["data"]["figures"]["webhooks"])

    board = _eventually("a dead letter on the dashboard", lambda: (f := figures())["deadLetters"] == 1 and f)
    assert (board["queued"], board["failedAttempts"], board["delivered"]) == (0, 2, 0)
    (letter,) = api(hooks_server, "GET", "/admin/api/webhooks/dead_letters", token=admin)["data"]
    assert (letter["hook"], letter["attempts"], letter["lastError"]) == ("afterAddFriend", 2, "HTTP 500")
    sent = json.loads(letter["body"])
    assert (sent["callbackCommand"], sent["fromUserID"], sent["reqMsg"]) == (command, "hook_ann", "hi")
    assert sent["operationID"] == letter["operationID"]
    metrics = httpx.get(hooks_server.api_url + "/metrics", timeout=5).text
    assert "openim_webhooks_dead_letters 1.0" in metrics

    # Only an admin may re-drive, with a list of ids or nothing.
    user = hooks_server.call("/auth/get_user_token", {"userID": "hook_ann", "platformID": 5}, admin)["token"]
    assert api(hooks_server, "POST", "/admin/api/webhooks/redrive", {}, user)["errCode"] == 1002
    assert api(hooks_server, "POST", "/admin/api/webhooks/redrive", {"entryIDs": "all"}, admin)["errCode"] == 1001

    hook_receiver.rules[command] = lambda _c, _b: (200, CONTINUE, 0.0)
    answer = api(hooks_server, "POST", "/admin/api/webhooks/redrive", {"entryIDs": [letter["entryID"]]}, admin)
    assert answer["data"] == {"requeued": 1}
    _eventually("the re-driven callback delivered", lambda: figures()["delivered"] == 1)
    assert hook_receiver.of(command)[-1].body == sent
    assert api(hooks_server, "GET", "/admin/api/webhooks/dead_letters", token=admin)["data"] in (None, [])
    _eventually("no dead letter on the dashboard", lambda: figures()["deadLetters"] == 0)
