"""Group commit: concurrent persist_messages calls share one transaction (and so one fsync).

SQLite has one writer and an fsync'd commit costs milliseconds, so committing each transfer partition's
batch separately caps the server at (partitions in flight) x (batch size) / (fsync time). Here the
calls that arrive while a commit is in flight wait, and the next commit takes all of them at once: a
lone call is committed immediately (no added latency when idle), a busy server commits ever larger
groups. Every caller still returns only after the commit that holds its messages (invariant 1).

One caller at a time is the *leader*: it takes everything queued, runs the transaction shielded from
its own cancellation (the others depend on it), hands each waiter its slice of the results, then
promotes the first waiter that arrived meanwhile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import trio

from openim.storage.messages.records import MessageToStore, PersistResult

Persist = Callable[[Sequence[MessageToStore], int], Awaitable[list[PersistResult]]]


class _Waiter:
    __slots__ = ("batch", "error", "finished", "results", "wake")

    def __init__(self, batch: Sequence[MessageToStore]) -> None:
        self.batch = batch
        self.wake = trio.Event()  # set when finished, or when promoted to leader
        self.finished = False
        self.results: list[PersistResult] = []
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, persist: Persist) -> None:
        self._persist = persist
        self._queue: list[_Waiter] = []
        self._leader: _Waiter | None = None

    async def persist(self, batch: Sequence[MessageToStore], now_ms: int) -> list[PersistResult]:
        me = _Waiter(batch)
        self._queue.append(me)
        if self._leader is None:
            self._leader = me
        while self._leader is not me:
            try:
                await me.wake.wait()
            except trio.Cancelled:
                if not me.finished and me in self._queue:
                    self._queue.remove(me)  # not committed: the caller sees a failure and retries
                if self._leader is me:
                    self._promote()
                raise
            if me.finished:
                return self._outcome(me)
            me.wake = trio.Event()
        await self._lead(now_ms)
        return self._outcome(me)

    async def _lead(self, now_ms: int) -> None:
        group, self._queue = self._queue, []
        combined = [m for w in group for m in w.batch]
        try:
            with trio.CancelScope(shield=True):
                results = await self._persist(combined, now_ms)
        except BaseException as exc:  # every waiter of this group shares the failure
            for w in group:
                w.error = exc
        else:
            start = 0
            for w in group:
                w.results = results[start : start + len(w.batch)]
                start += len(w.batch)
        finally:
            for w in group:
                w.finished = True
                w.wake.set()
            self._promote()

    def _promote(self) -> None:
        self._leader = self._queue[0] if self._queue else None
        if self._leader is not None:
            self._leader.wake.set()

    @staticmethod
    def _outcome(w: _Waiter) -> list[PersistResult]:
        if w.error is not None:
            raise w.error
        return w.results
