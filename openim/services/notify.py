"""Notifications: server-made messages that tell clients what an operation changed.

A notification is a MsgData with msgFrom 200, a notification contentType and content
``{"detail": "<tips JSON>"}``, routed to the ``n_`` twin of its conversation (isNotNotification=false)
and carrying the operationID of the request that caused it (the JS SDK uses it to skip events it raised
itself). OpenIM stores only a few kinds (revoke 2101, delete 2102, read receipt 2200: ``stored=True``);
the rest are pushed to online devices only, and offline clients catch up through incremental sync.

Kinds configured with ``isSendMsg`` (group creation, kicks, mutes, ...: OpenIM's notification.yml defaults) also leave a
visible trace: ``chat_copy=True`` stores a copy of the notification in the chat conversation itself
(``sg_``/``si_``, options reset to "count as unread"), with a seq, so a client that was offline sees it
through the ordinary message sync.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from openim.clock import now_ms
from openim.ops.logging import Log
from openim.pipeline.msg import Sender, SendOutcome, SendService
from openim.wire.constants import MsgFrom, Option, SessionType
from openim.wire.errors import OpenIMError
from openim.wire.ids import new_client_msg_id
from openim.wire.jsoncodec import notification_content
from openim.wire.pb import sdkws_pb2

# Every option key set explicitly: for notifications an absent key would mean "on".
_BASE_OPTIONS = {
    Option.HISTORY: False,
    Option.PERSISTENT: False,
    Option.OFFLINE_PUSH: False,
    Option.UNREAD_COUNT: False,
    Option.CONVERSATION_UPDATE: False,
    Option.SENDER_SYNC: True,
    Option.NOT_PRIVATE: False,
    Option.SENDER_CONVERSATION_UPDATE: False,
    Option.IS_NOT_NOTIFICATION: False,
    Option.IS_SEND_MSG: False,
}


class Notifier:
    def __init__(self, send: SendService) -> None:
        self._send = send

    async def notify(
        self,
        *,
        content_type: int,
        tips: Message,
        send_id: str,
        recv_id: str = "",
        group_id: str = "",
        session_type: int = SessionType.SINGLE,
        operation_id: str,
        stored: bool = False,
        sender_sync: bool = True,
        sender_nickname: str = "",
        sender_face_url: str = "",
        chat_copy: bool = False,
    ) -> SendOutcome:
        now = now_ms()
        msg = sdkws_pb2.MsgData(
            sendID=send_id,
            recvID=recv_id or group_id,
            groupID=group_id,
            clientMsgID=new_client_msg_id(send_id),
            senderNickname=sender_nickname,
            senderFaceURL=sender_face_url,
            sessionType=session_type,
            msgFrom=MsgFrom.SYSTEM,
            contentType=content_type,
            content=notification_content(tips),
            createTime=now,
            sendTime=now,
        )
        for key, value in _BASE_OPTIONS.items():
            msg.options[key] = value
        msg.options[Option.SENDER_SYNC] = sender_sync
        if stored:
            msg.options[Option.HISTORY] = True
            msg.options[Option.PERSISTENT] = True
        copy: sdkws_pb2.MsgData | None = None
        if chat_copy:
            # OpenIM's clone: same clientMsgID and content, every option default (absent = on, so it
            # routes to the chat conversation and is stored) except an explicit unread count.
            copy = sdkws_pb2.MsgData()
            copy.CopyFrom(msg)
            copy.options.clear()
            copy.options[Option.UNREAD_COUNT] = True
        outcome = await self._send.send(msg, operation_id=operation_id, sender=Sender(send_id, system=True))
        if copy is not None:
            await self._send.send(copy, operation_id=operation_id, sender=Sender(send_id, system=True))
        return outcome


async def tell(notifier: Notifier, log: Log, **notification: Any) -> None:
    """``notifier.notify(**notification)`` after a change that is committed already: a failed push is
    logged (``notify.failed``), not raised. Push is best effort, sync is the guarantee: clients catch up
    through incremental sync (docs/architecture.md, invariant 4)."""
    try:
        await notifier.notify(**notification)
    except OpenIMError as err:
        log.warning(
            "notify.failed",
            content_type=int(notification["content_type"]),
            send_id=notification["send_id"],
            recv_id=notification.get("recv_id") or notification.get("group_id", ""),
            code=int(err.code),
            detail=err.detail,
        )
