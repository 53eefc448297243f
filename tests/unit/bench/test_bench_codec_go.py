"""The Go-SDK load codec against the server's own gob + gzip codec.

Sends are read back by the decoder the gateway reads a Go client with (``GOB_GZIP.decode_request``);
replies are built by ``GOB_GZIP.encode_response`` and pushes by ``from_json_frame`` over the push
stage's own frame (``PushJob.frame``), which is how the gateway writes to a gob connection.
"""

from __future__ import annotations

import time

import pytest

from openim.bench.codec import ACK, ECHO, IGNORE, MSG, OTHER, CodecSetup
from openim.bench.codec_go import GoGobCodec
from openim.bench.codec_json import parse_client_msg_id
from openim.bench.sdks import SDKS, new_codec
from openim.bench.stats import make_key
from openim.gateway.handshake import parse_conn_args
from openim.pipeline.jobs import PushJob
from openim.wire.codec import GOB_GZIP, gunzip
from openim.wire.envelope import HANDSHAKE_OK_TEXT, PONG_TEXT, EnvelopeError, handshake_error_text
from openim.wire.errors import ErrCode
from openim.wire.msgdata import with_seq
from openim.wire.pb import msg_pb2, sdkws_pb2

USERS = tuple(f"benchab12cd34_{i}" for i in range(10))
GROUP = "g-0123456789"


def codec(workload: str = "direct") -> GoGobCodec:
    c = new_codec("go", CodecSetup(workload, USERS, GROUP if workload == "group" else "", content_size=40))
    assert isinstance(c, GoGobCodec)
    return c


def sent(c: GoGobCodec, index: int, seq: int, peer: int) -> tuple[bytes, sdkws_pb2.MsgData, str, int]:
    now = time.monotonic_ns()
    payload = c.build_send(c.sender(index, USERS[index]), seq, peer, now)
    req = GOB_GZIP.decode_request(payload)
    return payload, sdkws_pb2.MsgData.FromString(req.data), req.operation_id, now


def push_frame(conversation_id: str, msg: sdkws_pb2.MsgData, operation_id: str) -> bytes:
    """The gob + gzip 2001 frame the gateway writes to a Go client for one stored message."""
    stored = sdkws_pb2.MsgData()
    stored.CopyFrom(msg)
    stored.serverMsgID, stored.sendTime = "f" * 32, 1_765_000_000_000
    json_frame = PushJob(conversation_id, with_seq(stored.SerializeToString(), 7), operation_id).frame
    return GOB_GZIP.from_json_frame(json_frame)


def conversation(a: str, b: str) -> str:
    return "si_" + "_".join(sorted((a, b)))


def test_registered_and_the_gateway_picks_gob_gzip_for_its_login() -> None:
    assert "go" in SDKS
    c = codec()
    args = parse_conn_args(c.login_target(USERS[0], "tok", "op1"), {})
    assert args.codec is GOB_GZIP
    assert (args.user_id, args.platform_id, args.is_msg_resp) == (USERS[0], 5, True)


def test_send_is_what_the_gateway_reads_from_a_go_client() -> None:
    c = codec()
    payload, msg, op, now = sent(c, 3, 41, 5)
    gunzip(payload)  # one complete gzip member
    req = GOB_GZIP.decode_request(payload)
    key = make_key(3, 41)
    assert (req.req_identifier, req.msg_incr, req.send_id, op) == (1003, "41", USERS[3], f"b{key:016x}")
    assert (msg.sendID, msg.recvID, msg.groupID, msg.sessionType) == (USERS[3], USERS[5], "", 1)
    assert (msg.msgFrom, msg.contentType, msg.senderPlatformID) == (100, 101, 5)
    assert msg.content == ('{"content":"' + "x" * 40 + '"}').encode()
    assert parse_client_msg_id(msg.clientMsgID) == (key, now)
    assert c.verify_send(payload, c.sender(3, USERS[3]), 41, 5, now) is None
    problem = c.verify_send(payload, c.sender(3, USERS[3]), 41, 6, now)  # we claim another peer
    assert problem is not None and "recvID" in problem
    assert "does not decode" in (c.verify_send(payload[:-4], c.sender(3, USERS[3]), 41, 5, now) or "")


def test_group_send_names_the_group() -> None:
    c = codec("group")
    payload, msg, _, now = sent(c, 2, 1, 0)
    assert (msg.recvID, msg.groupID, msg.sessionType) == ("", GROUP, 3)
    assert c.verify_send(payload, c.sender(2, USERS[2]), 1, 0, now) is None


def test_reply_and_refusal() -> None:
    c = codec()
    _, msg, op, _ = sent(c, 1, 9, 2)
    resp = msg_pb2.SendMsgResp(serverMsgID="s", clientMsgID=msg.clientMsgID, sendTime=1).SerializeToString()
    frame = GOB_GZIP.encode_response(1003, "9", op, 0, "", resp)
    me = c.receiver(1, USERS[1])
    assert c.scan(2, frame, me) == (ACK, 9, 0, "")
    assert c.verify(2, frame, me, (ACK, 9, 0, "")) is None
    wrong = GOB_GZIP.encode_response(1003, "8", op, 0, "", resp)  # msgIncr 8 answered with message 9's id
    problem = c.verify(2, wrong, me, c.scan(2, wrong, me))
    assert problem is not None and "names clientMsgID" in problem
    refused = GOB_GZIP.encode_response(1003, "4", op, int(ErrCode.BLOCKED_BY_PEER), "blocked", None)
    assert c.scan(2, refused, me) == (ACK, 4, int(ErrCode.BLOCKED_BY_PEER), "blocked")


def test_echo_delivery_and_misaddressed_push() -> None:
    c = codec()
    _, msg, op, now = sent(c, 1, 3, 2)
    frame = push_frame(conversation(USERS[1], USERS[2]), msg, op)
    key = make_key(1, 3)
    sender, recipient, bystander = (c.receiver(i, USERS[i]) for i in (1, 2, 3))
    cases = [(sender, (ECHO, key)), (recipient, (MSG, key, now, True)), (bystander, (MSG, key, now, False))]
    for who, want in cases:
        assert c.scan(2, frame, who) == want
        assert c.verify(2, frame, who, want) is None
    assert "!= full decode" in (c.verify(2, frame, recipient, (MSG, key, now + 1, True)) or "")


def test_group_delivery() -> None:
    c = codec("group")
    _, msg, op, now = sent(c, 0, 1, 0)
    frame = push_frame("sg_" + GROUP, msg, op)
    assert c.scan(2, frame, c.receiver(4, USERS[4])) == (MSG, make_key(0, 1), now, True)


def test_pongs_json_frames_and_garbage() -> None:
    c = codec()
    me = c.receiver(0, USERS[0])
    assert c.scan(1, PONG_TEXT.encode(), me) == (IGNORE,)
    assert c.scan(2, b'{"reqIdentifier":1003}', me) == (OTHER,)  # not gzip
    assert c.scan(2, GOB_GZIP.encode_response(1001, "1", "op", 0, "", b""), me) == (OTHER,)
    with pytest.raises(EnvelopeError):
        GOB_GZIP.decode_response(b"\x1f\x8b garbage")
    assert c.scan(2, b"\x1f\x8b garbage", me) == (OTHER,)


def test_handshake_and_heartbeat_are_the_text_frames() -> None:
    c = codec()
    assert c.handshake_result(1, HANDSHAKE_OK_TEXT.encode()) is None
    assert c.handshake_result(1, handshake_error_text(ErrCode.TOKEN_EXPIRED, "expired").encode()) is not None
    assert c.heartbeat() == (1, b'{"type":"ping"}')
