"""The push stage: fan stored messages out to the connections of their recipients.

Per batch: the audiences (explicit recipients, or a group's members), where each recipient is
connected, and each message's 2001 frame encoded ONCE for all of them. Connections of this process are
written directly (a reference to the same bytes goes into each connection's outgoing buffer); every
other gateway node gets one publish per batch. With the in-process bus every connection is local and
the presence lookup is the local session index itself. Push is best effort: a client that missed one
recovers the message with sync, so nothing here retries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

import trio

from openim.bus.port import Bus, BusUnavailable, PresenceEntry
from openim.internode.payloads import Delivery, encode_deliveries
from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.pipeline.handoff import Handoff
from openim.pipeline.jobs import PushJob
from openim.wire.pb import sdkws_pb2

__all__ = ["AudienceResolver", "LocalDelivery", "OfflineSink", "PushGate", "PushStage"]

log = get_log("push")


class OfflineSink(Protocol):
    """Takes, without blocking, the recipients of a batch that have no live connection."""

    def submit_offline(
        self,
        pushes: Sequence[PushJob],
        audiences: Sequence[tuple[str, ...]],
        presence: Mapping[str, Sequence[PresenceEntry]],
    ) -> None: ...


class LocalDelivery(Protocol):
    """This process's gateway, when it runs one."""

    def deliver(self, frame: bytes, user_ids: Sequence[str], exclude_conn: str) -> int:
        """Queue ``frame`` on every local connection of ``user_ids`` but ``exclude_conn``; how many."""

    def presence(self, user_ids: Sequence[str]) -> dict[str, list[PresenceEntry]]:
        """The local connections of each user (users without any are absent)."""


class PushGate(Protocol):
    """Asked before a batch is delivered (the push callbacks, openim.webhooks.pushes): the audience of each
    job as it may be pushed, empty for a job that must not be."""

    async def admit(self, jobs: Sequence[PushJob], audiences: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]: ...


# Resolves the audience of a message whose PushJob carries no explicit recipients (group messages).
AudienceResolver = Callable[[sdkws_pb2.MsgData], Awaitable[Sequence[str]]]


class PushStage:
    name = "push"

    def __init__(
        self,
        *,
        bus: Bus,
        pushes: Handoff[PushJob],
        node_id: str,
        metrics: Metrics,
        audience: AudienceResolver | None = None,
        offline: OfflineSink | None = None,
        local: LocalDelivery | None = None,
        all_local: bool = False,
        gate: PushGate | None = None,
    ) -> None:
        self._bus = bus
        self._pushes = pushes
        self._node_id = node_id
        self._metrics = metrics
        self._audience = audience
        self._offline = offline  # offline push (openim.offline_push), when a provider is configured
        self._local = local
        self._all_local = all_local and local is not None  # one process: no presence lookup on the bus
        self._gate = gate  # the push callbacks, only when one is enabled

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self._pushes.consume(self._handle, task_status=task_status)
        await trio.sleep_forever()  # drained; a module stays until the runtime cancels it

    async def drain(self) -> None:
        self._pushes.stop()

    async def _handle(self, partition: int, jobs: list[PushJob]) -> None:
        await self.fan_out(jobs)

    async def _audiences(self, jobs: Sequence[PushJob]) -> list[tuple[str, ...]]:
        audiences: list[tuple[str, ...]] = []
        for p in jobs:
            users = p.recipients
            if not users and self._audience is not None:
                users = tuple(await self._audience(sdkws_pb2.MsgData.FromString(p.msg)))
            audiences.append(users)
        return audiences

    async def fan_out(self, jobs: Sequence[PushJob]) -> None:
        """Deliver each job's frame to every live connection of its recipients."""
        audiences = await self._audiences(jobs)
        if self._gate is not None:
            audiences = await self._gate.admit(jobs, audiences)
        local = self._local
        if self._all_local and local is not None:
            written = 0
            for p, users in zip(jobs, audiences, strict=True):
                if users:
                    written += local.deliver(p.frame, users, p.exclude_conn)
            if self._offline is not None:
                everyone = {u for users in audiences for u in users}
                self._offline.submit_offline(jobs, audiences, local.presence(sorted(everyone)))
            return
        everyone = {u for users in audiences for u in users}
        if not everyone:
            return
        try:
            presence = await self._bus.presence_get(sorted(everyone))
        except BusUnavailable as exc:
            log.warning("push.presence_unavailable", error=str(exc.__cause__ or exc))
            return
        if self._offline is not None:  # recipients without any live connection get a device push
            self._offline.submit_offline(jobs, audiences, presence)
        per_node: dict[str, list[Delivery]] = defaultdict(list)
        for p, users in zip(jobs, audiences, strict=True):
            by_node: dict[str, dict[str, None]] = defaultdict(dict)
            for uid in users:
                for entry in presence.get(uid, ()):
                    by_node[entry.node_id][entry.user_id] = None
            for node, node_users in by_node.items():
                if node == self._node_id and local is not None:
                    local.deliver(p.frame, tuple(node_users), p.exclude_conn)
                else:
                    per_node[node].append(Delivery(p.frame, tuple(node_users), p.exclude_conn))
        for node, deliveries in per_node.items():
            try:
                await self._bus.publish(node, [encode_deliveries(deliveries)])
            except BusUnavailable as exc:
                log.warning("push.publish_failed", node=node, error=str(exc.__cause__ or exc))
