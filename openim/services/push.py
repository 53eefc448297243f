"""The push stage: fan stored messages out to the gateways that hold their recipients.

Per batch: one presence lookup for every recipient of every message, each frame encoded ONCE (not per
recipient), and one publish per destination node (DESIGN.md section 4). Push is best effort: a client
that missed one recovers the message with sync (invariant 4), so nothing here retries forever.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

import trio

from openim.bus.port import Bus, BusUnavailable, PresenceEntry, QueueItem
from openim.config import MessagingConfig
from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.services.internal import Delivery, PushItem
from openim.services.partitions import LEASE_TTL_S, PartitionConsumers
from openim.services.send import PUSH_TOPIC
from openim.wire.constants import is_notification_conversation
from openim.wire.envelope import encode_push
from openim.wire.pb import sdkws_pb2

log = get_log("push")

class OfflineSink(Protocol):
    """Takes, without blocking, the recipients of a batch that have no live connection."""

    def submit_offline(
        self,
        pushes: Sequence[PushItem],
        audiences: Sequence[tuple[str, ...]],
        presence: Mapping[str, Sequence[PresenceEntry]],
    ) -> None: ...


# Resolves the audience of a message whose PushItem carries no explicit recipients (group messages).
AudienceResolver = Callable[[sdkws_pb2.MsgData], Awaitable[Sequence[str]]]


def push_frame(conversation_id: str, msg_bytes: bytes, operation_id: str) -> bytes:
    """The complete 2001 frame for one message: PushMessages{conversationID: PullMsgs{Msgs:[msg]}}."""
    push = sdkws_pb2.PushMessages()
    target = push.notificationMsgs if is_notification_conversation(conversation_id) else push.msgs
    target[conversation_id].Msgs.add().MergeFromString(msg_bytes)
    return encode_push(push.SerializeToString(), operation_id)


class PushStage:
    name = "push"

    def __init__(
        self,
        *,
        bus: Bus,
        node_id: str,
        messaging: MessagingConfig,
        metrics: Metrics,
        audience: AudienceResolver | None = None,
        lease_ttl_s: float = LEASE_TTL_S,
        offline: OfflineSink | None = None,
    ) -> None:
        self._offline = offline  # offline push (openim.offline_push), when a provider is configured
        self._bus = bus
        self._metrics = metrics
        self._audience = audience
        self._consumers = PartitionConsumers(
            bus=bus, topic=PUSH_TOPIC, partitions=messaging.transfer_partitions, owner=node_id,
            max_items=messaging.batch_max, handle=self._handle, lease_ttl_s=lease_ttl_s,
        )

    def set_audience(self, audience: AudienceResolver) -> None:
        self._audience = audience

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self._consumers.run(task_status=task_status)

    async def drain(self) -> None:
        self._consumers.stop()

    async def _handle(self, partition: int, items: Sequence[QueueItem]) -> None:
        try:
            await self.fan_out([PushItem.decode(i.payload) for i in items])
        finally:
            try:
                await self._bus.queue_ack(PUSH_TOPIC, partition, [i.item_id for i in items])
            except BusUnavailable as exc:
                log.warning("push.ack_failed", error=str(exc.__cause__ or exc))

    async def fan_out(self, pushes: Sequence[PushItem]) -> None:
        """Deliver each item's frame to every live connection of its recipients."""
        audiences: list[tuple[str, ...]] = []
        everyone: set[str] = set()
        for p in pushes:
            users = p.recipients
            if not users and self._audience is not None:
                users = tuple(await self._audience(sdkws_pb2.MsgData.FromString(p.msg)))
            audiences.append(users)
            everyone.update(users)
        if not everyone:
            return
        try:
            presence = await self._bus.presence_get(sorted(everyone))
        except BusUnavailable as exc:
            log.warning("push.presence_unavailable", error=str(exc.__cause__ or exc))
            return
        per_node: dict[str, list[bytes]] = defaultdict(list)
        frames = 0
        if self._offline is not None:  # recipients without any live connection get a device push
            self._offline.submit_offline(pushes, audiences, presence)
        for p, users in zip(pushes, audiences, strict=True):
            by_node: dict[str, list[str]] = defaultdict(list)
            for uid in users:
                for entry in presence.get(uid, ()):
                    if entry.user_id not in by_node[entry.node_id]:
                        by_node[entry.node_id].append(entry.user_id)
            if not by_node:
                continue
            frame = push_frame(p.conversation_id, p.msg, p.operation_id)
            for node, node_users in by_node.items():
                per_node[node].append(Delivery(frame, tuple(node_users), p.exclude_conn).encode())
                frames += len(node_users)
        for node, payloads in per_node.items():
            try:
                await self._bus.publish(node, payloads)
            except BusUnavailable as exc:
                log.warning("push.publish_failed", node=node, error=str(exc.__cause__ or exc))
