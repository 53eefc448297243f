"""After-callbacks delivered at least once, through a durable queue (openim.hook_queue.HookQueue: the Store's
table in the embedded mode, a Redis stream in a cluster).

``accept`` (what ``Webhooks.after`` calls) only appends to a list in memory and returns: no I/O, no task.
One task of this process, the pump, does every queue operation in turn:

1. write: everything accepted since its last write (encoded to the JSON text that will be posted), and
   the workers' outcomes (delivered, retry later, dead) -- one transaction or one pipeline for all of it
   (group commit: under load, a flush carries many callbacks);
2. take: the due entries (oldest first) for the free workers, leased to this process;
3. wait: for something accepted, a worker done, the next retry due, or ``POLL_S`` (entries queued by other
   processes, or whose taker died).

Workers post; a timeout, connection error, HTTP 5xx or 429 counts as a failed attempt: the entry is queued
again, due after an exponential backoff (``after_backoff`` doubling up to ``after_backoff_max``), until it
has had ``after_attempts`` attempts; then it is a dead letter, kept with its last error (``openim webhooks
dead-letters`` shows them, ``openim webhooks redrive`` queues them again).

The window: a callback accepted and not yet written by the pump lives only in this process's memory. The
pump writes as soon as it is free, at most every ``WRITE_INTERVAL_S`` (20 ms), so the window is one write
plus at most that interval (longer only while the store or Redis is slow or down, when ``after_queue_size``
bounds what waits). A process killed in that window loses
those callbacks; one stopped gracefully writes them first. Everything written is delivered at least once:
an entry is removed only after its receiver answered 2xx-4xx, so a crash between the answer and the write
delivers it again.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx
import trio

from openim.bus.port import BusUnavailable
from openim.clock import now_ms
from openim.config import WebhooksConfig
from openim.hook_queue import HookCounts, HookEntry, HookQueue, HookRetry, HookWrites
from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.storage.port import StoreError

log = get_log("webhooks")

POLL_S: Final = 2.0  # idle: look for entries of other processes (cluster) or of a taker that died
COUNTS_EVERY_S: Final = 5.0  # how often the queued / dead figures are read
WRITE_RETRY_S: Final = 1.0  # after a failed write or take
DRAIN_TIMEOUT_S: Final = 3.0  # a graceful stop's last write
WRITE_TIMEOUT_S: Final = 10.0  # one write of the queue, at most
TAKEN_PER_WORKER: Final = 16  # entries a process holds (taken, leased) per worker
# Under a steady stream of callbacks, the pump writes at most this often (the callbacks of the interval
# share one write): bounds the queue's transactions, which in the embedded mode share SQLite's writer with
# the send path, to about fifty rounds a second (measured: ~1.2 ms of CPU per round of write, take and
# settle on SQLite, ~20 µs per callback in it), at the price of up to this much more window.
WRITE_INTERVAL_S: Final = 0.02

# (hook, JSON text, operation id) -> the receiver's response
Post = Callable[[str, bytes, str], Awaitable[httpx.Response]]


def backoff_s(cfg: WebhooksConfig, attempts_made: int) -> float:
    """How long an entry that failed ``attempts_made`` times waits before its next attempt."""
    delay = min(cfg.after_backoff * math.pow(2, attempts_made - 1), cfg.after_backoff_max)
    return delay * random.uniform(0.8, 1.0)  # spread the retries of many callbacks a little


def after_failure(cfg: WebhooksConfig, entry: HookEntry, error: str, now: int) -> HookRetry | HookEntry:
    """What becomes of ``entry`` after a failed attempt: a retry (due later) or, when this was its last
    attempt, itself as a dead letter (attempts and error counted either way)."""
    failed = entry.failed(error)
    if failed.attempts >= cfg.after_attempts:
        return failed
    return HookRetry(failed, now + math.ceil(backoff_s(cfg, failed.attempts) * 1000))


def retryable(status: int) -> bool:
    return status >= 500 or status == 429


_PROCESS_TAG: Final = secrets.token_hex(4)  # random per process: ids of two processes never collide
_sequence = itertools.count()


def new_entry_id() -> str:
    """Time-ordered and unique across processes and restarts (the Store's key; Redis makes its own);
    no system call beyond the clock."""
    return f"{time.time_ns():020d}-{_PROCESS_TAG}-{next(_sequence):x}"


@dataclass(slots=True)
class _Accepted:
    entry_id: str
    hook: str
    body: Mapping[str, Any]
    operation_id: str
    created_at: int

    def encoded(self) -> HookEntry:
        text = json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))
        return HookEntry(self.entry_id, self.hook, self.operation_id, text, 0, "", self.created_at)


class AfterDelivery:
    """The durable after-callback queue of one process: accept, the pump and the workers."""

    def __init__(
        self, cfg: WebhooksConfig, queue: HookQueue, *, consumer: str, post: Post, metrics: Metrics | None = None
    ) -> None:
        self._cfg = cfg
        self._queue = queue
        self._consumer = consumer
        self._post = post
        self._metrics = metrics
        self._accepted: list[_Accepted] = []  # not written yet: the window (module docstring)
        self._outcomes = HookWrites()  # the workers' results, for the next write
        # Entries taken and not settled, at most: enough per take that one round of the pump (a write and
        # a take) keeps the workers busy while the store is shared with a loaded send path.
        self._capacity = cfg.after_workers * TAKEN_PER_WORKER
        self._in_flight = 0
        self._wake = trio.Event()
        self._retry_at: list[float] = []  # trio times at which a retry of ours falls due (a heap)
        # Long enough for the last of a take to have its attempt (each worker one timeout per entry at most).
        self._lease_ms = math.ceil((cfg.timeout * (TAKEN_PER_WORKER + 1) + 30.0) * 1000)
        self._stopping = False
        self._counts_due = False  # read the counts at the next turn of the pump, not in COUNTS_EVERY_S
        self._scope = trio.CancelScope()
        self.counts = HookCounts(queued=0, dead=0)  # as last read from the queue
        self.delivered = 0
        self.dropped = 0  # refused by after() (buffer or queue full)
        self.dead = 0  # made dead letters by this process

    # -- accept (synchronous, no I/O) -------------------------------------------------------------------
    def accept(self, hook: str, body: Mapping[str, Any], operation_id: str) -> None:
        if len(self._accepted) >= self._cfg.after_queue_size:
            self._drop(hook, operation_id, "not written yet: the store or Redis is slow or down")
            return
        if self.counts.queued + len(self._accepted) >= self._cfg.after_queue_limit:
            self._drop(hook, operation_id, "the durable queue is full (after_queue_limit)")
            return
        self._accepted.append(_Accepted(new_entry_id(), hook, body, operation_id, now_ms()))
        self._wake.set()

    def _drop(self, hook: str, operation_id: str, reason: str) -> None:
        self.dropped += 1
        if self._metrics is not None:
            self._metrics.webhooks_dropped.inc()
        log.error("webhook.dropped", hook=hook, operation_id=operation_id, reason=reason)

    def poke(self) -> None:
        """Look at the queue now (entries were requeued from outside: a re-drive)."""
        self._counts_due = True
        self._wake.set()

    # -- the module -------------------------------------------------------------------------------------
    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        # What our previous incarnation had taken (it died while sending) is ours to send again, now.
        await self._queue.hook_release(self._consumer)
        await self._refresh_counts()
        send, recv = trio.open_memory_channel[HookEntry](self._capacity)
        with self._scope:
            async with trio.open_nursery() as nursery:
                for _ in range(self._cfg.after_workers):
                    nursery.start_soon(self._worker, recv)
                nursery.start_soon(self._pump, send)
                task_status.started()

    async def drain(self) -> None:
        """Stop taking and sending; write what was accepted and what the workers settled. What is queued
        stays queued for the next start (or for the other processes of a cluster)."""
        self._stopping = True
        self._scope.cancel()
        # Shielded from the shutdown's cancellation, bounded by its own deadline.
        with trio.CancelScope(shield=True, deadline=trio.current_time() + DRAIN_TIMEOUT_S) as scope:
            while self._accepted or self._outcomes:
                if not await self._write():
                    await trio.sleep(0.1)
            await self._queue.hook_release(self._consumer)
        if scope.cancelled_caught or self._accepted:
            log.error("webhook.unwritten", callbacks=len(self._accepted), reason="stopped before the write")

    async def flushed(self) -> None:
        """Wait until nothing is queued any more (every callback delivered or dead); for tests."""
        while True:
            if not self._accepted and not self._outcomes and not self._in_flight:
                await self._refresh_counts()
                if not self.counts.queued and not self._accepted:
                    return
            await trio.sleep(0.02)

    # -- the pump ---------------------------------------------------------------------------------------
    async def _pump(self, send: trio.MemorySendChannel[HookEntry]) -> None:
        next_counts = trio.current_time() + COUNTS_EVERY_S
        last_write = -math.inf
        while True:
            self._wake = trio.Event()
            if self._accepted or self._outcomes:
                await trio.sleep_until(last_write + WRITE_INTERVAL_S)  # at once, unless one just went out
                last_write = trio.current_time()
            healthy = await self._write()
            if healthy and (self._counts_due or trio.current_time() >= next_counts):
                self._counts_due = False
                next_counts = trio.current_time() + COUNTS_EVERY_S
                healthy = await self._refresh_counts()
            room = self._capacity - self._in_flight
            if healthy and room > 0:
                taken = await self._take(room)
                if taken is None:
                    healthy = False
                else:
                    for entry in taken:
                        self._in_flight += 1
                        send.send_nowait(entry)  # never blocks: the channel holds the capacity
            now = trio.current_time()
            while self._retry_at and self._retry_at[0] <= now:
                heapq.heappop(self._retry_at)
            wait = POLL_S if healthy else WRITE_RETRY_S
            if self._retry_at:
                wait = min(wait, self._retry_at[0] - now)
            with trio.move_on_after(max(wait, 0.0)):
                await self._wake.wait()

    async def _write(self) -> bool:
        """Write what was accepted and settled since the last write; False (kept for the next) on failure."""
        if not self._accepted and not self._outcomes:
            return True
        accepted, self._accepted = self._accepted, []
        writes, self._outcomes = self._outcomes, HookWrites()
        writes.new = [a.encoded() for a in accepted]
        try:
            # Shielded: a stop that cancels the pump must not lose what it had taken out of the buffers.
            with trio.CancelScope(shield=True, deadline=trio.current_time() + WRITE_TIMEOUT_S) as shield:
                await self._queue.hook_write(writes, now_ms=now_ms())
            if shield.cancelled_caught:
                raise StoreError(f"no answer within {WRITE_TIMEOUT_S:.0f} s")
        except (StoreError, BusUnavailable) as exc:
            log.error("webhook.queue_write_failed", callbacks=len(accepted), error=f"{type(exc).__name__}: {exc}")
            self._accepted[:0] = accepted
            for name in ("delivered", "retries", "dead"):
                getattr(self._outcomes, name)[:0] = getattr(writes, name)
            return False
        self.counts = HookCounts(
            queued=max(self.counts.queued + len(writes.new) - len(writes.delivered) - len(writes.dead), 0),
            dead=self.counts.dead + len(writes.dead),
        )
        self._publish_counts()
        return True

    async def _take(self, room: int) -> list[HookEntry] | None:
        if self._stopping:
            return []
        try:
            return await self._queue.hook_take(
                self._consumer, max_items=room, now_ms=now_ms(), lease_ms=self._lease_ms
            )
        except (StoreError, BusUnavailable) as exc:
            log.error("webhook.queue_take_failed", error=f"{type(exc).__name__}: {exc}")
            return None

    async def _refresh_counts(self) -> bool:
        try:
            self.counts = await self._queue.hook_counts()
        except (StoreError, BusUnavailable) as exc:
            log.error("webhook.queue_count_failed", error=f"{type(exc).__name__}: {exc}")
            return False
        self._publish_counts()
        return True

    def _publish_counts(self) -> None:
        if self._metrics is not None:
            self._metrics.webhooks_queued.set(self.counts.queued)
            self._metrics.webhooks_dead.set(self.counts.dead)

    # -- the workers ------------------------------------------------------------------------------------
    async def _worker(self, recv: trio.MemoryReceiveChannel[HookEntry]) -> None:
        async for entry in recv:
            try:
                self._settle(entry, await self._attempt(entry))
            finally:
                self._in_flight -= 1
                self._wake.set()

    async def _attempt(self, entry: HookEntry) -> str:
        """'' when delivered, else why the attempt failed."""
        try:
            with trio.fail_after(self._cfg.timeout):
                resp = await self._post(entry.hook, entry.body.encode(), entry.operation_id)
        except trio.TooSlowError:
            return "timed out"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        return f"HTTP {resp.status_code}" if retryable(resp.status_code) else ""

    def _settle(self, entry: HookEntry, error: str) -> None:
        if not error:
            self._outcomes.delivered.append(entry)
            self.delivered += 1
            if self._metrics is not None:
                self._metrics.webhooks_delivered.inc()
            return
        if self._metrics is not None:
            self._metrics.webhooks_failed_attempts.inc()
        step = after_failure(self._cfg, entry, error, now_ms())
        if isinstance(step, HookRetry):
            self._outcomes.retries.append(step)
            heapq.heappush(self._retry_at, trio.current_time() + (step.due_at - now_ms()) / 1000 + 0.005)
            log.info("webhook.retry", hook=entry.hook, attempts=step.entry.attempts, error=error,
                     operation_id=entry.operation_id)
            return
        self._outcomes.dead.append(step)
        self.dead += 1
        log.warning("webhook.dead_letter", hook=entry.hook, attempts=step.attempts, error=error,
                    operation_id=entry.operation_id, entry_id=entry.entry_id)
