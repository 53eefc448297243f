"""Conversation IDs, options and platform tables (OpenIM's)."""

from __future__ import annotations

import pytest

from openim.wire import constants as c
from openim.wire.pb import sdkws_pb2


def test_req_identifiers() -> None:
    assert [int(r) for r in c.ReqIdentifier] == [
        1001, 1002, 1003, 1004, 1005, 1006, 1007, 2001, 2002, 2003, 2004, 2005, 2100, 3001
    ]  # fmt: skip
    assert int(c.ReqIdentifier.PULL_MSG_BY_RANGE) == 1002
    assert int(c.ReqIdentifier.PULL_MSG_BY_SEQ_LIST) == 1005
    assert c.ReqIdentifier.PUSH_MSG not in c.CLIENT_REQUESTS
    assert c.ReqIdentifier.KICK_ONLINE_MSG not in c.CLIENT_REQUESTS
    assert c.ReqIdentifier.SUB_USER_ONLINE_STATUS in c.CLIENT_REQUESTS


@pytest.mark.parametrize(
    ("pid", "name", "klass"),
    [
        (1, "IOS", "Mobile"),
        (2, "Android", "Mobile"),
        (3, "Windows", "PC"),
        (4, "OSX", "PC"),
        (5, "Web", "Web"),
        (6, "MiniWeb", "MiniWeb"),
        (7, "Linux", "PC"),
        (8, "APad", "Pad"),
        (9, "IPad", "Pad"),
        (10, "Admin", "Admin"),
        (11, "HarmonyOS", "HarmonyOS"),
    ],
)
def test_platforms(pid: int, name: str, klass: str) -> None:
    assert c.is_valid_platform(pid)
    assert c.platform_name(pid) == name
    assert c.platform_class(pid) == klass
    assert c.platform_by_name(name) == pid


@pytest.mark.parametrize("pid", [0, 12, -1, 100])
def test_unknown_platforms(pid: int) -> None:
    assert not c.is_valid_platform(pid)
    with pytest.raises(ValueError):
        c.platform_name(pid)


def test_enums_hold_openim_numbers() -> None:
    assert (c.SessionType.SINGLE, c.SessionType.READ_GROUP, c.SessionType.NOTIFICATION) == (1, 3, 4)
    assert (c.MsgFrom.USER, c.MsgFrom.SYSTEM) == (100, 200)
    assert (c.MsgStatus.SUCCESS, c.MsgStatus.DELETED) == (2, 4)
    assert int(c.ContentType.TYPING) == 113
    assert int(c.ContentType.GROUP_INFO_SET_NAME) == 1520
    assert int(c.ContentType.MSG_REVOKE_NOTIFICATION) == 2101
    assert int(c.ContentType.HAS_READ_RECEIPT) == 2200
    assert c.is_notification_content(c.ContentType.MEMBER_KICKED)
    assert not c.is_notification_content(c.ContentType.TEXT)


def test_option_on_absent_means_true() -> None:
    assert c.option_on({}, c.Option.HISTORY) is True
    assert c.option_on({"history": True}, "history") is True
    assert c.option_on({"history": False}, c.Option.HISTORY) is False
    msg = sdkws_pb2.MsgData()
    assert c.option_on(msg.options, c.Option.SENDER_SYNC) is True
    msg.options["senderSync"] = False
    assert c.option_on(msg.options, c.Option.SENDER_SYNC) is False
    assert c.option_on(msg.options, c.Option.OFFLINE_PUSH) is True
    msg.options[c.Option.OFFLINE_PUSH.value] = False
    assert dict(msg.options) == {"senderSync": False, "offlinePush": False}
    assert len(c.ONLINE_ONLY_OFF) == 8


def test_single_ids_are_sorted() -> None:
    assert c.single_conversation_id("u2", "u1") == "si_u1_u2"
    assert c.single_conversation_id("u1", "u2") == "si_u1_u2"
    assert c.single_conversation_id("b", "B") == "si_B_b"  # byte order, upper case first
    assert c.single_conversation_id("a", "a") == "si_a_a"
    assert c.notification_chat_conversation_id("z", "y") == "sn_y_z"
    assert c.group_conversation_id("g1") == "sg_g1"
    assert c.self_notification_conversation_id("u1") == "n_u1_u1"


@pytest.mark.parametrize(
    ("conv", "twin"),
    [
        ("si_u1_u2", "n_u1_u2"),
        ("sg_g1", "n_g1"),
        ("g_g1", "n_g1"),
        ("sn_a_b", "n_a_b"),
        ("n_a_b", "n_a_b"),
        ("si_user_one_user_two", "n_user_one_user_two"),
        ("weird", "weird"),
    ],
)
def test_notification_twin(conv: str, twin: str) -> None:
    assert c.notification_conversation_id(conv) == twin


def _msg(session_type: int, **options: bool) -> sdkws_pb2.MsgData:
    return sdkws_pb2.MsgData(
        sendID="u2", recvID="u1", groupID="g1", sessionType=session_type, options=options
    )


@pytest.mark.parametrize(
    ("session_type", "chat", "notification"),
    [(1, "si_u1_u2", "n_u1_u2"), (2, "g_g1", "n_g1"), (3, "sg_g1", "n_g1"), (4, "sn_u1_u2", "n_u1_u2")],
)
def test_conversation_id_for_msg(session_type: int, chat: str, notification: str) -> None:
    assert c.conversation_id_for_msg(_msg(session_type)) == chat
    assert c.conversation_id_for_msg(_msg(session_type, isNotNotification=True)) == chat
    assert c.conversation_id_for_msg(_msg(session_type, isNotNotification=False)) == notification
    # Unrelated options do not move a message.
    assert c.conversation_id_for_msg(_msg(session_type, history=False)) == chat


def test_conversation_id_for_unknown_session_type_is_empty() -> None:
    assert c.conversation_id_for_msg(_msg(9)) == ""


@pytest.mark.parametrize(
    ("conv", "expected"),
    [
        ("si_a_b", c.SessionType.SINGLE),
        ("sg_g", c.SessionType.READ_GROUP),
        ("sn_a_b", c.SessionType.NOTIFICATION),
        ("g_g", c.SessionType.WRITE_GROUP),
        ("n_a_b", None),
        ("n_g", None),
        ("", None),
        ("xx_1", None),
    ],
)
def test_conversation_type_of(conv: str, expected: c.SessionType | None) -> None:
    assert c.conversation_type_of(conv) == expected
    assert c.is_notification_conversation(conv) == conv.startswith("n_")
