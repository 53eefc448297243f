"""The send path wired for service tests: msg stage -> transfer -> push, with either hand-off.

- ``memory``: what one process runs (memory bus): MemoryHandoff, the job objects themselves pass
  between the stages and the transfer stage calls each job's ``done`` directly.
- ``bus``: what a cluster runs, in one process: BusHandoff over the memory bus's partitioned queues
  (one protobuf per item, leases per partition), answers through Replies and the node inbox.

The push stage looks up presence on the bus and publishes the deliveries of a batch per node, its own included,
so a test sees every fan-out as a KIND_DELIVERIES payload in the node's inbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

from openim.bus.memory import MemoryBus
from openim.config import MessagingConfig
from openim.internode.inbox import NodeInbox
from openim.ops.metrics import Metrics
from openim.pipeline import codec
from openim.pipeline.handoff import BusHandoff, Handoff, MemoryHandoff
from openim.pipeline.jobs import PushJob, SendJob
from openim.pipeline.msg import PUSH_TOPIC, TRANSFER_TOPIC, SendService
from openim.pipeline.push import AudienceResolver, PushStage
from openim.pipeline.replies import Replies
from openim.pipeline.transfer import TransferStage
from openim.storage.port import Store
from openim.storage.sql.sqlite import SqliteStore

HANDOFFS = ("memory", "bus")
PARTITIONS = 4


@dataclass
class SendPath:
    send: SendService
    transfer: TransferStage
    push: PushStage
    replies: Replies
    sends: Handoff[SendJob]
    pushes: Handoff[PushJob]


def handoffs(
    kind: str, *, bus: MemoryBus, node_id: str, messaging: MessagingConfig
) -> tuple[Handoff[SendJob], Handoff[PushJob]]:
    batch = messaging.batch_max
    if kind == "memory":
        return MemoryHandoff[SendJob](max_items=batch), MemoryHandoff[PushJob](max_items=batch)
    assert kind == "bus", kind
    sends = BusHandoff[SendJob](
        bus=bus, topic=TRANSFER_TOPIC, partitions=PARTITIONS, owner=node_id, max_items=batch,
        encode=codec.encode_send, decode=codec.decode_send,
    )
    pushes = BusHandoff[PushJob](
        bus=bus, topic=PUSH_TOPIC, partitions=PARTITIONS, owner=node_id, max_items=batch,
        encode=codec.encode_push, decode=codec.decode_push,
    )
    return sends, pushes


@asynccontextmanager
async def running_send_path(
    kind: str,
    *,
    store: Store,
    bus: MemoryBus,
    inbox: NodeInbox,
    node_id: str,
    messaging: MessagingConfig,
    metrics: Metrics,
    audience: AudienceResolver | None = None,
    reply_timeout_s: float = 15.0,
) -> AsyncIterator[SendPath]:
    """The three stages running (the caller runs ``inbox.serve``); drained and stopped on exit."""
    sends, pushes = handoffs(kind, bus=bus, node_id=node_id, messaging=messaging)
    replies = Replies(bus=bus, node_id=node_id, inbox=inbox, timeout_s=reply_timeout_s)
    send = SendService(
        store=store, sends=sends, pushes=pushes, replies=replies, in_process=kind == "memory", node_id=node_id,
        messaging=messaging, metrics=metrics,
    )
    transfer = TransferStage(store=store, sends=sends, pushes=pushes, replies=replies, node_id=node_id, metrics=metrics)
    push = PushStage(bus=bus, pushes=pushes, node_id=node_id, metrics=metrics, audience=audience)
    async with trio.open_nursery() as nursery:
        await nursery.start(replies.serve)
        await nursery.start(transfer.serve)
        await nursery.start(push.serve)
        yield SendPath(send, transfer, push, replies, sends, pushes)
        await transfer.drain()
        await push.drain()
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def open_store_and_bus(path: Path) -> AsyncIterator[tuple[SqliteStore, MemoryBus]]:
    """An embedded store at ``path`` and a memory bus, both open; closed on exit."""
    store = SqliteStore(path)
    await store.open()
    bus = MemoryBus()
    await bus.open()
    try:
        yield store, bus
    finally:
        await bus.aclose()
        await store.aclose()
