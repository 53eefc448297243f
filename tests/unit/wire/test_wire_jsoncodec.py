"""Go-style JSON codec: the shapes the JS SDK and admin tools rely on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openim.wire import pb_backend
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.jsoncodec import message_from_json, message_to_json, notification_content, send_msg_from_json
from openim.wire.pb import (
    apistruct_pb2,
    auth_pb2,
    conversation_pb2,
    group_pb2,
    msg_pb2,
    relation_pb2,
    sdkws_pb2,
    user_pb2,
)


def _args_error(obj: Any, cls: type[Any]) -> str:
    with pytest.raises(OpenIMError) as info:
        message_from_json(obj, cls)
    assert info.value.code == ErrCode.ARGS
    return info.value.detail


# ---------------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------------


def test_every_field_is_present_with_zero_values() -> None:
    assert message_to_json(sdkws_pb2.MsgData()) == {
        "sendID": "",
        "recvID": "",
        "groupID": "",
        "clientMsgID": "",
        "serverMsgID": "",
        "senderPlatformID": 0,
        "senderNickname": "",
        "senderFaceURL": "",
        "sessionType": 0,
        "msgFrom": 0,
        "contentType": 0,
        "content": "",
        "seq": 0,
        "sendTime": 0,
        "createTime": 0,
        "status": 0,
        "isRead": False,
        "options": {},
        "offlinePushInfo": None,
        "atUserIDList": [],
        "attachedInfo": "",
        "ex": "",
    }


def test_key_order_follows_the_proto() -> None:
    out = message_to_json(sdkws_pb2.UserInfo(userID="u1"))
    assert list(out) == [
        "userID",
        "nickname",
        "faceURL",
        "ex",
        "createTime",
        "appMangerLevel",
        "globalRecvMsgOpt",
    ]


def test_values_bytes_maps_nested_and_odd_names() -> None:
    msg = sdkws_pb2.MsgData(
        sendID="u1",
        content=b'{"content":"hi"}',
        seq=2**62,
        options={"history": False},
        offlinePushInfo=sdkws_pb2.OfflinePushInfo(title="t"),
        atUserIDList=["a", "b"],
    )
    out = message_to_json(msg)
    assert out["content"] == "eyJjb250ZW50IjoiaGkifQ=="
    assert out["seq"] == 2**62 and type(out["seq"]) is int
    assert out["options"] == {"history": False}
    assert out["offlinePushInfo"] == {
        "title": "t",
        "desc": "",
        "ex": "",
        "iOSPushSound": "",
        "iOSBadgeCount": False,
        "signalInfo": "",
    }
    assert out["atUserIDList"] == ["a", "b"]

    pulled = sdkws_pb2.PullMessageBySeqsResp()
    pulled.msgs["si_a_b"].Msgs.add(seq=1)
    pulled.msgs["si_a_b"].isEnd = True
    out = message_to_json(pulled)
    assert out["notificationMsgs"] == {}
    assert out["msgs"]["si_a_b"]["isEnd"] is True
    assert out["msgs"]["si_a_b"]["Msgs"][0]["seq"] == 1  # capital M is the real key
    assert message_to_json(msg_pb2.DeleteSyncOpt(IsSyncOther=True)) == {
        "IsSyncSelf": False,
        "IsSyncOther": True,
    }
    assert "sesstionType" in message_to_json(sdkws_pb2.RevokeMsgTips(sesstionType=3))


def test_enums_are_numbers_and_big_uint64_is_exact() -> None:
    assert message_to_json(sdkws_pb2.PullMessageBySeqsReq(order=sdkws_pb2.PullOrderDesc))["order"] == 1
    big = 2**64 - 1
    out = message_to_json(conversation_pb2.GetFullOwnerConversationIDsReq(idHash=big))
    assert out["idHash"] == big
    assert json.dumps(out["idHash"]) == "18446744073709551615"


def test_wrappers_are_bare_values_or_null() -> None:
    req = conversation_pb2.ConversationReq(conversationID="si_a_b")
    req.isPinned.value = False  # set, to false
    req.SetInParent()
    req.isPinned.SetInParent()
    req.ex.value = "x"
    out = message_to_json(req)
    assert out["isPinned"] is False
    assert out["ex"] == "x"
    assert out["recvMsgOpt"] is None
    assert out["minSeq"] is None


def test_message_list_and_map_of_messages() -> None:
    resp = conversation_pb2.GetIncrementalConversationResp(version=3, versionID="v", full=False)
    resp.insert.add(conversationID="si_a_b", isPinned=True)
    out = message_to_json(resp)
    assert out["delete"] == [] and out["update"] == []
    assert out["insert"][0]["conversationID"] == "si_a_b" and out["insert"][0]["isPinned"] is True
    seqs = msg_pb2.GetConversationsHasReadAndMaxSeqResp()
    seqs.seqs["si_a_b"].maxSeq = 5
    assert message_to_json(seqs) == {
        "seqs": {"si_a_b": {"maxSeq": 5, "hasReadSeq": 0, "maxSeqTime": 0}},
        "pinnedConversationIDs": [],
    }


def test_json_output_is_serialisable() -> None:
    tips = sdkws_pb2.MemberKickedTips(group=sdkws_pb2.GroupInfo(groupID="g"), operationTime=1)
    json.dumps(message_to_json(tips))


# ---------------------------------------------------------------------------------------------
# notification content
# ---------------------------------------------------------------------------------------------


def test_notification_content_is_detail_wrapping_a_json_string() -> None:
    tips = sdkws_pb2.MarkAsReadTips(markAsReadUserID="u1", conversationID="si_u1_u2", hasReadSeq=3)
    content = notification_content(tips)
    assert content == (
        b'{"detail":"{\\"markAsReadUserID\\":\\"u1\\",\\"conversationID\\":\\"si_u1_u2\\",'
        b'\\"seqs\\":[],\\"hasReadSeq\\":3}"}'
    )
    inner = json.loads(json.loads(content)["detail"])
    assert inner == {"markAsReadUserID": "u1", "conversationID": "si_u1_u2", "seqs": [], "hasReadSeq": 3}


def test_notification_content_keeps_unicode_and_nulls() -> None:
    tips = sdkws_pb2.MemberQuitTips(group=sdkws_pb2.GroupInfo(groupName="群聊 🙂"))
    content = notification_content(tips)
    assert "群聊 🙂".encode() in content
    inner = json.loads(json.loads(content)["detail"])
    assert inner["group"]["groupName"] == "群聊 🙂"
    assert inner["quitUser"] is None
    assert inner["groupMemberVersion"] == 0
    assert list(inner) == ["group", "quitUser", "operationTime", "groupMemberVersion", "groupMemberVersionID"]


# ---------------------------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------------------------


def test_basic_decode() -> None:
    req = message_from_json(
        {
            "userID": "u1",
            "seqRanges": [{"conversationID": "si_a_b", "begin": 1, "end": 3, "num": 10}],
            "order": 1,
        },
        sdkws_pb2.PullMessageBySeqsReq,
    )
    assert req.userID == "u1"
    assert req.order == sdkws_pb2.PullOrderDesc
    r = req.seqRanges[0]
    assert (r.conversationID, r.begin, r.end, r.num) == ("si_a_b", 1, 3, 10)


def test_keys_match_case_insensitively() -> None:
    req = message_from_json({"USERID": "u1", "ConversationIds": ["a"], "returnpinned": True},
                            msg_pb2.GetConversationsHasReadAndMaxSeqReq)  # fmt: skip
    assert (req.userID, list(req.conversationIDs), req.returnPinned) == ("u1", ["a"], True)
    opt = message_from_json({"isSyncSelf": True, "ISSYNCOTHER": True}, msg_pb2.DeleteSyncOpt)
    assert opt.IsSyncSelf and opt.IsSyncOther


def test_unknown_keys_are_ignored_and_null_means_unset() -> None:
    req = message_from_json(
        {"userID": None, "nope": {"deep": [1]}, "deleteSyncOpt": None, "seqs": None, "conversationID": "c"},
        msg_pb2.DeleteMsgsReq,
    )
    assert req.userID == "" and req.conversationID == "c"
    assert not req.HasField("deleteSyncOpt")
    assert list(req.seqs) == []


def test_empty_object_sets_a_submessage() -> None:
    req = message_from_json({"deleteSyncOpt": {}}, msg_pb2.DeleteMsgsReq)
    assert req.HasField("deleteSyncOpt")
    assert message_to_json(req)["deleteSyncOpt"] == {"IsSyncSelf": False, "IsSyncOther": False}


@pytest.mark.parametrize(
    ("obj", "cls", "detail"),
    [
        ([], msg_pb2.DeleteMsgsReq, "body: expected object, got array"),
        ("x", msg_pb2.DeleteMsgsReq, "body: expected object, got string"),
        ({"userID": 5}, msg_pb2.DeleteMsgsReq, "userID: expected string, got number"),
        ({"seqs": "1,2"}, msg_pb2.DeleteMsgsReq, "seqs: expected array, got string"),
        ({"seqs": [1, "2"]}, msg_pb2.DeleteMsgsReq, "seqs[1]: expected int64, got string"),
        ({"seqs": [1.5]}, msg_pb2.DeleteMsgsReq, "seqs[0]: expected int64, got number"),
        ({"seqs": [True]}, msg_pb2.DeleteMsgsReq, "seqs[0]: expected int64, got boolean"),
        ({"deleteSyncOpt": {"IsSyncSelf": 1}}, msg_pb2.DeleteMsgsReq,
         "deleteSyncOpt.IsSyncSelf: expected boolean, got number"),
        ({"deleteSyncOpt": []}, msg_pb2.DeleteMsgsReq, "deleteSyncOpt: expected object, got array"),
        ({"seqRanges": [{"begin": "1"}]}, sdkws_pb2.PullMessageBySeqsReq,
         "seqRanges[0].begin: expected int64, got string"),
        ({"seqRanges": [5]}, sdkws_pb2.PullMessageBySeqsReq, "seqRanges[0]: expected object, got number"),
        ({"platformID": 2**31}, auth_pb2.forceLogoutReq, "platformID: 2147483648 out of range for int32"),
        ({"idHash": -1}, conversation_pb2.GetFullOwnerConversationIDsReq,
         "idHash: -1 out of range for uint64"),
        ({"idHash": 2**64}, conversation_pb2.GetFullOwnerConversationIDsReq,
         "idHash: 18446744073709551616 out of range for uint64"),
        ({"content": "!!!"}, sdkws_pb2.MsgData, "content: invalid base64"),
        ({"content": 1}, sdkws_pb2.MsgData, "content: expected base64 string, got number"),
        ({"options": {"history": "no"}}, sdkws_pb2.MsgData, "options.history: expected boolean, got string"),
        ({"options": []}, sdkws_pb2.MsgData, "options: expected object, got array"),
        ({"order": "desc"}, sdkws_pb2.PullMessageBySeqsReq, "order: expected enum number, got string"),
        ({"users": [{"userID": "u", "createTime": "1"}]}, user_pb2.userRegisterReq,
         "users[0].createTime: expected int64, got string"),
    ],
)  # fmt: skip
def test_type_errors_name_the_field(obj: Any, cls: type[Any], detail: str) -> None:
    assert _args_error(obj, cls) == detail


def test_integral_floats_are_accepted() -> None:
    req = message_from_json({"seqs": [1.0, 2e0], "conversationID": "c"}, msg_pb2.DeleteMsgsReq)
    assert list(req.seqs) == [1, 2]


def test_big_uint64_is_exact() -> None:
    big = 2**64 - 1
    req = message_from_json(
        json.loads('{"idHash": 18446744073709551615}'), conversation_pb2.GetFullOwnerConversationIDsReq
    )
    assert req.idHash == big
    assert (
        message_from_json({"idHash": 2**53 + 1}, conversation_pb2.GetFullOwnerConversationIDsReq).idHash
        == 2**53 + 1
    )


def test_bytes_accept_standard_base64_with_or_without_padding() -> None:
    assert message_from_json({"content": "eyJ4IjoxfQ=="}, sdkws_pb2.MsgData).content == b'{"x":1}'
    assert message_from_json({"content": "eyJ4IjoxfQ"}, sdkws_pb2.MsgData).content == b'{"x":1}'
    assert _args_error({"content": "eyJ4Ijo-_Q=="}, sdkws_pb2.MsgData) == "content: invalid base64"


def test_wrappers_take_bare_values() -> None:
    req = message_from_json(
        {"userIDs": ["u1"], "conversation": {"conversationID": "si_a_b", "isPinned": False, "recvMsgOpt": 2,
                                             "ex": "", "minSeq": None, "msgDestructTime": 9007199254740993}},
        conversation_pb2.SetConversationsReq,
    )  # fmt: skip
    conv = req.conversation
    assert conv.HasField("isPinned") and conv.isPinned.value is False  # false is "set", not "unchanged"
    assert conv.HasField("recvMsgOpt") and conv.recvMsgOpt.value == 2
    assert conv.HasField("ex") and conv.ex.value == ""
    assert not conv.HasField("minSeq")
    assert not conv.HasField("burnDuration")
    assert conv.msgDestructTime.value == 9007199254740993
    out = message_to_json(conv)
    assert (out["isPinned"], out["recvMsgOpt"], out["ex"], out["minSeq"]) == (False, 2, "", None)


def test_wrapper_objects_are_rejected() -> None:
    detail = _args_error(
        {"userInfo": {"userID": "u", "nickname": {"value": "x"}}}, user_pb2.updateUserInfoExReq
    )
    assert detail == "userInfo.nickname: expected a bare value, got object"
    detail = _args_error({"userInfo": {"globalRecvMsgOpt": "1"}}, user_pb2.updateUserInfoExReq)
    assert detail == "userInfo.globalRecvMsgOpt: expected int32, got string"


def test_user_info_ex_decode() -> None:
    req = message_from_json({"userInfo": {"userID": "u", "nickname": "N", "globalRecvMsgOpt": 0}},
                            user_pb2.updateUserInfoExReq)  # fmt: skip
    info = req.userInfo
    assert info.nickname.value == "N" and info.HasField("globalRecvMsgOpt")
    assert not info.HasField("faceURL")


def test_map_of_messages_and_null_values() -> None:
    resp = message_from_json(
        {"seqs": {"si_a_b": {"maxSeq": 5}, "sg_g": None}, "pinnedConversationIDs": ["x"]},
        msg_pb2.GetConversationsHasReadAndMaxSeqResp,
    )
    assert resp.seqs["si_a_b"].maxSeq == 5
    assert "sg_g" in resp.seqs and resp.seqs["sg_g"].maxSeq == 0
    err = _args_error({"seqs": {"si_a_b": {"maxSeq": "5"}}}, msg_pb2.GetConversationsHasReadAndMaxSeqResp)
    assert err == "seqs.si_a_b.maxSeq: expected int64, got string"


def test_round_trip_of_a_populated_message() -> None:
    msg = sdkws_pb2.MsgData(
        sendID="u1",
        recvID="u2",
        content="héllo 🙂".encode(),
        seq=7,
        sendTime=1700000000123,
        options={"history": False, "senderSync": True},
        offlinePushInfo=sdkws_pb2.OfflinePushInfo(title="t", iOSBadgeCount=True),
        atUserIDList=["AtAllTag"],
        isRead=True,
    )
    assert message_from_json(json.loads(json.dumps(message_to_json(msg))), sdkws_pb2.MsgData) == msg
    friend = relation_pb2.FriendInfoOnly(ownerUserID="a", friendUserID="b", createTime=1, isPinned=True)
    assert message_from_json(message_to_json(friend), relation_pb2.FriendInfoOnly) == friend


# ---------------------------------------------------------------------------------------------
# /msg/send_msg
# ---------------------------------------------------------------------------------------------


def test_send_msg_returns_fields_and_content_object() -> None:
    body = {
        "sendID": "imAdmin",
        "recvID": "u1",
        "content": {"content": "hi", "n": [1, {"x": None}]},
        "contentType": 101,
        "sessionType": 1,
        "isOnlineOnly": True,
        "offlinePushInfo": {"title": "T"},
        "unexpected": 1,
    }
    req, content = send_msg_from_json(body, apistruct_pb2.SendMsgReq)
    assert (req.sendID, req.recvID, req.contentType, req.sessionType, req.isOnlineOnly) == (
        "imAdmin", "u1", 101, 1, True
    )  # fmt: skip
    assert req.offlinePushInfo.title == "T"
    assert content == {"content": "hi", "n": [1, {"x": None}]}
    _, content = send_msg_from_json({"Content": {"a": 1}}, apistruct_pb2.SendMsgReq)
    assert content == {"a": 1}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"sendID": "a"}, "content: required"),
        ({"content": None}, "content: required"),
        ({"content": "hi"}, "content: expected object, got string"),
        ({"content": {}, "sessionType": "1"}, "sessionType: expected int32, got string"),
    ],
)
def test_send_msg_errors(body: dict[str, Any], detail: str) -> None:
    with pytest.raises(OpenIMError) as info:
        send_msg_from_json(body, apistruct_pb2.SendMsgReq)
    assert info.value.code == ErrCode.ARGS and info.value.detail == detail


def test_protobuf_backend_is_upb() -> None:
    # The server warns at start when this is not upb; in our own environment it must be.
    assert pb_backend() == "upb"


# ---------------------------------------------------------------------------------------------
# friends and groups (next milestone)
# ---------------------------------------------------------------------------------------------


def test_friend_apply_list_uses_capital_key() -> None:
    resp = relation_pb2.getPaginationFriendsApplyToResp(total=1)
    resp.FriendRequests.add(fromUserID="a", toUserID="b", handleResult=-1)
    out = message_to_json(resp)
    assert list(out) == ["FriendRequests", "total"]
    assert out["FriendRequests"][0]["handleResult"] == -1
    sent = relation_pb2.getPaginationFriendsApplyFromResp()
    assert message_to_json(sent) == {"friendRequests": [], "total": 0}


def test_optional_bool_is_null_until_set() -> None:
    assert message_to_json(group_pb2.KickGroupMemberReq(groupID="g"))["sendMessage"] is None
    req = message_from_json({"groupID": "g", "sendMessage": False}, group_pb2.KickGroupMemberReq)
    assert req.HasField("sendMessage") and req.sendMessage is False
    assert message_to_json(req)["sendMessage"] is False
    assert not message_from_json({"groupID": "g"}, group_pb2.KickGroupMemberReq).HasField("sendMessage")


def test_group_member_batch_round_trip() -> None:
    body = {
        "userID": "u1",
        "reqList": [{"groupID": "g1", "version": 0, "versionID": ""}, {"groupID": "g2"}],
    }
    req = message_from_json(body, group_pb2.BatchGetIncrementalGroupMemberReq)
    assert [r.groupID for r in req.reqList] == ["g1", "g2"]
    resp = group_pb2.BatchGetIncrementalGroupMemberResp()
    entry = resp.respList["g1"]
    entry.version, entry.versionID, entry.full = 4, "66a0c1e2f3a4b5c6d7e8f901", True
    out = message_to_json(resp)
    assert out["respList"]["g1"]["group"] is None
    assert out["respList"]["g1"]["insert"] == [] and out["respList"]["g1"]["full"] is True
    assert message_from_json(out, group_pb2.BatchGetIncrementalGroupMemberResp) == resp


def test_set_group_member_info_wrappers() -> None:
    req = message_from_json(
        {"members": [{"groupID": "g", "userID": "u", "roleLevel": 60, "nickname": None}]},
        group_pb2.SetGroupMemberInfoReq,
    )
    m = req.members[0]
    assert m.roleLevel.value == 60 and not m.HasField("nickname")
