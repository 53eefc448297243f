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
        reader_user_id=job.reader_user_id, recipients=job.recipients,
    )
    data: bytes = item.SerializeToString()
    return data


def decode_send(data: bytes) -> SendJob:
    item = pipeline_pb2.TransferItem.FromString(data)
    msg = sdkws_pb2.MsgData.FromString(item.msg)
    return SendJob(
        payload=item.msg, send_id=msg.sendID, recv_id=msg.recvID, group_id=msg.groupID,
        client_msg_id=msg.clientMsgID, server_msg_id=msg.serverMsgID, send_time=msg.sendTime,
        session_type=msg.sessionType, content_type=msg.contentType, conversation_id=item.conversation_id,
        conversation_type=item.conversation_type, owners=tuple(item.owners), reader_user_id=item.reader_user_id,
        recipients=tuple(item.recipients), operation_id=item.operation_id, origin_node=item.origin_node,
        origin_conn=item.origin_conn, request_id=item.request_id,
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
