"""Worked examples of the wire format, byte for byte (produced with the @openim/protocol encoders).

They were produced by the official JS protocol encoders, so matching them proves our envelopes and
protobuf schemas speak the SDK's dialect (field numbers, key order, base64 flavour).
"""

from __future__ import annotations

from openim.wire import envelope as env
from openim.wire.constants import ReqIdentifier
from openim.wire.pb import msg_pb2, sdkws_pb2

MSG_1003_B64 = "CgJ1MRICdTIiAmMxMAVIAVBkWGViEHsiY29udGVudCI6ImhpIn2AAYDQlf+8MYgBAQ=="


def _chat_message() -> sdkws_pb2.MsgData:
    return sdkws_pb2.MsgData(
        sendID="u1",
        recvID="u2",
        clientMsgID="c1",
        senderPlatformID=5,
        sessionType=1,
        msgFrom=100,
        contentType=101,
        content=b'{"content":"hi"}',
        createTime=1700000000000,
        status=1,
    )


def test_1006_request_decodes_and_reencodes_exactly() -> None:
    frame = b'{"reqIdentifier":1006,"msgIncr":"x1","sendID":"u1","operationID":"op1","data":"CgJ1MQ=="}'
    req = env.decode_request(frame)
    assert req == env.WsRequest(1006, "x1", "u1", "op1", b"\x0a\x02u1")
    parsed = msg_pb2.GetConversationsHasReadAndMaxSeqReq.FromString(req.data)
    assert parsed.userID == "u1"
    assert list(parsed.conversationIDs) == []
    assert env.encode_request(1006, "x1", "u1", "op1", parsed.SerializeToString()) == frame


def test_1006_reply_is_byte_exact() -> None:
    resp = msg_pb2.GetConversationsHasReadAndMaxSeqResp()
    seqs = resp.seqs["si_u1_u2"]
    seqs.maxSeq, seqs.hasReadSeq, seqs.maxSeqTime = 3, 2, 1700000000000
    frame = env.encode_response(
        ReqIdentifier.GET_CONV_MAX_READ_SEQ, "x1", "op1", data=resp.SerializeToString()
    )
    assert frame == (
        b'{"reqIdentifier":1006,"msgIncr":"x1","operationID":"op1","errCode":0,"errMsg":"",'
        b'"data":"ChcKCHNpX3UxX3UyEgsIAxACGIDQlf+8MQ=="}'
    )


def test_1003_request_payload_is_a_bare_msgdata() -> None:
    data = env.b64decode(MSG_1003_B64)
    msg = sdkws_pb2.MsgData.FromString(data)
    assert (msg.sendID, msg.recvID, msg.clientMsgID) == ("u1", "u2", "c1")
    assert (msg.senderPlatformID, msg.sessionType, msg.msgFrom, msg.contentType) == (5, 1, 100, 101)
    assert msg.content == b'{"content":"hi"}'
    assert (msg.createTime, msg.status, msg.seq, msg.sendTime) == (1700000000000, 1, 0, 0)
    assert env.b64encode(_chat_message().SerializeToString()) == MSG_1003_B64


def test_1003_reply_payload() -> None:
    ack = msg_pb2.SendMsgResp(serverMsgID="s1", clientMsgID="c1", sendTime=1700000000123)
    assert env.b64encode(ack.SerializeToString()) == "CgJzMRICYzEY+9CV/7wx"
    # The JS SDK decodes the same bytes as sdkws.UserSendMsgResp.
    js_view = sdkws_pb2.UserSendMsgResp.FromString(ack.SerializeToString())
    assert (js_view.serverMsgID, js_view.clientMsgID, js_view.sendTime) == ("s1", "c1", 1700000000123)


def test_2001_push_is_byte_exact() -> None:
    stored = _chat_message()
    stored.serverMsgID, stored.seq, stored.sendTime, stored.status = "s1", 1, 1700000000123, 2
    push = sdkws_pb2.PushMessages()
    push.msgs["si_u1_u2"].Msgs.append(stored)
    frame = env.encode_push(push.SerializeToString(), "op-of-the-1003")
    assert frame == (
        b'{"reqIdentifier":2001,"msgIncr":"","operationID":"op-of-the-1003","errCode":0,"errMsg":"",'
        b'"data":"CkwKCHNpX3UxX3UyEkAKPgoCdTESAnUyIgJjMSoCczEwBUgBUGRYZWIQeyJjb250ZW50IjoiaGkifXABePvQlf'
        b'+8MYABgNCV/7wxiAEC"}'
    )
    back = env.decode_response(frame)
    assert back.req_identifier == 2001 and back.msg_incr == "" and back.operation_id == "op-of-the-1003"
    assert back.data is not None
    assert sdkws_pb2.PushMessages.FromString(back.data).msgs["si_u1_u2"].Msgs[0].seq == 1


def test_1002_range_pull_request() -> None:
    data = env.b64decode("CgJ1MRIQCghzaV91MV91MhABGAMgCg==")
    req = sdkws_pb2.PullMessageBySeqsReq.FromString(data)
    assert req.userID == "u1"
    assert len(req.seqRanges) == 1
    r = req.seqRanges[0]
    assert (r.conversationID, r.begin, r.end, r.num) == ("si_u1_u2", 1, 3, 10)
    assert req.order == sdkws_pb2.PullOrderAsc
    assert req.SerializeToString() == data


def test_1005_seq_list_request_uses_fields_2_and_3_packed() -> None:
    data = env.b64decode("CgJ1MRIPEghzaV91MV91MhoDAwIB")
    req = msg_pb2.GetSeqMessageReq.FromString(data)
    assert req.userID == "u1"
    assert [(c.conversationID, list(c.seqs)) for c in req.conversations] == [("si_u1_u2", [3, 2, 1])]
    built = msg_pb2.GetSeqMessageReq(
        userID="u1", conversations=[msg_pb2.ConversationSeqs(conversationID="si_u1_u2", seqs=[3, 2, 1])]
    )
    assert built.SerializeToString() == data


def test_2005_subscribe_request() -> None:
    req = sdkws_pb2.SubUserOnlineStatus.FromString(env.b64decode("CgJ1Mg=="))
    assert list(req.subscribeUserID) == ["u2"]
    assert list(req.unsubscribeUserID) == []


def test_heartbeat_and_handshake_texts() -> None:
    assert env.parse_text_frame('{"type":"ping"}') == "ping"
    assert env.PONG_TEXT == '{"type":"pong","body":null}'
    assert env.HANDSHAKE_OK_TEXT == '{"errCode":0,"errMsg":"","errDlt":""}'


def test_kick_frame() -> None:
    assert env.KICK_FRAME == (
        b'{"reqIdentifier":2002,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":null}'
    )
