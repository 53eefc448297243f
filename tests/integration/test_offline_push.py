"""Offline push through a real server: devices registered with /third/fcm_update_token get a push
(generic HTTP provider, posting to a real local receiver) for messages that arrive while they have no
connection; connected users and the sender do not; a logged-out device (WS 2003) is forgotten; and a
misconfigured FCM provider stops the process at start with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio_websocket

from openim.wire.envelope import encode_request
from openim.wire.pb import push_pb2
from tests.integration.conftest import ROOT, ServerProcess, free_port
from tests.integration.offline_push_calls import register_users, send_text
from tests.integration.webhook_receiver import Receiver, running_receiver

WEB, IOS = 5, 1


@pytest.fixture(scope="module")
def gateway() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec


@pytest.fixture(scope="module")
def server_extra_config(gateway: Receiver) -> str:
    return (
        f"offline_push: {{provider: http, http_url: '{gateway.url}/push', http_headers: {{Authorization: Bearer k}}}}\n"
    )


@pytest.fixture(scope="module")
def users(server: ServerProcess) -> dict[str, str]:
    return register_users(server, "op")


def pushed(gateway: Receiver, text: str) -> list[dict[str, object]]:
    return [n for c in gateway.of("push") for n in c.body.get("notifications", []) if n.get("desc") == text]


def test_registered_offline_device_gets_the_push(
    server: ServerProcess, gateway: Receiver, users: dict[str, str]
) -> None:
    bob = users["bob"]
    server.call(
        "/third/fcm_update_token",
        {"platformID": IOS, "fcmToken": "bob-iphone", "account": bob},
        token=server.user_token(bob, IOS),
    )
    server.call("/third/set_app_badge", {"userID": bob, "appUnreadCount": 4}, token=server.user_token(bob, IOS))
    send_text(server, users["alice"], bob, "while you were away")
    gateway.wait_for("push", lambda b: any(n["desc"] == "while you were away" for n in b["notifications"]))
    (note,) = pushed(gateway, "while you were away")
    assert note["userID"] == bob and note["platformID"] == IOS and note["token"] == "bob-iphone"
    assert note["title"] == "New message" and note["badge"] == 5
    assert note["data"]["conversationID"] == f"si_{min(users['alice'], bob)}_{max(users['alice'], bob)}"  # type: ignore[index]
    call = gateway.of("push")[0]
    assert call.headers["Authorization"] == "Bearer k"


def test_group_members_who_muted_the_group_get_no_offline_push(
    server: ServerProcess, gateway: Receiver, users: dict[str, str]
) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    gid = f"opg{time.time_ns() % 10**9}"
    admin = server.admin_token()
    server.call("/group/create_group", {"ownerUserID": alice, "memberUserIDs": [bob, carol],
                                        "groupInfo": {"groupID": gid, "groupName": "push", "groupType": 2}},
                token=admin)
    for user in (bob, carol):
        body = {"platformID": IOS, "fcmToken": f"{user}-group-phone", "account": user}
        server.call("/third/fcm_update_token", body, token=server.user_token(user, IOS))
    muted = {"conversationID": f"sg_{gid}", "conversationType": 3, "groupID": gid, "recvMsgOpt": 2}
    server.call("/conversation/set_conversations", {"userIDs": [carol], "conversation": muted}, token=admin)
    server.call("/msg/send_msg", {
        "sendID": alice, "groupID": gid, "senderPlatformID": WEB, "content": {"content": "to the group"},
        "contentType": 101, "sessionType": 3, "offlinePushInfo": {"title": "Group", "desc": "to the group"},
    }, token=admin)
    gateway.wait_for("push", lambda b: any(n["desc"] == "to the group" for n in b["notifications"]))
    time.sleep(0.5)  # a push to the muted member would have been in the same batch or just after it
    assert {n["userID"] for n in pushed(gateway, "to the group")} == {bob}


def test_a_user_may_not_register_a_token_for_someone_else(server: ServerProcess, users: dict[str, str]) -> None:
    env = server.post(
        "/third/fcm_update_token",
        {"platformID": IOS, "fcmToken": "x", "account": users["bob"]},
        token=server.user_token(users["carol"], IOS),
    ).json()
    assert env["errCode"] == 1002


@pytest.mark.trio
async def test_connected_users_get_no_offline_push_and_logout_forgets_the_device(
    server: ServerProcess, gateway: Receiver, users: dict[str, str]
) -> None:
    carol = users["carol"]
    token = server.user_token(carol, IOS)
    server.call(
        "/third/fcm_update_token", {"platformID": IOS, "fcmToken": "carol-phone", "account": carol}, token=token
    )
    url = (
        f"{server.ws_url}?sendID={carol}&token={token}&platformID={IOS}&operationID=op1"
        "&isBackground=false&isMsgResp=true&sdkType=js"
    )
    async with trio_websocket.open_websocket_url(url) as ws:
        assert await ws.get_message() == '{"errCode":0,"errMsg":"","errDlt":""}'
        await trio.to_thread.run_sync(send_text, server, users["alice"], carol, "you are online")
        await trio.sleep(1.0)
        assert pushed(gateway, "you are online") == []
        req = push_pb2.DelUserPushTokenReq(userID=carol, platformID=IOS).SerializeToString()
        await ws.send_message(encode_request(2003, "m1", carol, "op-logout", req))
        with trio.fail_after(5):
            while True:
                try:
                    await ws.get_message()
                except trio_websocket.ConnectionClosed:
                    break
    await trio.to_thread.run_sync(send_text, server, users["alice"], carol, "after logout")
    await trio.sleep(1.0)
    assert pushed(gateway, "after logout") == [], "a logged-out device gets no pushes"


def test_misconfigured_fcm_stops_the_process_at_start(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"secret: offline-push-secret-0123456789\ndata_dir: {tmp_path / 'data'}\n"
        f"api: {{host: 127.0.0.1, port: {free_port()}}}\ngateway: {{host: 127.0.0.1, port: {free_port()}}}\n"
        f"log: {{format: json}}\n"
        f"offline_push: {{provider: fcm, fcm_credentials_file: {tmp_path / 'no-such-key.json'}}}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "openim", "serve", "-c", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "no-such-key.json" in output and "cannot read" in output, output[-2000:]
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any("no-such-key.json" in json.dumps(line) for line in lines)
