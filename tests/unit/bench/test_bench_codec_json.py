"""The JS-SDK load codec against the server's own encoders: what the byte scan says equals a full decode.

Replies and pushes here are built by the code the gateway sends with (``encode_response``,
``PushJob.frame`` over the stored bytes with the seq appended), sends are read back by the code the
gateway reads with (``decode_request``, ``sdkws_pb2.MsgData``), so the bench's shortcuts are pinned to
the real wire format.
"""

from __future__ import annotations

import time

import pytest

from openim.bench.codec import ACK, ECHO, IGNORE, MSG, MSGS, OTHER, CodecSetup
from openim.bench.codec_json import JsonEnvelopeCodec, parse_client_msg_id
from openim.bench.sdks import new_codec
from openim.bench.stats import make_key
from openim.pipeline.jobs import PushJob
from openim.wire.envelope import HANDSHAKE_OK_TEXT, PONG_TEXT, decode_request, encode_response, handshake_error_text
from openim.wire.errors import ErrCode
from openim.wire.msgdata import with_seq
from openim.wire.pb import msg_pb2, sdkws_pb2

USERS = tuple(f"benchab12cd34_{i}" for i in range(10))
GROUP = "g-0123456789"


def codec(workload: str = "direct") -> JsonEnvelopeCodec:
    c = new_codec("js", CodecSetup(workload, USERS, GROUP if workload == "group" else "", content_size=40))
    assert isinstance(c, JsonEnvelopeCodec)
    return c


def sent(c: JsonEnvelopeCodec, index: int, seq: int, peer: int) -> tuple[bytes, sdkws_pb2.MsgData, str, int]:
    now = time.monotonic_ns()
    payload = c.build_send(c.sender(index, USERS[index]), seq, peer, now)
    req = decode_request(payload)
    return payload, sdkws_pb2.MsgData.FromString(req.data), req.operation_id, now


def as_stored(msg: sdkws_pb2.MsgData, seq: int = 7) -> bytes:
    """The MsgData the server pushes: the sent one plus serverMsgID and sendTime as stored, with the seq
    appended after the commit (openim.wire.msgdata.with_seq), byte for byte as the push stage sends it."""
    out = sdkws_pb2.MsgData()
    out.CopyFrom(msg)
    out.serverMsgID, out.seq, out.sendTime = "f" * 32, 0, 1_765_000_000_000
    return with_seq(out.SerializeToString(), seq)


def push_frame(conversation_id: str, msg_bytes: bytes, operation_id: str) -> bytes:
    """The 2001 frame the push stage writes for one stored message (and the sender's echo)."""
    return PushJob(conversation_id, msg_bytes, operation_id).frame


def conversation(a: str, b: str) -> str:
    return "si_" + "_".join(sorted((a, b)))


