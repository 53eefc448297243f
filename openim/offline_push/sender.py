"""Offline push: the push stage hands over, per batch, the messages whose recipients had no live
connection; this module turns them into notifications for those users' registered devices and sends
them through the configured provider, in its own task, so a slow provider never slows the online
fan-out (it only drops offline pushes, counted and logged, when it falls far behind).

What is pushed (OpenIM's rules): chat messages with the ``offlinePush`` option on (the msg stage turns
it off for the receiver of a one-to-one chat he muted), never notifications; never to the sender; in a
group, only to members whose receive option for the group's conversation is the default (OpenIM's
GetConversationOfflinePushUserIDs: 1 "receive nothing" and 2 "no notification" get no push). Title and
text come from the message's offlinePushInfo, else from the config. The ``beforeOfflinePush`` callback,
when enabled, may refuse a push or narrow its user list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio
from google.protobuf import json_format

from openim.bus.port import PresenceEntry
from openim.config import OfflinePushConfig
from openim.offline_push.devices import DeviceRegistry
from openim.offline_push.provider import Notification, ProviderMisconfigured, PushProvider, PushResult
from openim.ops.logging import get_log
from openim.pipeline.jobs import PushJob
from openim.webhooks.pushes import offline_push_body
from openim.wire.constants import Option, SessionType, conversation_id_for_msg, is_notification_content, option_on
from openim.wire.errors import OpenIMError
from openim.wire.pb import sdkws_pb2

if TYPE_CHECKING:
    from openim.webhooks.dispatcher import Webhooks

log = get_log("offline_push")

QUEUE_SIZE = 10_000

# conversation ID -> the users whose row for it turns offline pushes down (recvMsgOpt 1 or 2)
MutedOwners = Callable[[str], Awaitable[Sequence[str]]]


@dataclass(frozen=True, slots=True)
class OfflineMessage:
    """A stored message and those of its recipients who were offline when it was fanned out."""

    msg: bytes
    user_ids: tuple[str, ...]
    operation_id: str = ""


class OfflinePusher:
    """The offline-push module of processes that run the push stage (``submit`` never blocks)."""

    name = "offline-push"

    def __init__(
        self,
        cfg: OfflinePushConfig,
        devices: DeviceRegistry,
        *,
        provider: PushProvider | None = None,
        webhooks: Webhooks | None = None,
        muted_owners: MutedOwners | None = None,
    ) -> None:
        self._cfg = cfg
        self._muted_owners = muted_owners  # None: no group member muted anything (tests of the providers)
        self._provider: PushProvider | None = provider  # None: built from cfg at start (tests pass one)
        self._devices = devices
        self._webhooks = webhooks
        self._send, self._recv = trio.open_memory_channel[list[OfflineMessage]](QUEUE_SIZE)
        self._scope = trio.CancelScope()
        self.totals = PushResult()
        self.dropped = 0

    # -- intake (called by the push stage) -------------------------------------------------------------
    def submit(self, batch: Sequence[OfflineMessage]) -> None:
        if not batch:
            return
        try:
            self._send.send_nowait(list(batch))
        except trio.WouldBlock:
            self.dropped += len(batch)
            log.warning("offline_push.dropped", messages=len(batch), reason="queue full")

    def submit_offline(
        self,
        pushes: Sequence[PushJob],
        audiences: Sequence[tuple[str, ...]],
        presence: Mapping[str, Sequence[PresenceEntry]],
    ) -> None:
        """The push stage's hand-over (openim.pipeline.push.OfflineSink): the recipients of each stored message
        that have no live connection. Online-only messages (seq 0: typing and the like) are not pushed."""
        batch = []
        for p, users in zip(pushes, audiences, strict=True):
            offline = tuple(u for u in users if not presence.get(u))
            if offline:
                batch.append(OfflineMessage(p.msg, offline, p.operation_id))
        self.submit(batch)

    # -- module ----------------------------------------------------------------------------------------
    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        # A provider that is misconfigured (unreadable key, wrong account) stops the process now, with
        # the reason in one line, instead of pushes failing silently for days.
        from openim.offline_push import make_provider

        provider = self._provider or make_provider(self._cfg)
        if provider is None:
            raise ProviderMisconfigured("offline_push has no provider (provider none, no providers): nothing to run")
        self._provider = provider
        await provider.check()
        log.info("offline_push.ready", provider=provider.name)
        task_status.started()
        with self._scope:
            async for batch in self._recv:
                try:
                    await self.push(batch)
                except Exception:  # one bad batch must not end offline push for everyone
                    log.error("offline_push.batch_failed", exc_info=True)
        await provider.aclose()

    async def drain(self) -> None:
        self._scope.cancel()

    # -- one batch -------------------------------------------------------------------------------------
    def _wanted(self, msg: sdkws_pb2.MsgData) -> bool:
        return (
            msg.seq > 0 and option_on(msg.options, Option.OFFLINE_PUSH) and not is_notification_content(msg.contentType)
        )

    async def _filter_by_hook(self, msg: sdkws_pb2.MsgData, users: list[str], operation_id: str) -> list[str]:
        """beforeOfflinePush: a refusal (or a failure while fail_open is off) skips the push; the answer's
        ``userIDList`` narrows the users (never widens them), its ``offlinePushInfo`` replaces the
        message's title, text and extras (``msg`` is changed in place)."""
        hooks = self._webhooks
        if hooks is None or not hooks.enabled("beforeOfflinePush"):
            return users
        try:
            answer = await hooks.before("beforeOfflinePush", offline_push_body(msg, users), operation_id=operation_id)
        except OpenIMError:
            return []  # refused (or the callback failed closed): no push for this message
        if answer is None:
            return users
        info = answer.changed("offlinePushInfo")
        if isinstance(info, dict):
            replaced = sdkws_pb2.OfflinePushInfo()
            try:
                json_format.ParseDict(info, replaced, ignore_unknown_fields=True)
            except json_format.ParseError as exc:
                log.warning("offline_push.bad_hook_info", error=str(exc), client_msg_id=msg.clientMsgID)
            else:
                msg.offlinePushInfo.CopyFrom(replaced)
        narrowed = answer.changed("userIDList")
        if isinstance(narrowed, list) and narrowed:
            wanted = set(narrowed)
            return [u for u in users if u in wanted]
        return users

    async def push(self, batch: Sequence[OfflineMessage]) -> PushResult:
        """Look the devices of every offline recipient up once, then send in provider batches."""
        provider = self._provider
        if provider is None:
            raise RuntimeError("offline push is not started")
        plans: list[tuple[sdkws_pb2.MsgData, list[str]]] = []
        muted: dict[str, frozenset[str]] = {}  # per group conversation, asked once per batch
        for item in batch:
            msg = sdkws_pb2.MsgData.FromString(item.msg)
            if not self._wanted(msg):
                continue
            users = [u for u in dict.fromkeys(item.user_ids) if u != msg.sendID]
            if users and msg.sessionType == SessionType.READ_GROUP and self._muted_owners is not None:
                conversation_id = conversation_id_for_msg(msg)
                if conversation_id not in muted:
                    muted[conversation_id] = frozenset(await self._muted_owners(conversation_id))
                users = [u for u in users if u not in muted[conversation_id]]
            users = await self._filter_by_hook(msg, users, item.operation_id) if users else users
            if users:
                plans.append((msg, users))
        if not plans:
            return PushResult()
        everyone = sorted({u for _, users in plans for u in users})
        tokens_by_user: dict[str, list[tuple[int, str, int]]] = {}
        for t in await self._devices.tokens_of(everyone):
            tokens_by_user.setdefault(t.user_id, []).append((t.platform_id, t.token, t.badge))
        notifications: list[Notification] = []
        for msg, users in plans:
            title = (
                msg.offlinePushInfo.title
                or (msg.senderNickname if msg.sessionType != SessionType.READ_GROUP else self._cfg.default_title)
                or self._cfg.default_title
            )
            body = msg.offlinePushInfo.desc or self._cfg.default_desc or self._cfg.default_title
            data = {
                "conversationID": conversation_id_for_msg(msg),
                "clientMsgID": msg.clientMsgID,
                "sendID": msg.sendID,
                "ex": msg.offlinePushInfo.ex,
            }
            for user in users:
                for platform_id, token, badge in tokens_by_user.get(user, ()):
                    notifications.append(Notification(user, platform_id, token, title, body, badge + 1, data))
        result = PushResult()
        size = self._cfg.batch_size
        for start in range(0, len(notifications), size):
            result.add(await provider.send(notifications[start : start + size]))
        if result.dead_tokens:
            await self._devices.forget_tokens(result.dead_tokens)
        if result.failed:
            log.warning("offline_push.failed", provider=provider.name, failed=result.failed, sent=result.sent)
        self.totals.add(result)
        return result
