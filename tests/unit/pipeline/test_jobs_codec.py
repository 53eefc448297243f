"""The pipeline's items: the hand-built encodings equal protobuf's, and the cross-process codec keeps
everything a stage on the other side needs."""

from __future__ import annotations

import pytest

from openim.gateway.requests import send_msg_resp
from openim.internode.payloads import KIND_DELIVERIES, Delivery, decode_deliveries, encode_deliveries
from openim.pipeline import codec
from openim.pipeline.jobs import PushJob, SendJob, push_messages_bytes
from openim.wire.envelope import decode_response, encode_push
from openim.wire.msgdata import with_seq
from openim.wire.pb import msg_pb2, pipeline_pb2, sdkws_pb2


def stored_msg(**fields: object) -> sdkws_pb2.MsgData:
    msg = sdkws_pb2.MsgData(
        sendID="alice", recvID="bob", clientMsgID="c-1", serverMsgID="s" * 32, sendTime=1_733_000_000_123,
        sessionType=1, contentType=101, content=b'{"content":"' + b"x" * 300 + b'"}', status=2, seq=42,
    )
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


def job_for(msg: sdkws_pb2.MsgData, conversation_id: str = "si_alice_bob") -> SendJob:
    return SendJob(
        payload=msg.SerializeToString(), send_id=msg.sendID, recv_id=msg.recvID, group_id=msg.groupID,
        client_msg_id=msg.clientMsgID, server_msg_id=msg.serverMsgID, send_time=msg.sendTime,
        session_type=msg.sessionType, content_type=msg.contentType, conversation_id=conversation_id,
        conversation_type=msg.sessionType, owners=("alice", "bob"), reader_user_id="alice",
        recipients=("bob", "alice"), operation_id="op-1", origin_node="gw-1", origin_conn="17", request_id=99,
    )


# -- hand-built protobuf --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conversation_id", "field"),
    [("si_alice_bob", "msgs"), ("sg_g1", "msgs"), ("n_alice_bob", "notificationMsgs"), ("si_" + "u" * 200, "msgs")],
)
def test_push_messages_bytes_equal_protobufs_encoding(conversation_id: str, field: str) -> None:
    msg = stored_msg().SerializeToString()
    expected = sdkws_pb2.PushMessages()
    getattr(expected, field)[conversation_id].Msgs.add().ParseFromString(msg)
    assert push_messages_bytes(conversation_id, msg) == expected.SerializeToString()


def test_push_messages_bytes_of_appended_seq_bytes_decode_to_the_message() -> None:
    msg = stored_msg(seq=0)
    raw = with_seq(msg.SerializeToString(), 7)
    [pushed] = sdkws_pb2.PushMessages.FromString(push_messages_bytes("si_alice_bob", raw)).msgs["si_alice_bob"].Msgs
    msg.seq = 7
    assert pushed == msg


@pytest.mark.parametrize(
    ("server_msg_id", "client_msg_id", "send_time"),
    [("s" * 32, "c-1", 1_733_000_000_123), ("", "c", 0), ("s", "", 1), ("", "", 0), ("é", "日本" * 100, 2**62)],
)
def test_send_msg_resp_equals_protobufs_encoding(server_msg_id: str, client_msg_id: str, send_time: int) -> None:
    expected = msg_pb2.SendMsgResp(serverMsgID=server_msg_id, clientMsgID=client_msg_id, sendTime=send_time)
    assert send_msg_resp(server_msg_id, client_msg_id, send_time) == expected.SerializeToString()


def test_push_job_frame_is_the_2001_frame_built_once() -> None:
    raw = stored_msg().SerializeToString()
    job = PushJob("si_alice_bob", raw, "op-7", recipients=("bob",))
    frame = job.frame
    assert frame == encode_push(push_messages_bytes("si_alice_bob", raw), "op-7")
    assert job.frame is frame  # shared by every recipient connection and the echo
    resp = decode_response(frame)
    assert (resp.req_identifier, resp.msg_incr, resp.operation_id, resp.err_code) == (2001, "", "op-7", 0)
    assert PushJob("si_alice_bob", raw, "op-7", frame=b"given").frame == b"given"


# -- the cross-process codec -----------------------------------------------------------------------------


