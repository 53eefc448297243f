"""The message callbacks of the send path: before-send (may refuse), before-modify (may change the
message) and after-send (queued once the message is durable).

OpenIM's rules: none of them fire for notifications (content types 1000-5000), typing (113), system
sends, or the content types an operator denied; before-callbacks skip app admins; after-single
callbacks honour ``attention_ids`` when it is set.
"""

from __future__ import annotations

import json
from typing import Any, Final

from openim.webhooks.dispatcher import HookAnswer, Webhooks
from openim.wire.constants import ContentType, SessionType, is_notification_content
from openim.wire.errors import args_error
from openim.wire.pb import sdkws_pb2

# The callbacks the send path fires (the msg stage takes a MessageHooks only when one is enabled).
MESSAGE_HOOKS: Final = (
    "beforeSendSingleMsg",
    "beforeSendGroupMsg",
    "beforeMsgModify",
    "afterSendSingleMsg",
    "afterSendGroupMsg",
    "afterMsgSaveDB",
)


def _content_text(msg: sdkws_pb2.MsgData) -> str:
    return msg.content.decode("utf-8", errors="replace")


def common_fields(msg: sdkws_pb2.MsgData) -> dict[str, Any]:
    """OpenIM's CommonCallbackReq fields of a message (callbackCommand and operationID are added later)."""
    return {
        "sendID": msg.sendID,
        "serverMsgID": msg.serverMsgID,
        "clientMsgID": msg.clientMsgID,
        "senderPlatformID": msg.senderPlatformID,
        "senderNickname": msg.senderNickname,
        "sessionType": msg.sessionType,
        "msgFrom": msg.msgFrom,
        "contentType": msg.contentType,
        "status": msg.status,
        "sendTime": msg.sendTime,
        "createTime": msg.createTime,
        "content": _content_text(msg),
        "seq": msg.seq,
        "atUserList": list(msg.atUserIDList),
        "faceURL": msg.senderFaceURL,
        "ex": msg.ex,
    }


class MessageHooks:
    """What SendService calls: ``before_send`` inside the msg stage, ``after_send`` after the ack."""

    def __init__(self, webhooks: Webhooks) -> None:
        self._hooks = webhooks

    def _skipped(self, msg: sdkws_pb2.MsgData) -> bool:
        ct = msg.contentType
        return is_notification_content(ct) or ct == ContentType.TYPING or ct in self._hooks.denied_content_types

    async def before_send(self, msg: sdkws_pb2.MsgData, *, operation_id: str, is_admin: bool) -> None:
        """Raise OpenIMError when the receiver refuses; apply its changes to ``msg`` in place."""
        if self._skipped(msg):
            return
        group = msg.sessionType == SessionType.READ_GROUP
        if not is_admin:
            fields = common_fields(msg)
            if group:
                await self._hooks.before(
                    "beforeSendGroupMsg", {**fields, "groupID": msg.groupID}, operation_id=operation_id
                )
            else:
                await self._hooks.before(
                    "beforeSendSingleMsg", {**fields, "recvID": msg.recvID}, operation_id=operation_id
                )
        answer = await self._hooks.before(
            "beforeMsgModify",
            {**common_fields(msg), "recvID": msg.recvID, "groupID": msg.groupID},
            operation_id=operation_id,
        )
        if answer is not None:
            apply_modification(msg, answer)

    def after_send(self, msg: sdkws_pb2.MsgData, *, operation_id: str) -> None:
        """Queue the after-callbacks of a stored message; returns at once."""
        if self._skipped(msg):
            return
        group = msg.sessionType == SessionType.READ_GROUP
        if self._hooks.enabled("afterMsgSaveDB"):
            # OpenIM's transfer stage sends it once the message is in its database: recvID or groupID,
            # the other empty. (Its attentionIds filter never matches here, so none is applied.)
            fields = {
                **common_fields(msg),
                "recvID": "" if group else msg.recvID,
                "groupID": msg.groupID if group else "",
            }
            self._hooks.after("afterMsgSaveDB", fields, operation_id=operation_id)
        if group:
            self._hooks.after(
                "afterSendGroupMsg", {**common_fields(msg), "groupID": msg.groupID}, operation_id=operation_id
            )
            return
        attention = self._hooks.attention_ids
        if attention and msg.recvID not in attention:
            return
        self._hooks.after("afterSendSingleMsg", {**common_fields(msg), "recvID": msg.recvID}, operation_id=operation_id)


def apply_modification(msg: sdkws_pb2.MsgData, answer: HookAnswer) -> None:
    """Apply the changes a beforeMsgModify answer carries. Only fields that do not undo the checks the
    msg stage made (who may send to whom) are taken: the content and how the sender is shown."""
    content = answer.changed("content")
    if content is not None:
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        try:
            json.loads(text)
        except ValueError as exc:
            raise args_error("beforeMsgModify returned content that is not JSON") from exc
        msg.content = text.encode()
    for key, attr in (
        ("senderNickname", "senderNickname"),
        ("senderFaceURL", "senderFaceURL"),
        ("ex", "ex"),
        ("attachedInfo", "attachedInfo"),
    ):
        value = answer.changed(key)
        if isinstance(value, str):
            setattr(msg, attr, value)
    at_users = answer.changed("atUserIDList")
    if isinstance(at_users, list) and all(isinstance(u, str) for u in at_users):
        del msg.atUserIDList[:]
        msg.atUserIDList.extend(at_users)
