"""The gateway's reactor on real sockets: readiness from its own epoll, read from one task."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest
import trio
import trio.testing

from openim.gateway.reactor import ReadReactor

pytestmark = pytest.mark.trio


class Reader:
    """Reads what is there, as a session does (one recv per call)."""

    def __init__(self, sock: socket.socket, *, fail: bool = False) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.fail = fail
        self.got = b""
        self.calls = 0

    def on_readable(self) -> None:
        self.calls += 1
        if self.fail:
            raise RuntimeError("a bug in one connection")
        self.got += self.sock.recv(65536)


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made = [socket.socketpair() for _ in range(3)]
    yield made
    for a, b in made:
        a.close()
        b.close()


@pytest.fixture
async def reactor() -> AsyncIterator[ReadReactor]:
    r = ReadReactor()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(r.run)
        yield r
        nursery.cancel_scope.cancel()


async def until(predicate: object) -> None:
    with trio.fail_after(5):
        while not predicate():  # type: ignore[operator]
            await trio.sleep(0.005)


async def test_every_ready_connection_is_read_and_bytes_left_unread_wake_it_again(
    reactor: ReadReactor, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    readers = [Reader(a) for a, _ in pairs]
    for (a, _), reader in zip(pairs, readers, strict=True):
        reactor.add(a.fileno(), reader)
    assert len(reactor) == 3
    for i, (_, b) in enumerate(pairs):
        b.send(f"hello {i}".encode())
    await until(lambda: all(r.got for r in readers))
    assert [r.got for r in readers] == [b"hello 0", b"hello 1", b"hello 2"]
    # level-triggered: a reader that reads only part of what is there is called again for the rest
    big = b"x" * 200_000
    pairs[0][1].sendall(big)
    await until(lambda: len(readers[0].got) == len(b"hello 0") + len(big))
    assert readers[0].calls >= 3 and readers[1].calls == 1


async def test_a_discarded_connection_is_not_read_and_a_stale_discard_leaves_the_new_owner_alone(
    reactor: ReadReactor, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    (a, b), (c, d) = pairs[0], pairs[1]
    first, second = Reader(a), Reader(c)
    reactor.add(a.fileno(), first)
    reactor.add(c.fileno(), second)
    reactor.discard(a.fileno(), first)
    b.send(b"nobody listens")
    d.send(b"ping")
    await until(lambda: second.got == b"ping")
    await trio.testing.wait_all_tasks_blocked()
    assert first.calls == 0
    # a descriptor number reused by another connection: the old owner's discard must not remove it
    reactor.discard(c.fileno(), first)
    d.send(b"again")
    await until(lambda: second.got == b"pingagain")
    assert len(reactor) == 1


async def test_a_reader_that_raises_is_dropped_and_the_others_go_on(
    reactor: ReadReactor, pairs: list[tuple[socket.socket, socket.socket]], caplog: pytest.LogCaptureFixture
) -> None:
    (a, b), (c, d) = pairs[0], pairs[1]
    broken, healthy = Reader(a, fail=True), Reader(c)
    reactor.add(a.fileno(), broken)
    reactor.add(c.fileno(), healthy)
    b.send(b"boom")
    d.send(b"fine")
    await until(lambda: healthy.got == b"fine" and broken.calls == 1)
    assert len(reactor) == 1  # the broken one is no longer watched, though its bytes are still unread
    assert "reactor.reader_failed" in caplog.text
    d.send(b" still")
    await until(lambda: healthy.got == b"fine still")
    assert broken.calls == 1
