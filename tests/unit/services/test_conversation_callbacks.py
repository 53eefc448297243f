"""The conversation callbacks: which stored messages open a conversation, the bodies, and what an
answer changes."""

from __future__ import annotations

import trio

from openim.config import WebhooksConfig
from openim.pipeline.jobs import SendJob
from openim.services.conversation_callbacks import NewConversationHooks, conversation_hook, settings_request
from openim.webhooks.dispatcher import Webhooks
from tests.unit.webhooks.untouched_queue import untouched_queue


def job(*, seq: int = 1, conversation_type: int = 1, content_type: int = 101) -> SendJob:
    group = conversation_type == 3
    sent = SendJob(
        payload=b"", send_id="a", recv_id="" if group else "b", group_id="g" if group else "", client_msg_id="c",
        server_msg_id="s", send_time=1, session_type=conversation_type, content_type=content_type,
        conversation_id="sg_g" if group else "si_a_b", conversation_type=conversation_type,
        owners=("a", "b"), reader_user_id="a", recipients=("b",), operation_id="op", origin_node="n",
        origin_conn="",
    )
    sent.seq = seq
    return sent


def test_bodies_spell_ids_as_openim() -> None:
    single = conversation_hook(job(), "b")
    assert single == {"ownerUserId": "b", "conversationId": "si_a_b", "conversationType": 1, "userId": "a",
                      "recvMsgOpt": 0, "isPinned": False, "isPrivateChat": False, "burnDuration": 0,
                      "groupAtType": 0, "attachedInfo": "", "ex": ""}
    group = conversation_hook(job(conversation_type=3), "")
    assert (group["groupId"], group["ownerUserId"], "userId" in group) == ("g", "", False)


def test_answer_settings_of_the_right_type_only() -> None:
    sent = job()
    body = conversation_hook(sent, "a")
    req = settings_request(sent, body, {"isPinned": True, "recvMsgOpt": True, "ex": "x", "burnDuration": None})
    assert req is not None
    assert (req.isPinned.value, req.HasField("recvMsgOpt"), req.ex.value, req.userID) == (True, False, "x", "b")
    assert (body["isPinned"], body["ex"], body["recvMsgOpt"]) == (True, "x", 0)
    assert settings_request(sent, body, {"actionCode": 0}) is None


def test_only_first_messages_of_enabled_kinds_are_queued() -> None:
    hooks = NewConversationHooks(
        Webhooks(
            WebhooksConfig(url="http://127.0.0.1:9/cb", enable=("afterCreateGroupChatConversations",)),
            queue=untouched_queue(),
            consumer="test",
        ),
        conversations=None,  # type: ignore[arg-type]  # never reached: nothing is served here
    )
    first_group = job(conversation_type=3)
    hooks.stored([job(), job(seq=2, conversation_type=3), first_group, job(conversation_type=3, content_type=113)])
    queued = []
    while True:
        try:
            queued.append(hooks._recv.receive_nowait())
        except trio.WouldBlock:
            break
    assert queued == [first_group]
