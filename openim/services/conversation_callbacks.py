"""OpenIM's conversation callbacks: before and after a conversation is created for its users, which OpenIM
does when the first message of a conversation is stored (its transfer stage; the conversation service's
callback.go for the bodies). beforeCreateSingleChatConversations / afterCreateSingleChatConversations once
per owner of a one-to-one (the sender's row, then the receiver's) or notification chat (the receiver's);
beforeCreateGroupChatConversations / afterCreateGroupChatConversations once for a group's conversation.

The transfer stage hands every stored batch to :meth:`NewConversationHooks.stored`, which picks the first
messages (seq 1) and queues them without waiting; this module's own task asks the receiver, so a slow one
delays nothing but these callbacks. The rows exist by then (they are written in the same transaction as
the message): a before-callback's changes (recvMsgOpt, isPinned, isPrivateChat, burnDuration,
groupAtType, attachedInfo, ex) are applied to them as /conversation/set_conversations would, with its
version log and notifications; a refusal cannot undo them and is logged. What is queued when the process
stops is lost (as OpenIM's in-memory webhook queue).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import trio

from openim.ops.logging import get_log
from openim.pipeline.jobs import SendJob
from openim.services.conversations import ConversationService
from openim.webhooks.dispatcher import Webhooks
from openim.wire.constants import ContentType, SessionType
from openim.wire.errors import OpenIMError
from openim.wire.pb import conversation_pb2

log = get_log("conversation_callbacks")

QUEUE_SIZE: Final = 10_000
DRAIN_TIMEOUT_S: Final = 3.0
SINGLE_HOOKS: Final = ("beforeCreateSingleChatConversations", "afterCreateSingleChatConversations")
GROUP_HOOKS: Final = ("beforeCreateGroupChatConversations", "afterCreateGroupChatConversations")
# The settings of a new conversation as the callbacks show and change them: JSON key -> (wrapper field of
# ConversationReq, its value in a new row).
SETTINGS: Final[dict[str, tuple[str, Any]]] = {
    "recvMsgOpt": ("recvMsgOpt", 0),
    "isPinned": ("isPinned", False),
    "isPrivateChat": ("isPrivateChat", False),
    "burnDuration": ("burnDuration", 0),
    "groupAtType": ("groupAtType", 0),
    "attachedInfo": ("attachedInfo", ""),
    "ex": ("ex", ""),
}


def conversation_hook(job: SendJob, owner: str) -> dict[str, Any]:
    """A new conversation as OpenIM's callbacks show it (note its spelling: ownerUserId, conversationId,
    userId, groupId), with a new row's settings. A group's has no owner: it stands for every member's."""
    body: dict[str, Any] = {
        "ownerUserId": owner,
        "conversationId": job.conversation_id,
        "conversationType": job.conversation_type,
    }
    if job.conversation_type == SessionType.READ_GROUP:
        body["groupId"] = job.group_id
    else:
        body["userId"] = job.recv_id if owner == job.send_id else job.send_id
    body.update({key: default for key, (_, default) in SETTINGS.items()})
    return body


def settings_request(
    job: SendJob, body: dict[str, Any], answer: dict[str, Any] | None
) -> conversation_pb2.ConversationReq | None:
    """The set_conversations request that applies a before-callback's changes (its non-null settings of
    the right type), or None when it changes nothing. ``body`` is updated to what the rows then hold."""
    if not answer:
        return None
    req = conversation_pb2.ConversationReq(
        conversationID=job.conversation_id,
        conversationType=job.conversation_type,
        userID=str(body.get("userId", "")),
        groupID=job.group_id if job.conversation_type == SessionType.READ_GROUP else "",
    )
    changed = False
    for key, (name, default) in SETTINGS.items():
        value = answer.get(key)
        if value is None or type(value) is not type(default):
            continue
        getattr(req, name).value = value
        body[key] = value
        changed = True
    return req if changed else None


class NewConversationHooks:
    """The transfer stage's observer of stored batches, and the process module that runs the callbacks."""

    name = "conversation-callbacks"

    def __init__(self, webhooks: Webhooks, conversations: ConversationService) -> None:
        self._hooks = webhooks
        self._conversations = conversations
        self._single = any(webhooks.enabled(h) for h in SINGLE_HOOKS)
        self._group = any(webhooks.enabled(h) for h in GROUP_HOOKS)
        self._send, self._recv = trio.open_memory_channel[SendJob](QUEUE_SIZE)
        self.dropped = 0

    def stored(self, jobs: Sequence[SendJob]) -> None:
        """Queue the first message of each new conversation in ``jobs`` (a committed batch); never waits."""
        for job in jobs:
            if job.seq != 1 or job.duplicate or job.err_code or job.content_type == ContentType.TYPING:
                continue
            wanted = self._group if job.conversation_type == SessionType.READ_GROUP else self._single
            if not wanted:
                continue
            try:
                self._send.send_nowait(job)
            except trio.WouldBlock:
                self.dropped += 1
                log.warning("conversation_callbacks.dropped", conversation_id=job.conversation_id)

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async for job in self._recv:  # runs until the runtime cancels it (the channel is never closed)
            try:
                await self._created(job)
            except Exception:  # one conversation's callbacks must not end them for the others
                log.error("conversation_callbacks.failed", conversation_id=job.conversation_id, exc_info=True)

    async def drain(self) -> None:
        """Give what is queued a moment (the transfer stage, drained before, adds nothing more)."""
        with trio.move_on_after(DRAIN_TIMEOUT_S):
            while self._recv.statistics().current_buffer_used:
                await trio.sleep(0.05)

    async def _created(self, job: SendJob) -> None:
        if job.conversation_type == SessionType.READ_GROUP:
            await self._ask(job, "", list(job.owners), GROUP_HOOKS)
        elif job.conversation_type == SessionType.NOTIFICATION:
            await self._ask(job, job.recv_id, [job.recv_id], SINGLE_HOOKS)
        else:
            for owner in dict.fromkeys((job.send_id, job.recv_id)):
                await self._ask(job, owner, [owner], SINGLE_HOOKS)

    async def _ask(self, job: SendJob, owner: str, owners: list[str], hooks: tuple[str, str]) -> None:
        before, after = hooks
        body = conversation_hook(job, owner)
        if self._hooks.enabled(before):
            try:
                answer = await self._hooks.before(before, body, operation_id=job.operation_id)
            except OpenIMError as exc:
                # The rows were stored with the message; a refusal cannot take them back.
                log.warning("conversation_callbacks.refused", hook=before, conversation_id=job.conversation_id,
                            owner=owner, error=str(exc))
                return
            req = settings_request(job, body, dict(answer.body) if answer is not None else None)
            if req is not None:
                try:
                    await self._conversations.set_conversations(owners, req, operation_id=job.operation_id)
                except OpenIMError as exc:
                    log.warning("conversation_callbacks.not_applied", hook=before,
                                conversation_id=job.conversation_id, error=str(exc))
        if self._hooks.enabled(after):
            self._hooks.after(after, body, operation_id=job.operation_id)
