"""One epoll of our own for the reading side of every connection, read from one task.

A connection task that awaits its socket costs, for every read, trio's registration of the socket
(an ``epoll_ctl``), a task switch and the resumption of the coroutines down to the read, whether the
read brings one message or fifty. Here a connection's socket is registered once, level-triggered, in
an epoll that only this module polls; one task waits for that epoll to become readable (one
registration per wake-up, for any number of ready connections) and calls each ready connection's
:meth:`Readable.on_readable`, which reads without waiting and handles what it can at once.

A connection whose work needs to wait (a request that reads storage, a send whose checks miss the
cache) hands it to its own task, which keeps the connection's order (openim.gateway.session).

Writing is not done here: frames leave through the connections' buffers (openim.gateway.session.Outbox).
"""

from __future__ import annotations

import contextlib
import select
from typing import Final, Protocol

import trio

from openim.ops.logging import get_log

__all__ = ["Reactor", "ReadReactor", "Readable"]

log = get_log("gateway")

MAX_EVENTS: Final = 1024  # ready connections handled per wake-up before the other tasks run


class Readable(Protocol):
    def on_readable(self) -> None:
        """The socket has bytes (or end of file, or an error): read once without waiting, handle what
        can be handled now. Must not raise: a connection's failure ends that connection only."""


class Reactor(Protocol):
    """What a connection needs of the reactor (tests pass their own)."""

    def add(self, fd: int, reader: Readable) -> None: ...

    def discard(self, fd: int, reader: Readable) -> None: ...


class ReadReactor:
    """Connections registered by descriptor; :meth:`run` serves them until cancelled."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._readers: dict[int, Readable] = {}

    def __len__(self) -> int:
        return len(self._readers)

    def add(self, fd: int, reader: Readable) -> None:
        """Call ``reader.on_readable()`` whenever ``fd`` is readable, until :meth:`discard`."""
        self._epoll.register(fd, select.EPOLLIN)
        self._readers[fd] = reader

    def discard(self, fd: int, reader: Readable) -> None:
        """Stop watching ``fd`` for ``reader``; before the socket is closed (a closed descriptor's
        number may be reused by the next connection, which this leaves alone)."""
        if self._readers.get(fd) is reader:
            del self._readers[fd]
            # OSError: the socket is closed already (the kernel dropped it from the epoll); ValueError:
            # the reactor stopped first (shutdown) and closed its epoll.
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)

    async def run(self) -> None:
        epoll, readers = self._epoll, self._readers
        try:
            while True:
                await trio.lowlevel.wait_readable(epoll)
                for fd, _ in epoll.poll(0, MAX_EVENTS):
                    reader = readers.get(fd)
                    if reader is None:
                        continue
                    try:
                        reader.on_readable()
                    except Exception:  # a connection's bug must not stop every other connection's reads
                        log.error("reactor.reader_failed", fd=fd, exc_info=True)
                        self.discard(fd, reader)
        finally:
            trio.lowlevel.notify_closing(epoll)
            epoll.close()
