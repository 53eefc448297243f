"""The transfer stage: seqs and the durable commit, one store transaction per batch.

One task per owned partition takes everything queued (up to ``messaging.batch_max``) and hands it to
``Store.persist_messages`` as ONE transaction: dedupe on (sendID, clientMsgID), seq = max + 1 per
message of each conversation, the rows, the owners' conversation rows, COMMIT. Only then are the senders
answered (acked means durable) and the stored messages handed to the push stage, each with its 2001
frame to be encoded once for every recipient and the sender's echo. If the store is down the senders
get a clear error (90002) and nothing is pushed: the client retries with the same clientMsgID, which
dedupe makes safe.

Batches overlap by one step: while batch N+1 is committed (the store works in its own thread, or in
PostgreSQL), batch N is answered and pushed by a finishing task. Without this the process idles for the
whole commit (fsync included) once it has read what the clients had in flight. Order holds per partition:
batch N+1 is handed to its finisher only after batch N's finisher is through, so replies and pushes of a
conversation leave in seq order, and at most one batch per partition waits to be finished.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import trio

from openim.bus.port import BusUnavailable
from openim.clock import now_ms
from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.pipeline.handoff import Handoff
from openim.pipeline.jobs import PushJob, SendJob
from openim.pipeline.partitioning import partition_of
from openim.pipeline.replies import Replies
from openim.storage.port import Store, StoreError
from openim.wire.errors import ErrCode
from openim.wire.msgdata import with_seq

__all__ = ["StoredObserver", "TransferStage"]

log = get_log("transfer")

_STORE_DOWN = "storage unavailable, message not sent; retry"


class StoredObserver(Protocol):
    """Told of every committed batch (the conversation callbacks, openim.services.conversation_callbacks):
    takes what it needs and returns at once."""

    def stored(self, jobs: Sequence[SendJob]) -> None: ...


class TransferStage:
    name = "transfer"

    def __init__(
        self,
        *,
        store: Store,
        sends: Handoff[SendJob],
        pushes: Handoff[PushJob],
        replies: Replies,
        node_id: str,
        metrics: Metrics,
        fan_out: Callable[[list[PushJob]], Awaitable[None]] | None = None,
        observer: StoredObserver | None = None,
    ) -> None:
        self._observer = observer  # only when a conversation callback is enabled
        self._fan_out = fan_out  # the push stage of this process, called directly (one process only)
        self._store = store
        self._sends = sends
        self._pushes = pushes
        self._replies = replies
        self._node_id = node_id
        self._metrics = metrics
        self._finishers: trio.Nursery | None = None  # serve()'s: where each batch is answered and pushed
        self._finished: dict[int, trio.Event] = {}  # per partition: its last batch is answered and pushed

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._finishers = nursery
            await self._sends.consume(self.handle, task_status=task_status)
            # Drained: every batch queued before drain() is stored; wait until the last ones are answered.
            for finished in list(self._finished.values()):
                await finished.wait()
            # A module stays until the runtime cancels it (one that returns is a crash).
            await trio.sleep_forever()

    async def drain(self) -> None:
        self._sends.stop()

    async def handle(self, partition: int, jobs: list[SendJob]) -> None:
        """Commit ``jobs``, then have them answered and pushed once the partition's previous batch is
        (by a finishing task when serving, so that the next commit runs meanwhile; inline otherwise)."""
        pushes = await self._persist(jobs)
        previous = self._finished.get(partition)
        if previous is not None:
            await previous.wait()
        finished = self._finished[partition] = trio.Event()
        if self._finishers is None:
            await self._finish(jobs, pushes, finished)
        else:
            self._finishers.start_soon(self._finish, jobs, pushes, finished)

    async def _persist(self, jobs: list[SendJob]) -> dict[int, list[PushJob]]:
        """The commit; sets each job's outcome and returns what is to be pushed, by push partition."""
        batch = jobs  # a SendJob has every attribute the store reads of a message (MessageToStore)
        pushes: dict[int, list[PushJob]] = defaultdict(list)
        try:
            results = await self._store.persist_messages(batch, now_ms())
        except StoreError as exc:
            cause = exc.__cause__ or exc
            log.error("persist.failed", count=len(batch), error=f"{type(cause).__name__}: {cause}")
            for j in jobs:
                j.err_code, j.err_detail = int(ErrCode.DATABASE), _STORE_DOWN
        else:
            self._metrics.batch_size.observe(len(batch))
            node = self._node_id
            n_push = self._pushes.partitions
            for j, res in zip(jobs, results, strict=True):
                j.seq, j.server_msg_id, j.send_time = res.seq, res.server_msg_id, res.send_time
                j.duplicate = res.duplicate
                if res.duplicate:
                    continue  # pushed when first stored; a lost push is recovered by sync
                origin = j.origin_node or node
                push = PushJob(
                    j.conversation_id, with_seq(j.payload, res.seq), j.operation_id,
                    exclude_conn=f"{origin}/{j.origin_conn}" if j.origin_conn else "",
                    recipients=j.recipients, group_id=j.group_id,
                )
                j.push = push
                pushes[partition_of(j.conversation_id, n_push)].append(push)
            self._metrics.messages_sent.inc(sum(len(p) for p in pushes.values()))
            if self._observer is not None:
                self._observer.stored(jobs)
        return pushes

    async def _finish(self, jobs: list[SendJob], pushes: dict[int, list[PushJob]], finished: trio.Event) -> None:
        """Answer the senders of a stored batch, then push it; shielded: a batch in hand is finished."""
        try:
            with trio.CancelScope(shield=True):
                await self._replies.complete(jobs)
                await self._push(pushes)
        finally:
            finished.set()

    async def _push(self, pushes: dict[int, list[PushJob]]) -> None:
        if self._fan_out is not None:
            for items in pushes.values():
                try:
                    await self._fan_out(items)
                except Exception:  # push is best effort (sync recovers); the stored batch is answered already
                    log.error("push.failed", count=len(items), exc_info=True)
            return
        for push_partition, items in pushes.items():
            try:
                await self._pushes.put(push_partition, items)
            except BusUnavailable as exc:  # push is best effort: the recipients sync what they missed
                log.warning("push.queue_unavailable", count=len(items), error=str(exc.__cause__ or exc))
