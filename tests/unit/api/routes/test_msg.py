"""/msg/send_msg body rules: gin's required fields (HTTP 400) and OpenIM's per-contentType content rules
(1001), and the MsgData an admin body becomes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openim.api.framework import Caller
from openim.api.routes.msg import _check_send_binding, _content_of
from openim.services.message_ops import admin_message, check_content
from openim.wire.constants import ContentType, MsgFrom, Option, SessionType
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.jsoncodec import message_from_json
from openim.wire.pb import apistruct_pb2

PIC = {"type": "png", "width": 10, "height": 20, "url": "http://x/p.png"}

VALID: dict[int, dict[str, Any]] = {
    ContentType.TEXT: {"content": "hello"},
    ContentType.PICTURE: {"sourcePicture": PIC, "bigPicture": PIC, "snapshotPicture": PIC},
    ContentType.VOICE: {"sourceUrl": "http://x/v.mp3", "duration": 3},
    ContentType.VIDEO: {
        "videoUrl": "http://x/v.mp4",
        "videoType": "mp4",
        "videoSize": 100,
        "duration": 2,
        "snapshotUrl": "http://x/s.png",
        "snapshotWidth": 4,
        "snapshotHeight": 3,
    },
    ContentType.FILE: {"sourceUrl": "http://x/f", "fileName": "f.txt", "fileSize": 12},
    ContentType.AT_TEXT: {"text": "@bob hi", "atUserList": ["bob"]},
    ContentType.CUSTOM: {"data": "{}"},
    ContentType.QUOTE: {"text": "re", "quoteMessage": {}},
    ContentType.MARKDOWN_TEXT: {"content": "# hi"},
    ContentType.OA_NOTIFICATION: {"notificationName": "n", "notificationType": 1, "text": "t"},
}


@pytest.mark.parametrize("content_type", sorted(VALID))
def test_every_supported_content_type_accepts_its_minimal_content(content_type: int) -> None:
    check_content(content_type, VALID[content_type])


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        (ContentType.TEXT, {}),
        (ContentType.TEXT, {"content": ""}),
        (ContentType.PICTURE, {"sourcePicture": PIC, "bigPicture": PIC}),
        (ContentType.PICTURE, {"sourcePicture": PIC, "bigPicture": PIC, "snapshotPicture": {**PIC, "url": ""}}),
        (ContentType.VOICE, {"sourceUrl": "u", "duration": 0}),
        (ContentType.VIDEO, {"videoUrl": "u"}),
        (ContentType.FILE, {"sourceUrl": "u", "fileName": "f"}),
        (ContentType.AT_TEXT, {"text": "x"}),
        (ContentType.AT_TEXT, {"atUserList": [1]}),
        (ContentType.CUSTOM, {"description": "no data"}),
        (ContentType.MARKDOWN_TEXT, {"text": "wrong key"}),
        (ContentType.OA_NOTIFICATION, {"notificationName": "n"}),
        (ContentType.CARD, {"userID": "u"}),  # not sendable through the admin API
        (9999, {"content": "x"}),
    ],
)
def test_missing_or_unsupported_content_is_1001(content_type: int, content: dict[str, Any]) -> None:
    with pytest.raises(OpenIMError) as caught:
        check_content(content_type, content)
    assert caught.value.code == ErrCode.ARGS


def test_keys_match_case_insensitively_and_numbers_may_be_strings() -> None:
    check_content(ContentType.VOICE, {"SourceURL": "u", "DURATION": "3"})


def req(**fields: Any) -> apistruct_pb2.SendMsgReq:
    base: dict[str, Any] = {"sendID": "imAdmin", "recvID": "bob", "contentType": 101, "sessionType": 1}
    base.update(fields)
    return message_from_json(base, apistruct_pb2.SendMsgReq)


def test_admin_message_shape() -> None:
    msg = admin_message(
        req(senderNickname="Boss", isOnlineOnly=True, notOfflinePush=True), {"z": 1, "content": "hé"}, recv_id="bob"
    )
    assert (msg.sendID, msg.recvID, msg.msgFrom, msg.sessionType) == ("imAdmin", "bob", MsgFrom.SYSTEM, 1)
    assert len(msg.clientMsgID) == 32 and msg.senderNickname == "Boss"
    assert msg.content == '{"content":"hé","z":1}'.encode()  # Go's map order: sorted keys
    assert {k: msg.options[k] for k in msg.options} == {
        Option.HISTORY: False,
        Option.PERSISTENT: False,
        Option.SENDER_SYNC: False,
        Option.CONVERSATION_UPDATE: False,
        Option.OFFLINE_PUSH: False,
    }
    assert admin_message(req(), {"content": "x"}, recv_id="bob").clientMsgID != msg.clientMsgID


def test_at_text_and_oa_notification() -> None:
    at = admin_message(req(contentType=106), {"text": "hi", "atUserList": ["bob", "carol"]}, recv_id="bob")
    assert list(at.atUserIDList) == ["bob", "carol"]
    oa = admin_message(req(contentType=1400, sessionType=1), VALID[ContentType.OA_NOTIFICATION], recv_id="bob")
    assert oa.sessionType == SessionType.NOTIFICATION
    assert json.loads(json.loads(oa.content)["detail"]) == VALID[ContentType.OA_NOTIFICATION]


@pytest.mark.parametrize(
    "fields",
    [{"sendID": ""}, {"contentType": 0}, {"sessionType": 0}, {"recvID": ""}, {"sessionType": 3, "groupID": ""}],
)
def test_missing_required_fields_are_binding_errors(fields: dict[str, Any]) -> None:
    with pytest.raises(OpenIMError) as caught:
        _check_send_binding(req(**fields), needs_recv_id=True)
    assert caught.value.code == ErrCode.ARGS and getattr(caught.value, "binding", False)


def caller_with(body: dict[str, Any]) -> Caller:
    return Caller("op", None, True, None, json_body=body)  # type: ignore[arg-type]


def test_content_must_be_an_object() -> None:
    assert _content_of(caller_with({"content": {"content": "x"}}), apistruct_pb2.SendMsgReq) == {"content": "x"}
    for body in ({}, {"content": None}, {"content": "text"}, {"content": [1]}):
        with pytest.raises(OpenIMError) as caught:
            _content_of(caller_with(body), apistruct_pb2.SendMsgReq)
        assert getattr(caught.value, "binding", False)
