"""The gateway's two tasks that act on every session: the Outbox (one write per dirty connection per
batch) and the Pinger (protocol pings of every session that wants them, from one heap).

They know a session only by what they call on it (:class:`Flushable`, :class:`Pingable`), so that
openim.gateway.session can hand itself to them without the two modules importing each other.
"""

from __future__ import annotations

import heapq
import itertools
import weakref
from typing import Protocol

import trio

__all__ = ["Flushable", "Outbox", "Pingable", "Pinger"]


class Flushable(Protocol):
    def flush(self) -> None:
        """Hand the frames queued since the last flush to the kernel."""


class Pingable(Protocol):
    @property
    def ended(self) -> bool: ...

    @property
    def ping_interval(self) -> float: ...

    async def ping_once(self) -> None:
        """Send a protocol ping and wait for its pong (ending the session when none comes)."""


class Outbox:
    """The connections with frames queued since the last flush; a flush writes each of them once.

    Whoever queues a frame marks its session; the first mark after a flush wakes the flusher task, which
    runs after the current task yields, i.e. once the batch being worked on has queued everything. So a
    batch of N messages to a connection costs one ``send``, not N.
    """

    def __init__(self) -> None:
        self._dirty: list[Flushable] = []
        self._wake = trio.lowlevel.ParkingLot()

    def mark(self, session: Flushable) -> None:
        if not self._dirty:
            self._wake.unpark_all()
        self._dirty.append(session)

    def flush(self) -> None:
        dirty, self._dirty = self._dirty, []
        for session in dirty:
            session.flush()

    async def run(self) -> None:
        while True:
            if not self._dirty:
                await self._wake.park()
            self.flush()


class Pinger:
    """Protocol pings (``SessionLimits.ping_interval``) of every session that wants them, from one task.

    A task per session that sleeps between pings costs ~20 objects (task, coroutines, cancel scopes)
    for the connection's whole life; here a session is one heap entry (a weak reference: an ended
    session is not kept alive) and a short task exists only while a ping waits for its pong.
    """

    def __init__(self) -> None:
        self._due: list[tuple[float, int, weakref.ref[Pingable]]] = []
        self._order = itertools.count()
        self._wake = trio.lowlevel.ParkingLot()

    def __len__(self) -> int:
        return len(self._due)

    def add(self, session: Pingable) -> None:
        """Ping ``session`` every ``ping_interval`` seconds from now until it ends."""
        due = trio.current_time() + session.ping_interval
        heapq.heappush(self._due, (due, next(self._order), weakref.ref(session)))
        if self._due[0][0] == due:
            self._wake.unpark_all()  # an earlier first deadline than the one the loop sleeps to

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            due = self._due
            while True:
                if not due:
                    await self._wake.park()
                    continue
                now = trio.current_time()
                if due[0][0] > now:
                    with trio.move_on_at(due[0][0]):
                        await self._wake.park()
                    continue
                while due and due[0][0] <= now:
                    _, order, ref = heapq.heappop(due)
                    session = ref()
                    if session is None or session.ended:
                        continue
                    nursery.start_soon(session.ping_once)
                    heapq.heappush(due, (now + session.ping_interval, order, ref))
