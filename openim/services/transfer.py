"""The transfer stage: allocate seqs and persist messages in batches, then ack and hand over to push.

One task per owned partition takes everything queued (up to messaging.batch_max) and commits it in ONE
store transaction: a lone message is committed at once, a busy partition batches naturally (the queue
fills while the previous commit runs). Only after the commit are the senders answered (invariant 1) and
the messages queued for fan-out. If the store is down the senders get a clear error and the items are
dropped from the queue: the client retries with the same clientMsgID, and dedupe makes that safe.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

import trio

from openim.bus.port import Bus, BusUnavailable, QueueItem
from openim.config import MessagingConfig
from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.services.internal import PushItem, SendReply, TransferItem
from openim.services.partitions import LEASE_TTL_S, PartitionConsumers
from openim.services.send import PUSH_TOPIC, TRANSFER_TOPIC, partition_of
from openim.storage.port import Store, StoreError
from openim.storage.records import NewMessage
from openim.wire.errors import ErrCode
from openim.wire.msgdata import with_seq
from openim.wire.pb import sdkws_pb2

log = get_log("transfer")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class TransferStage:
    name = "transfer"

    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        node_id: str,
        messaging: MessagingConfig,
        metrics: Metrics,
        lease_ttl_s: float = LEASE_TTL_S,
    ) -> None:
        self._store = store
        self._bus = bus
        self._cfg = messaging
        self._metrics = metrics
        self._consumers = PartitionConsumers(
            bus=bus, topic=TRANSFER_TOPIC, partitions=messaging.transfer_partitions, owner=node_id,
            max_items=messaging.batch_max, handle=self._handle, lease_ttl_s=lease_ttl_s,
        )

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self._consumers.run(task_status=task_status)

    async def drain(self) -> None:
        self._consumers.stop()

    async def _handle(self, partition: int, items: Sequence[QueueItem]) -> None:
        decoded: list[TransferItem] = []
        batch: list[NewMessage] = []
        for item in items:
            t = TransferItem.decode(item.payload)
            msg = sdkws_pb2.MsgData.FromString(t.msg)
            decoded.append(t)
            batch.append(
                NewMessage(
                    conversation_id=t.conversation_id, send_id=msg.sendID, client_msg_id=msg.clientMsgID,
                    server_msg_id=msg.serverMsgID, send_time=msg.sendTime, session_type=msg.sessionType,
                    content_type=msg.contentType, payload=t.msg, recv_id=msg.recvID, group_id=msg.groupID,
                    owners=t.owners, conversation_type=t.conversation_type, reader_user_id=t.reader_user_id,
                )
            )
        replies: dict[str, list[bytes]] = defaultdict(list)
        pushes: dict[int, list[bytes]] = defaultdict(list)
        try:
            results = await self._store.persist_messages(batch, _now_ms())
        except StoreError as exc:
            cause = exc.__cause__ or exc
            log.error(
                "persist.failed", partition=partition, count=len(batch), error=f"{type(cause).__name__}: {cause}"
            )
            for t in decoded:
                replies[t.origin_node].append(
                    SendReply(t.request_id, err_code=int(ErrCode.DATABASE),
                              err_detail="storage unavailable, message not sent; retry").encode()
                )
        else:
            self._metrics.batch_size.observe(len(batch))
            for t, res in zip(decoded, results, strict=True):
                replies[t.origin_node].append(
                    SendReply(t.request_id, res.seq, res.server_msg_id, res.send_time, res.duplicate).encode()
                )
                if res.duplicate:
                    continue  # pushed when first stored; a lost push is recovered by sync
                exclude = f"{t.origin_node}/{t.origin_conn}" if t.origin_conn else ""
                push = PushItem(t.operation_id, t.conversation_id, with_seq(t.msg, res.seq), exclude, t.recipients)
                pushes[partition_of(t.conversation_id, self._cfg.transfer_partitions)].append(push.encode())
        await self._send_replies(replies)
        for push_partition, payloads in pushes.items():
            await self._retrying(self._bus.queue_put, PUSH_TOPIC, push_partition, payloads)
        await self._retrying(self._bus.queue_ack, TRANSFER_TOPIC, partition, [i.item_id for i in items])

    async def _send_replies(self, replies: dict[str, list[bytes]]) -> None:
        for node, payloads in replies.items():
            try:
                await self._bus.publish(node, payloads)
            except BusUnavailable as exc:
                # The senders time out and retry; their retries dedupe to these stored messages.
                log.warning("reply.unavailable", node=node, count=len(payloads), error=str(exc.__cause__ or exc))

    async def _retrying(self, fn: Callable[..., Awaitable[None]], *args: object) -> None:
        """Bus writes after a commit must not be lost to a short outage: retry a few times."""
        op = getattr(fn, "__name__", "?")
        for attempt in range(5):
            try:
                await fn(*args)
                return
            except BusUnavailable as exc:
                log.warning("bus.retry", op=op, attempt=attempt, error=str(exc.__cause__ or exc))
                await trio.sleep(0.2 * (attempt + 1))
        log.error("bus.gave_up", op=op)