def test_send_job_round_trip_keeps_what_the_transfer_stage_needs() -> None:
    msg = stored_msg(seq=0, groupID="")
    job = job_for(msg)
    job.done = lambda _j: None  # never travels: the remote side answers through Replies
    back = codec.decode_send(codec.encode_send(job))
    for name in (
        "payload", "send_id", "recv_id", "group_id", "client_msg_id", "server_msg_id", "send_time", "session_type",
        "content_type", "conversation_id", "conversation_type", "owners", "reader_user_id", "recipients",
        "operation_id", "origin_node", "origin_conn", "request_id",
    ):
        assert getattr(back, name) == getattr(job, name), name
    assert back.done is None
    assert (back.seq, back.err_code, back.push, back.duplicate) == (0, 0, None, False)


def test_group_send_job_round_trip() -> None:
    msg = stored_msg(seq=0, recvID="", groupID="g1", sessionType=3)
    job = job_for(msg, "sg_g1")
    job.recipients = ()
    back = codec.decode_send(codec.encode_send(job))
    assert (back.group_id, back.session_type, back.recipients, back.conversation_id) == ("g1", 3, (), "sg_g1")


def test_send_item_carries_the_message_fields_so_the_transfer_stage_does_not_parse_the_message() -> None:
    job = job_for(stored_msg(seq=0))
    item = pipeline_pb2.TransferItem.FromString(codec.encode_send(job))
    assert (item.send_id, item.recv_id, item.client_msg_id, item.server_msg_id) == ("alice", "bob", "c-1", "s" * 32)
    assert (item.send_time, item.session_type, item.content_type) == (1_733_000_000_123, 1, 101)
    item.msg = b"\xff not a MsgData"  # decoding must not look inside
    back = codec.decode_send(item.SerializeToString())
    assert (back.send_id, back.client_msg_id, back.content_type) == ("alice", "c-1", 101)


def test_send_item_of_an_older_process_gets_its_fields_from_the_message() -> None:
    msg = stored_msg(seq=0, recvID="", groupID="g1", sessionType=3)
    old = pipeline_pb2.TransferItem(request_id=5, conversation_id="sg_g1", msg=msg.SerializeToString())
    back = codec.decode_send(old.SerializeToString())
    assert (back.send_id, back.group_id, back.client_msg_id, back.server_msg_id) == ("alice", "g1", "c-1", "s" * 32)
    assert (back.send_time, back.session_type, back.content_type, back.request_id) == (1_733_000_000_123, 3, 101, 5)


def test_deliveries_of_a_batch_travel_in_one_payload_in_order() -> None:
    sent = [Delivery(b"frame-1", ("u1", "u2"), "gw/7"), Delivery(b"\x00frame-2", ("u3",)), Delivery(b"", ())]
    payload = encode_deliveries(sent)
    assert payload[:1] == KIND_DELIVERIES
    assert decode_deliveries(payload[1:]) == sent


def test_push_job_round_trip() -> None:
    raw = stored_msg().SerializeToString()
    job = PushJob("si_alice_bob", raw, "op-1", exclude_conn="gw-1/17", recipients=("bob", "alice"))
    back = codec.decode_push(codec.encode_push(job))
    assert (back.conversation_id, back.msg, back.operation_id, back.exclude_conn, back.recipients, back.group_id) == (
        "si_alice_bob", raw, "op-1", "gw-1/17", ("bob", "alice"), "",
    )
    assert back.frame == job.frame


def test_a_group_push_without_recipients_gets_its_group_back_from_the_message() -> None:
    raw = stored_msg(recvID="", groupID="g1", sessionType=3).SerializeToString()
    back = codec.decode_push(codec.encode_push(PushJob("sg_g1", raw, "op", group_id="g1")))
    assert (back.recipients, back.group_id) == ((), "g1")  # the push stage resolves the members


def test_replies_carry_each_outcome() -> None:
    ok, dup, failed = (job_for(stored_msg(clientMsgID=f"c{i}")) for i in range(3))
    ok.request_id, ok.seq = 1, 5
    dup.request_id, dup.seq, dup.duplicate = 2, 3, True
    failed.request_id, failed.err_code, failed.err_detail = 3, 90002, "storage unavailable"
    replies = codec.decode_replies(codec.encode_replies([ok, dup, failed]))
    assert [
        (r.request_id, r.seq, r.server_msg_id, r.send_time, r.duplicate, r.err_code, r.err_detail) for r in replies
    ] == [
        (1, 5, ok.server_msg_id, ok.send_time, False, 0, ""),
        (2, 3, dup.server_msg_id, dup.send_time, True, 0, ""),
        (3, 0, failed.server_msg_id, failed.send_time, False, 90002, "storage unavailable"),
    ]
