"""The push callbacks' gate against a real local receiver: who is asked, what a refusal and a narrowing
do, and the bodies (OpenIM's push request)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from openim.config import WebhooksConfig
from openim.pipeline.jobs import PushJob
from openim.webhooks.dispatcher import Webhooks
from openim.webhooks.pushes import PushHooks, offline_push_body, push_content
from openim.wire.pb import sdkws_pb2
from tests.integration.webhook_receiver import CONTINUE, Receiver, running_receiver
from tests.unit.webhooks.untouched_queue import untouched_queue

BLOCK = {"actionCode": 0, "nextCode": 1, "errCode": 1, "errMsg": "no", "errDlt": ""}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec


def job(text: str, *, group: str = "", content_type: int = 101, seq: int = 7) -> PushJob:
    msg = sdkws_pb2.MsgData(
        sendID="s", recvID="" if group else "r", groupID=group, sessionType=3 if group else 1,
        contentType=content_type, content=json.dumps({"content": text}).encode(), seq=seq,
        senderPlatformID=5, clientMsgID=f"c-{text}",
    )
    return PushJob("conv", msg.SerializeToString(), f"op-{text}")


def gate(receiver: Receiver, *enabled: str) -> PushHooks:
    cfg = WebhooksConfig(url=receiver.url, enable=enabled, timeout=1)
    return PushHooks(Webhooks(cfg, queue=untouched_queue(), consumer="test"))


def by_text(receiver: Receiver, rules: dict[str, Any]) -> Any:
    def rule(_: str, body: dict[str, Any]) -> tuple[int, Any, float]:
        text = json.loads(body["content"])["content"]
        return 200, rules.get(text, CONTINUE), 0.0

    return rule


@pytest.mark.trio
async def test_refusal_empties_and_narrowing_keeps_only_members(receiver: Receiver) -> None:
    receiver.rules["callbackBeforeOnlinePushCommand"] = by_text(receiver, {"no": BLOCK})
    receiver.rules["callbackBeforeGroupOnlinePushCommand"] = by_text(
        receiver, {"some": {**CONTINUE, "userIDList": ["b", "stranger"]}}
    )
    jobs = [job("no"), job("yes"), job("some", group="g"), job("all", group="g"), job("typing", content_type=113)]
    audiences = [("r", "s"), ("r",), ("a", "b", "c"), ("a", "b"), ("r",)]
    admitted = await gate(receiver, "beforeOnlinePush", "beforeGroupOnlinePush").admit(jobs, audiences)
    assert admitted == [(), ("r",), ("b",), ("a", "b"), ("r",)]
    assert len(receiver.calls) == 4  # typing is never asked about
    single = receiver.of("callbackBeforeOnlinePushCommand", lambda b: b["clientMsgID"] == "c-yes")[0].body
    assert single == {
        "callbackCommand": "callbackBeforeOnlinePushCommand", "operationID": "op-yes", "platformID": 5,
        "platform": "Web", "clientMsgID": "c-yes", "sendID": "s", "groupID": "", "contentType": 101,
        "sessionType": 1, "atUserIDList": [], "content": '{"content": "yes"}', "userIDList": ["r"],
    }
    group = receiver.of("callbackBeforeGroupOnlinePushCommand", lambda b: b["clientMsgID"] == "c-all")[0].body
    assert group["seq"] == 7 and group["groupID"] == "g" and "userIDList" not in group


@pytest.mark.trio
async def test_only_the_enabled_kind_is_asked(receiver: Receiver) -> None:
    jobs = [job("one"), job("grp", group="g")]
    admitted = await gate(receiver, "beforeGroupOnlinePush").admit(jobs, [("r",), ("a",)])
    assert admitted == [("r",), ("a",)]
    assert [c.command for c in receiver.calls] == ["callbackBeforeGroupOnlinePushCommand"]


def test_bodies_of_notifications_and_offline_pushes() -> None:
    note = sdkws_pb2.MsgData(contentType=1501, content=json.dumps({"detail": '{"group":{}}'}).encode())
    assert push_content(note) == '{"group":{}}'
    msg = sdkws_pb2.MsgData(sendID="s", senderPlatformID=99, contentType=101, content=b"{}")
    assert "title" not in offline_push_body(msg, ["u"])
    msg.offlinePushInfo.title = "T"
    body = offline_push_body(msg, ["u"])
    assert (body["title"], body["iOSBadgeCount"], body["userIDList"], body["platform"]) == ("T", False, ["u"], "")