def test_send_decodes_as_the_js_sdk_would_send_it() -> None:
    c = codec()
    payload, msg, op, now = sent(c, 3, 41, 5)
    req = decode_request(payload)
    key = make_key(3, 41)
    assert (req.req_identifier, req.msg_incr, req.send_id, op) == (1003, "41", USERS[3], f"b{key:016x}")
    assert (msg.sendID, msg.recvID, msg.groupID, msg.sessionType) == (USERS[3], USERS[5], "", 1)
    assert (msg.msgFrom, msg.contentType, msg.senderPlatformID) == (100, 101, 5)
    assert msg.content == ('{"content":"' + "x" * 40 + '"}').encode()
    assert parse_client_msg_id(msg.clientMsgID) == (key, now)
    assert abs(msg.createTime - time.time_ns() // 1_000_000) < 5_000
    assert msg.SerializeToString() == req.data  # the hand-built bytes are what protobuf itself writes
    assert c.verify_send(payload, c.sender(3, USERS[3]), 41, 5, now) is None


def test_group_send_names_the_group() -> None:
    c = codec("group")
    payload, msg, _, now = sent(c, 2, 1, 0)
    assert (msg.recvID, msg.groupID, msg.sessionType) == ("", GROUP, 3)
    assert c.verify_send(payload, c.sender(2, USERS[2]), 1, 0, now) is None


def test_verify_send_finds_a_wrong_field() -> None:
    c = codec()
    payload, _, _, now = sent(c, 1, 2, 4)
    problem = c.verify_send(payload, c.sender(1, USERS[1]), 2, 6, now)  # we claim another peer
    assert problem is not None and "recvID" in problem
    tampered = payload.replace(b'"msgIncr":"2"', b'"msgIncr":"3"')
    assert "msgIncr" in (c.verify_send(tampered, c.sender(1, USERS[1]), 2, 4, now) or "")


def test_reply_is_recognised_by_scan() -> None:
    c = codec()
    _, msg, op, _ = sent(c, 1, 9, 2)
    resp = msg_pb2.SendMsgResp(serverMsgID="s", clientMsgID=msg.clientMsgID, sendTime=1).SerializeToString()
    frame = encode_response(1003, "9", op, 0, "", resp)
    me = c.receiver(1, USERS[1])
    assert c.scan(2, frame, me) == c.decode_full(2, frame, me) == (ACK, 9, 0, "")
    assert c.verify(2, frame, me, (ACK, 9, 0, "")) is None


def test_reply_naming_another_message_fails_the_cross_check() -> None:
    c = codec()
    _, other, op, _ = sent(c, 1, 8, 2)
    resp = msg_pb2.SendMsgResp(serverMsgID="s", clientMsgID=other.clientMsgID, sendTime=1).SerializeToString()
    frame = encode_response(1003, "9", op, 0, "", resp)  # msgIncr 9 answered with message 8's id
    me = c.receiver(1, USERS[1])
    problem = c.verify(2, frame, me, c.scan(2, frame, me))
    assert problem is not None and "names clientMsgID" in problem


def test_refusal_carries_its_code() -> None:
    c = codec()
    frame = encode_response(1003, "4", "b00", int(ErrCode.BLOCKED_BY_PEER), ErrCode.BLOCKED_BY_PEER.err_msg)
    me = c.receiver(0, USERS[0])
    assert c.scan(2, frame, me) == (ACK, 4, int(ErrCode.BLOCKED_BY_PEER), ErrCode.BLOCKED_BY_PEER.err_msg)


def test_echo_delivery_and_misaddressed_push() -> None:
    c = codec()
    _, msg, op, now = sent(c, 1, 3, 2)
    frame = push_frame(conversation(USERS[1], USERS[2]), as_stored(msg), op)
    key = make_key(1, 3)
    sender, recipient, bystander = (c.receiver(i, USERS[i]) for i in (1, 2, 3))
    cases = [(sender, (ECHO, key)), (recipient, (MSG, key, now, True)), (bystander, (MSG, key, now, False))]
    for who, want in cases:
        assert c.scan(2, frame, who) == want
        assert c.decode_full(2, frame, who) == want
        assert c.verify(2, frame, who, want) is None


def test_group_delivery() -> None:
    c = codec("group")
    _, msg, op, now = sent(c, 0, 1, 0)
    frame = push_frame("sg_" + GROUP, as_stored(msg), op)
    member = c.receiver(4, USERS[4])
    assert c.scan(2, frame, member) == c.decode_full(2, frame, member) == (MSG, make_key(0, 1), now, True)


def test_a_push_of_several_messages_is_decoded_in_full() -> None:
    c = codec()
    _, m1, op, n1 = sent(c, 1, 1, 2)
    _, m2, _, n2 = sent(c, 3, 1, 2)
    foreign = sdkws_pb2.MsgData(sendID="someone", recvID=USERS[2], clientMsgID="not-ours", seq=9)
    push = sdkws_pb2.PushMessages()
    pulled = push.msgs[conversation(USERS[1], USERS[2])].Msgs
    for m in (m1, m2, foreign):
        pulled.add().MergeFromString(m.SerializeToString())
    frame = encode_response(2001, "", op, 0, "", push.SerializeToString())
    recipient = c.receiver(2, USERS[2])
    want = (MSGS, ((make_key(1, 1), n1, True), (make_key(3, 1), n2, True)), 1)
    assert c.scan(2, frame, recipient) == want
    assert c.verify(2, frame, recipient, want) is None


def test_one_bench_message_beside_another_is_not_taken_for_a_single_one() -> None:
    c = codec()
    _, m1, _, n1 = sent(c, 1, 1, 2)
    push = sdkws_pb2.PushMessages()
    pulled = push.msgs[conversation(USERS[1], USERS[2])].Msgs
    pulled.add().MergeFromString(m1.SerializeToString())
    pulled.add().MergeFromString(sdkws_pb2.MsgData(sendID="x", clientMsgID="other").SerializeToString())
    frame = encode_response(2001, "", "op-from-elsewhere", 0, "", push.SerializeToString())
    recipient = c.receiver(2, USERS[2])
    assert c.scan(2, frame, recipient) == (MSGS, ((make_key(1, 1), n1, True),), 1)


def test_notifications_pongs_and_other_frames() -> None:
    c = codec()
    me = c.receiver(0, USERS[0])
    push = sdkws_pb2.PushMessages()
    push.notificationMsgs["n_x"].Msgs.add(clientMsgID="n1")
    note = encode_response(2001, "", "op", 0, "", push.SerializeToString())
    assert c.scan(2, note, me) == (OTHER,)
    assert c.scan(1, PONG_TEXT.encode(), me) == (IGNORE,)
    assert c.scan(2, encode_response(1001, "1", "op", 0, "", b""), me) == (OTHER,)
    assert c.scan(2, b"not json", me) == (OTHER,)


def test_a_push_with_bad_base64_is_other() -> None:
    c = codec()
    me = c.receiver(0, USERS[0])
    broken = b'{"reqIdentifier":2001,"msgIncr":"","operationID":"x","errCode":0,"errMsg":"","data":"abc"}'
    assert c.scan(2, broken, me) == (OTHER,)  # bad base64: the full decode says what it is


def test_a_wrong_scan_is_reported() -> None:
    c = codec()
    _, msg, op, now = sent(c, 1, 3, 2)
    frame = push_frame(conversation(USERS[1], USERS[2]), as_stored(msg), op)
    recipient = c.receiver(2, USERS[2])
    problem = c.verify(2, frame, recipient, (MSG, make_key(1, 3), now + 1, True))
    assert problem is not None and "!= full decode" in problem


@pytest.mark.parametrize(
    ("opcode", "payload", "ok"),
    [
        (1, HANDSHAKE_OK_TEXT.encode(), True),
        (1, b'{"errCode": 0, "errMsg": ""}', True),
        (1, handshake_error_text(ErrCode.TOKEN_EXPIRED, "expired").encode(), False),
        (2, HANDSHAKE_OK_TEXT.encode(), False),
    ],
)
def test_handshake_result(opcode: int, payload: bytes, ok: bool) -> None:
    result = codec().handshake_result(opcode, payload)
    assert (result is None) == ok


def test_login_target_is_the_js_sdk_one() -> None:
    assert codec().login_target("u1", "tok", "op1") == (
        "/?sendID=u1&token=tok&platformID=5&operationID=op1&isBackground=false&isMsgResp=true&sdkType=js"
    )
    with pytest.raises(ValueError, match="unknown sdk"):
        new_codec("nope", CodecSetup("direct", USERS))
