"""The push callbacks: beforeOnlinePush (one-to-one and notification chats) and beforeGroupOnlinePush
(group chats), asked by the push stage before it delivers a stored message, and the body of
beforeOfflinePush, which the offline pusher asks.

As OpenIM: typing messages are never asked about; a refusal (or a callback that fails while ``fail_open`` is
off) skips the message's push, online and offline (the message stays stored: its recipients get it at
their next sync); beforeGroupOnlinePush may answer ``userIDList``, the members to push to. Unlike OpenIM,
which pushes to whatever list comes back, the list only narrows the group's audience: a group message is
never pushed to someone outside the group.

The push stage calls :meth:`PushHooks.admit` once per batch, and only when one of the two callbacks is
enabled (openim.assembly builds it then); the callbacks of a batch's messages are asked concurrently.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import trio

from openim.ops.logging import get_log
from openim.pipeline.jobs import PushJob
from openim.webhooks.dispatcher import Webhooks
from openim.wire.constants import ContentType, SessionType, is_notification_content, platform_name
from openim.wire.errors import OpenIMError
from openim.wire.pb import sdkws_pb2

log = get_log("webhooks")


def _platform(platform_id: int) -> str:
    try:
        return platform_name(platform_id)
    except ValueError:
        return ""


def push_content(msg: sdkws_pb2.MsgData) -> str:
    """The ``content`` of a push callback: the text of a chat message, the ``detail`` of a notification."""
    text = msg.content.decode("utf-8", errors="replace")
    if not is_notification_content(msg.contentType):
        return text
    try:
        detail = json.loads(text).get("detail", "")
    except (ValueError, AttributeError):
        return ""
    return detail if isinstance(detail, str) else ""


def push_fields(msg: sdkws_pb2.MsgData) -> dict[str, Any]:
    """What every push callback says of the message (OpenIM's push request, the user list aside)."""
    return {
        "platformID": msg.senderPlatformID,
        "platform": _platform(msg.senderPlatformID),
        "clientMsgID": msg.clientMsgID,
        "sendID": msg.sendID,
        "groupID": msg.groupID,
        "contentType": msg.contentType,
        "sessionType": msg.sessionType,
        "atUserIDList": list(msg.atUserIDList),
        "content": push_content(msg),
    }


def offline_push_body(msg: sdkws_pb2.MsgData, user_ids: Sequence[str]) -> dict[str, Any]:
    """beforeOfflinePush: the message, the users to push to, and the message's offlinePushInfo fields
    inline (absent when the message has none)."""
    body = {**push_fields(msg), "userIDList": list(user_ids)}
    if msg.HasField("offlinePushInfo"):
        info = msg.offlinePushInfo
        body.update(
            title=info.title,
            desc=info.desc,
            ex=info.ex,
            iOSPushSound=info.iOSPushSound,
            iOSBadgeCount=info.iOSBadgeCount,
            signalInfo=info.signalInfo,
        )
    return body


class PushHooks:
    """What the push stage calls (openim.pipeline.push.PushGate)."""

    def __init__(self, webhooks: Webhooks) -> None:
        self._hooks = webhooks
        self._single = webhooks.enabled("beforeOnlinePush")
        self._group = webhooks.enabled("beforeGroupOnlinePush")

    async def admit(self, jobs: Sequence[PushJob], audiences: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
        """The audience of each job as the callbacks leave it (empty: no push)."""
        admitted = list(audiences)

        async def ask(index: int, msg: sdkws_pb2.MsgData, operation_id: str) -> None:
            admitted[index] = await self._ask(msg, audiences[index], operation_id)

        async with trio.open_nursery() as nursery:
            for index, job in enumerate(jobs):
                if not audiences[index]:
                    continue
                msg = sdkws_pb2.MsgData.FromString(job.msg)
                if msg.contentType == ContentType.TYPING:
                    continue
                if (self._group if msg.sessionType == SessionType.READ_GROUP else self._single):
                    nursery.start_soon(ask, index, msg, job.operation_id)
        return admitted

    async def _ask(self, msg: sdkws_pb2.MsgData, audience: tuple[str, ...], operation_id: str) -> tuple[str, ...]:
        group = msg.sessionType == SessionType.READ_GROUP
        hook = "beforeGroupOnlinePush" if group else "beforeOnlinePush"
        body = {**push_fields(msg), "seq": msg.seq} if group else {**push_fields(msg), "userIDList": list(audience)}
        try:
            answer = await self._hooks.before(hook, body, operation_id=operation_id)
        except OpenIMError as exc:
            log.info("webhook.push_skipped", hook=hook, client_msg_id=msg.clientMsgID, reason=str(exc))
            return ()
        narrowed = answer.changed("userIDList") if group and answer is not None else None
        if isinstance(narrowed, list) and narrowed:
            wanted = {u for u in narrowed if isinstance(u, str)}
            return tuple(u for u in audience if u in wanted)
        return audience
