"""The admin send routes' part of MessageOps: /msg/send_msg, batch_send_msg and send_business_notification
through the normal send path, and the send status /msg/check_msg_is_send_success reports.

What an admin send body becomes (OpenIM's content rules) is decided in openim.services.message_ops; this
module sends it, as the system, and remembers how each send under an operationID went.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from openim.clock import now_ms
from openim.pipeline.msg import Sender, SendOutcome, SendService
from openim.services.message_ops import admin_message, check_content
from openim.services.users import UserService
from openim.storage.port import Store
from openim.wire.constants import ContentType, MsgFrom, Option, Platform, SessionType
from openim.wire.errors import OpenIMError, args_error
from openim.wire.ids import new_client_msg_id
from openim.wire.pb import apistruct_pb2, sdkws_pb2

APP_NOTIFICATION_LEVEL: Final = 3  # notification accounts (OA messages) have appMangerLevel >= 3
SEND_STATUS_KEEP: Final = 10_000  # operationIDs remembered for /msg/check_msg_is_send_success

# OpenIM's send-status values (constant.MsgStatusNotExist .. MsgSendFailed).
SEND_STATUS_UNKNOWN: Final = 0
SEND_STATUS_SENDING: Final = 1
SEND_STATUS_SUCCESS: Final = 2
SEND_STATUS_FAILED: Final = 3

# Notification reliability levels of /msg/send_business_notification (OpenIM's constants).
RELIABILITY_UNRELIABLE: Final = 1
RELIABILITY_STORED: Final = 2


@dataclass(frozen=True, slots=True)
class ReplyKey:
    """The ``key`` OpenIM appends to after-send callbacks (``?key=``, base64 of JSON ``{sendID, recvID,
    groupID}`` of the message the callback was about; made by openim.webhooks.keys), which
    /msg/send_simple_msg takes back to reply."""

    send_id: str
    recv_id: str
    group_id: str

    @classmethod
    def decode(cls, key: str) -> ReplyKey:
        """1001 for a key that is not base64 of a JSON object naming the original sender."""
        try:
            data = json.loads(base64.b64decode(key, validate=True))
        except (ValueError, binascii.Error) as exc:
            raise args_error(f"key is not base64 JSON: {exc}") from None
        if not isinstance(data, dict):
            raise args_error("key is not a JSON object")
        fields = {name: data.get(name) or "" for name in ("sendID", "recvID", "groupID")}
        if not all(isinstance(v, str) for v in fields.values()):
            raise args_error("key: sendID, recvID and groupID must be strings")
        if not fields["sendID"]:
            raise args_error("key: missing sendID")
        return cls(fields["sendID"], fields["recvID"], fields["groupID"])

    def reply_sender(self, group_sender: str) -> str:
        """Who sends the reply: in a group the body's sendID; one-to-one the original message's receiver
        (the reply goes back to its sender). 1001 when that is empty."""
        send_id = group_sender if self.group_id else self.recv_id
        if not send_id:
            raise args_error("missing sendID" if self.group_id else "key: missing recvID")
        return send_id


class AdminSends:
    """Sends made by the admin routes, and their status on this node (MessageOps is one)."""

    def __init__(self, store: Store, send: SendService, users: UserService) -> None:
        self._store = store
        self._send = send
        self._users = users
        self._send_status: OrderedDict[str, int] = OrderedDict()

    def send_status(self, operation_id: str) -> int:
        """Status of the admin send made under ``operation_id`` on this node (0 when unknown here).

        OpenIM keeps this in Redis per operationID; sends here are acknowledged only once durable, so the
        answer is final as soon as the send call returned, and remembering the last few thousand on the
        node that ran them is what the route can honestly promise.
        """
        return self._send_status.get(operation_id, SEND_STATUS_UNKNOWN)

    def _remember(self, operation_id: str, status: int) -> None:
        self._send_status[operation_id] = status
        self._send_status.move_to_end(operation_id)
        while len(self._send_status) > SEND_STATUS_KEEP:
            self._send_status.popitem(last=False)

    async def _send_tracked(self, msg: sdkws_pb2.MsgData, operation_id: str, *, as_admin: bool = True) -> SendOutcome:
        self._remember(operation_id, SEND_STATUS_SENDING)
        try:
            out = await self._send.send(msg, operation_id=operation_id, sender=Sender(msg.sendID, is_admin=as_admin))
        except BaseException:
            self._remember(operation_id, SEND_STATUS_FAILED)
            raise
        self._remember(operation_id, SEND_STATUS_SUCCESS)
        return out

    async def send_admin(self, msg: sdkws_pb2.MsgData, operation_id: str) -> SendOutcome:
        """/msg/send_msg: an OA message needs a notification account as sender; then the normal send path."""
        if msg.contentType == ContentType.OA_NOTIFICATION:
            sender = await self._users.get_one(msg.sendID)
            if sender.app_manager_level < APP_NOTIFICATION_LEVEL:
                raise args_error(f"sendID {msg.sendID} is not a notification account")
        return await self._send_tracked(msg, operation_id)

    async def send_simple(
        self, key: ReplyKey, req: apistruct_pb2.SendSimpleMsgReq, *, operation_id: str, as_admin: bool
    ) -> SendOutcome:
        """/msg/send_simple_msg: a markdown reply to the message ``key`` names, sent by
        ``key.reply_sender(req.sendID)`` (whom the caller must be allowed to act for: the route checks).
        The normal send path's rules apply as to any message of that sender, unless ``as_admin`` (an app
        admin's send is the system's, as /msg/send_msg)."""
        send_id = key.reply_sender(req.sendID)
        sender = await self._users.get_one(send_id)
        group = bool(key.group_id)
        msg = sdkws_pb2.MsgData(
            sendID=send_id,
            recvID="" if group else key.send_id,
            groupID=key.group_id,
            clientMsgID=new_client_msg_id(send_id),
            senderPlatformID=Platform.ADMIN,
            senderNickname=sender.nickname,
            senderFaceURL=sender.face_url,
            sessionType=SessionType.READ_GROUP if group else SessionType.SINGLE,
            msgFrom=MsgFrom.USER,
            contentType=ContentType.MARKDOWN_TEXT,
            content=json.dumps({"content": req.content}, ensure_ascii=False, separators=(",", ":")).encode(),
            createTime=now_ms(),
            ex=req.ex,
        )
        if req.HasField("offlinePushInfo"):
            msg.offlinePushInfo.CopyFrom(req.offlinePushInfo)
        return await self._send_tracked(msg, operation_id, as_admin=as_admin)

    async def batch_recipients(self, recv_ids: Sequence[str], send_all: bool, page: int = 500) -> list[str]:
        """The receivers of /msg/batch_send_msg: the listed ones, or every registered user (paged)."""
        if not send_all:
            return list(dict.fromkeys(recv_ids))
        out: list[str] = []
        offset = 0
        while True:
            _total, users = await self._store.list_users(offset=offset, limit=page)
            out.extend(u.user_id for u in users)
            if len(users) < page:
                return out
            offset += page

    async def batch_send_admin(
        self, req: apistruct_pb2.BatchSendMsgReq, content: Mapping[str, Any], operation_id: str
    ) -> apistruct_pb2.BatchSendMsgResp:
        """/msg/batch_send_msg: one message per receiver, each with its own clientMsgID ((sendID,
        clientMsgID) is the dedupe key of the send path, so a shared one would collapse the batch into one
        message). A bad content is refused before anything is sent; a receiver whose send fails is listed."""
        check_content(req.contentType, content)
        resp = apistruct_pb2.BatchSendMsgResp()
        for recv_id in await self.batch_recipients(req.recvIDs, req.isSendAll):
            try:
                out = await self.send_admin(admin_message(req, content, recv_id=recv_id), operation_id)
            except OpenIMError:
                resp.failedUserIDs.append(recv_id)
                continue
            resp.results.add(
                serverMsgID=out.server_msg_id, clientMsgID=out.client_msg_id, sendTime=out.send_time, recvID=recv_id
            )
        return resp

    async def send_business_notification(
        self, req: apistruct_pb2.SendBusinessNotificationReq, operation_id: str
    ) -> SendOutcome:
        """A 2001 notification ``{"detail": "{\\"key\\":..,\\"data\\":..}"}`` in the ``n_`` stream of the pair or
        group; stored only for reliability level 2. With ``sendMsg`` a copy also lands in the chat
        conversation, as OpenIM's isSendMsg notifications do (the SDK shows it as a message)."""
        if bool(req.recvUserID) == bool(req.recvGroupID):
            raise args_error("exactly one of recvUserID and recvGroupID must be set")
        level = req.reliabilityLevel or RELIABILITY_UNRELIABLE
        stored = level == RELIABILITY_STORED
        detail = json.dumps({"key": req.key, "data": req.data}, ensure_ascii=False, separators=(",", ":"))
        content = json.dumps({"detail": detail}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        session_type = SessionType.SINGLE if req.recvUserID else SessionType.READ_GROUP

        def build(as_chat: bool) -> sdkws_pb2.MsgData:
            msg = sdkws_pb2.MsgData(
                sendID=req.sendUserID,
                recvID=req.recvUserID or req.recvGroupID,
                groupID=req.recvGroupID,
                clientMsgID=new_client_msg_id(req.sendUserID),
                sessionType=session_type,
                msgFrom=MsgFrom.SYSTEM,
                contentType=ContentType.BUSINESS_NOTIFICATION,
                content=content,
                createTime=now_ms(),
            )
            if as_chat:
                # The chat copy keeps only what a chat message needs: stored, no offline push, no unread.
                msg.options[Option.OFFLINE_PUSH] = False
                msg.options[Option.UNREAD_COUNT] = False
                return msg
            # Every key explicit: for notifications an absent key would mean "on".
            for key in Option:
                msg.options[key] = False
            msg.options[Option.SENDER_SYNC] = True
            msg.options[Option.HISTORY] = stored
            msg.options[Option.PERSISTENT] = stored
            return msg

        out = await self._send_tracked(build(as_chat=False), operation_id)
        if req.sendMsg:
            await self._send_tracked(build(as_chat=True), operation_id)
        return out
