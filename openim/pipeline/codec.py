"""The pipeline's objects as protobuf, for the hops that cross a process boundary (Redis).

One message per item (openim/wire/proto/pipeline.proto); in one process none of this runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from openim.pipeline.jobs import PushJob, SendJob
from openim.wire.pb import pipeline_pb2, sdkws_pb2

__all__ = ["decode_push", "decode_replies", "decode_send", "encode_push", "encode_replies", "encode_send"]


def encode_send(job: SendJob) -> bytes:
    item = pipeline_pb2.TransferItem(
        request_id=job.request_id, origin_node=job.origin_node, origin_conn=job.origin_conn,
        operation_id=job.operation_id, conversation_id=job.conversation_id,
        conversation_type=job.conversation_type, msg=job.payload, owners=job.owners,
        reader_user_id=job.reader_user_id, recipients=job.recipients, send_id=job.send_id, recv_id=job.recv_id,
        group_id=job.group_id, client_msg_id=job.client_msg_id, server_msg_id=job.server_msg_id,
        send_time=job.send_time, session_type=job.session_type, content_type=job.content_type,
    )  # fmt: skip
    data: bytes = item.SerializeToString()
    return data


def decode_send(data: bytes) -> SendJob:
    item = pipeline_pb2.TransferItem.FromString(data)
    if item.client_msg_id:  # the MsgData fields travel beside it: no need to parse the message
        send_id, recv_id, group_id = item.send_id, item.recv_id, item.group_id
        client_msg_id, server_msg_id, send_time = item.client_msg_id, item.server_msg_id, item.send_time
        session_type, content_type = item.session_type, item.content_type
    else:  # from an older process
        msg = sdkws_pb2.MsgData.FromString(item.msg)
        send_id, recv_id, group_id = msg.sendID, msg.recvID, msg.groupID
        client_msg_id, server_msg_id, send_time = msg.clientMsgID, msg.serverMsgID, msg.sendTime
        session_type, content_type = msg.sessionType, msg.contentType
    return SendJob(
        payload=item.msg, send_id=send_id, recv_id=recv_id, group_id=group_id, client_msg_id=client_msg_id,
        server_msg_id=server_msg_id, send_time=send_time, session_type=session_type, content_type=content_type,
        conversation_id=item.conversation_id, conversation_type=item.conversation_type, owners=tuple(item.owners),
        reader_user_id=item.reader_user_id, recipients=tuple(item.recipients), operation_id=item.operation_id,
        origin_node=item.origin_node, origin_conn=item.origin_conn, request_id=item.request_id,
    )


def encode_push(job: PushJob) -> bytes:
    item = pipeline_pb2.PushItem(
        operation_id=job.operation_id, conversation_id=job.conversation_id, msg=job.msg,
        exclude_conn=job.exclude_conn, recipients=job.recipients,
    )
    data: bytes = item.SerializeToString()
    return data


def decode_push(data: bytes) -> PushJob:
    item = pipeline_pb2.PushItem.FromString(data)
    group_id = ""
    if not item.recipients:  # a group message: the push stage resolves its members
        group_id = sdkws_pb2.MsgData.FromString(item.msg).groupID
    return PushJob(
        item.conversation_id, item.msg, item.operation_id, exclude_conn=item.exclude_conn,
        recipients=tuple(item.recipients), group_id=group_id,
    )


def encode_replies(jobs: Sequence[SendJob]) -> bytes:
    """The outcomes of ``jobs`` for their origin process, in one payload."""
    out = pipeline_pb2.SendReplies()
    for job in jobs:
        out.replies.add(
            request_id=job.request_id, seq=job.seq, server_msg_id=job.server_msg_id, send_time=job.send_time,
            duplicate=job.duplicate, err_code=job.err_code, err_detail=job.err_detail,
        )
    data: bytes = out.SerializeToString()
    return data


def decode_replies(data: bytes) -> list[pipeline_pb2.SendReply]:
    return list(pipeline_pb2.SendReplies.FromString(data).replies)
