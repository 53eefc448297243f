"""Schema facts that are easy to get wrong and expensive to discover late."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from google.protobuf.message import Message

from openim.wire.pb import (
    auth_pb2,
    conversation_pb2,
    group_pb2,
    jssdk_pb2,
    msg_pb2,
    relation_pb2,
    sdkws_pb2,
    user_pb2,
    wrapperspb_pb2,
)

PB_DIR = Path(__file__).resolve().parents[3] / "openim" / "wire" / "pb"


def _numbers(cls: type[Message]) -> dict[str, int]:
    return {f.name: f.number for f in cls.DESCRIPTOR.fields}


def test_generated_modules_use_package_absolute_imports() -> None:
    modules = sorted(PB_DIR.glob("*_pb2.py"))
    assert modules
    for path in modules:
        text = path.read_text()
        assert "import openim_dot" not in text
        for line in text.splitlines():
            if line.startswith(("import ", "from ")) and "_pb2" in line:
                assert line.startswith("from openim.wire.pb import "), f"{path.name}: {line}"
        importlib.import_module(f"openim.wire.pb.{path.stem}")


@pytest.mark.parametrize(
    ("cls", "package"),
    [
        (sdkws_pb2.MsgData, "openim.sdkws"),
        (msg_pb2.SendMsgResp, "openim.msg"),
        (conversation_pb2.Conversation, "openim.conversation"),
        (jssdk_pb2.ConversationMsg, "openim.jssdk"),
        (relation_pb2.FriendInfoOnly, "openim.relation"),
        (auth_pb2.getAdminTokenReq, "openim.auth"),
        (user_pb2.getDesignateUsersResp, "openim.user"),
        (wrapperspb_pb2.StringValue, "openim.protobuf"),
        (group_pb2.CreateGroupReq, "openim.group"),
        (relation_pb2.getPaginationFriendsApplyToResp, "openim.relation"),
    ],
)
def test_package_names(cls: type[Message], package: str) -> None:
    assert cls.DESCRIPTOR.full_name == f"{package}.{cls.DESCRIPTOR.name}"


def test_field_numbers_with_gaps_or_odd_names() -> None:
    assert _numbers(msg_pb2.ConversationSeqs) == {"conversationID": 2, "seqs": 3}
    assert _numbers(msg_pb2.DeleteSyncOpt) == {"IsSyncSelf": 3, "IsSyncOther": 4}
    assert _numbers(sdkws_pb2.RevokeMsgTips)["sesstionType"] == 5
    assert _numbers(sdkws_pb2.PullMsgs) == {"Msgs": 1, "isEnd": 2, "endSeq": 3}
    assert _numbers(sdkws_pb2.MessageRevokedContent)["sessionType"] == 10
    assert _numbers(sdkws_pb2.MemberEnterTips)["groupMemberVersion"] == 5
    assert _numbers(sdkws_pb2.GroupApplicationAcceptedTips)["handleMsg"] == 4
    assert _numbers(auth_pb2.getAdminTokenReq) == {"secret": 1, "userID": 3}
    assert _numbers(auth_pb2.getAdminTokenResp) == {"token": 2, "expireTimeSeconds": 3}
    assert _numbers(auth_pb2.parseTokenResp) == {"userID": 1, "platformID": 2, "expireTimeSeconds": 4}
    assert _numbers(conversation_pb2.GetConversationsResp) == {"conversations": 2}
    assert _numbers(user_pb2.setGlobalRecvMessageOptReq) == {"userID": 1, "globalRecvMsgOpt": 3}
    assert _numbers(sdkws_pb2.UserInfoWithEx)["globalRecvMsgOpt"] == 7
    assert [f.number for f in sdkws_pb2.MsgData.DESCRIPTOR.fields] == [*range(1, 13), *range(14, 24)]
    assert list(_numbers(jssdk_pb2.ConversationMsg).values()) == [1, 2, 3, 4, 5, 6, 7]


def test_packed_repeated_scalars() -> None:
    # The JS encoders write packed int64/int32 lists; proto3 parses both forms but writes packed.
    data = sdkws_pb2.SubUserOnlineStatusElem(userID="u", onlinePlatformIDs=[1, 5]).SerializeToString()
    assert data == b"\x0a\x01u\x12\x02\x01\x05"
