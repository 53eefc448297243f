"""A small native trio Redis client: TCP connections speaking RESP2 or RESP3, replies parsed by hiredis.

Why our own: measured on this project's hardware (docs/architecture.md, "Bus"), a trio socket feeding
hiredis.Reader pipelines several times faster than redis.asyncio behind a thread bridge or sync redis-py in
``trio.to_thread``, because there is no second event loop and no thread hop per call. The client is
deliberately small: no command wrappers, no cluster routing, no retry policy. The caller decides what a
failure means (the bus adapter maps it to BusUnavailable and opens a new connection next time).

Exceptions (the trio split: whose fault was it?):

    RedisError          the server answered with an error reply; the connection is still good
    ConnectionBroken    the world broke the connection (reset, EOF, timeout, protocol garbage); the cause is
                        in ``__cause__`` and the connection must be dropped

A connection is used by one task at a time. Anything that interrupts a command half way (an error, a
cancellation) leaves unread replies in flight, so the connection marks itself unusable and the pool drops it
instead of handing a desynchronised stream to the next caller.
"""

from __future__ import annotations

import select
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import unquote, urlsplit

import hiredis
import trio

Arg = bytes | str | int | float
Command = Sequence[Arg]

_RECV_SIZE: Final = 256 * 1024
_MISSING: Final = object()  # hiredis' "need more bytes" marker; None is a legal reply (nil)
# What a socket raises when the peer or the network failed it (or our own close() raced a reader).
_IO_ERRORS: Final = (OSError, trio.BrokenResourceError, trio.ClosedResourceError)


class RedisError(Exception):
    """An error reply from the server (``ERR ...``, ``WRONGTYPE ...``, ``NOSCRIPT ...``).

    The connection stays in sync after one, so it is returned to the pool.
    """

    @property
    def code(self) -> str:
        """The first word of the message, Redis' error class (``ERR``, ``NOGROUP``, ``BUSYGROUP``...)."""
        text = str(self)
        return text.split(" ", 1)[0] if text else ""


class ConnectionBroken(Exception):
    """The connection failed or was closed by the peer; the cause is in ``__cause__``."""


@dataclass(frozen=True, slots=True)
class RedisAddress:
    """Where and as whom to connect (parsed from ``redis://[user:password@]host[:port][/db]``)."""

    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        parts = urlsplit(url)
        if parts.scheme != "redis":
            # TLS (rediss://) and unix sockets are not wired yet; refuse loudly rather than connect in clear.
            raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}: expected redis://")
        db_text = parts.path.lstrip("/")
        if db_text and not db_text.isdigit():
            raise ValueError(f"Redis URL database must be a number, got {db_text!r}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(db_text) if db_text else 0,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def pack(commands: Sequence[Command]) -> bytes:
    """One buffer holding every command of a pipeline, so the whole batch leaves in one write."""
    # hiredis' stub types the argument as a 1-tuple; it takes a tuple of any length.
    return b"".join([hiredis.pack_command(tuple(c)) for c in commands])  # type: ignore[arg-type]


def _keepalive(stream: trio.SocketStream) -> None:
    """Probe idle connections so a peer that vanished without a FIN/RST is noticed in about 30 s.

    Matters for pub/sub: a subscriber only reads, and would otherwise wait forever on a dead socket.
    """
    sock = stream.socket
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 15), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class RespConnection:
    """One Redis connection. Create with :meth:`connect`; use from one task at a time."""

    __slots__ = ("_reader", "_stream", "_usable", "client_id", "name", "protocol")

    def __init__(self, stream: trio.SocketStream, protocol: Literal[2, 3], name: str | None) -> None:
        self._stream = stream
        self._reader = hiredis.Reader(replyError=RedisError, notEnoughData=_MISSING)
        self._usable = True
        self.protocol = protocol
        self.name = name
        self.client_id = 0  # CLIENT ID, filled in by connect(); lets tests and operators find us

    @classmethod
    async def connect(
        cls,
        address: RedisAddress,
        *,
        timeout: float = 5.0,
        protocol: Literal[2, 3] = 2,
        name: str | None = None,
    ) -> RespConnection:
        """Open, authenticate, select the database and name the connection, all within ``timeout``."""
        try:
            with trio.fail_after(timeout):
                stream = await trio.open_tcp_stream(address.host, address.port)
        except (OSError, trio.TooSlowError) as exc:
            raise ConnectionBroken(f"cannot connect to Redis at {address.host}:{address.port}") from exc
        _keepalive(stream)
        conn = cls(stream, protocol, name)
        try:
            with trio.fail_after(timeout):
                await conn._handshake(address)
        except trio.TooSlowError as exc:
            conn.close()
            raise ConnectionBroken(f"Redis at {address.host}:{address.port} did not answer in time") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    async def _handshake(self, address: RedisAddress) -> None:
        commands: list[Command] = []
        if self.protocol == 3:
            hello: list[Arg] = ["HELLO", 3]
            if address.password is not None:
                hello += ["AUTH", address.username or "default", address.password]
            commands.append(hello)
        elif address.password is not None:
            auth: list[Arg] = ["AUTH", address.password]
            if address.username:
                auth.insert(1, address.username)
            commands.append(auth)
        if address.db:
            commands.append(["SELECT", address.db])
        if self.name:
            commands.append(["CLIENT", "SETNAME", self.name])
        commands.append(["CLIENT", "ID"])
        replies = await self.pipeline(commands)
        for reply in replies:
            if isinstance(reply, RedisError):
                raise reply
        self.client_id = int(replies[-1])

    # -- state ------------------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """False once anything went wrong; the pool then drops the connection."""
        return self._usable

    def has_unexpected_input(self) -> bool:
        """True when an idle connection is readable: the server closed it (CLIENT KILL, timeout, restart).

        A non-blocking select() costs about a microsecond and saves sending a command into a dead socket,
        which matters for commands that must not be retried blindly (INCR, XADD).
        """
        if not self._usable:
            return True
        try:
            readable, _, _ = select.select([self._stream.socket.fileno()], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable) or self._reader.has_data()

    def close(self) -> None:
        """Close now, without waiting (safe inside ``finally`` blocks and cancelled scopes)."""
        self._usable = False
        self._stream.socket.close()

    # -- I/O --------------------------------------------------------------------------------------------

    async def send(self, commands: Sequence[Command]) -> None:
        """Write commands without reading replies (pub/sub, or the first half of a pipeline)."""
        if not self._usable:
            raise ConnectionBroken("connection already failed")
        try:
            await self._stream.send_all(pack(commands))
        except BaseException as exc:
            self._usable = False
            if isinstance(exc, _IO_ERRORS):
                raise ConnectionBroken("send to Redis failed") from exc
            raise

    async def read_reply(self) -> Any:
        """The next reply or push message; error replies are returned as RedisError instances, not raised.

        Returning errors lets a pipeline report the outcome of every command (one bad command does not hide
        what the others did).
        """
        reader = self._reader
        try:
            reply = reader.gets()
            while reply is _MISSING:
                data = await self._stream.receive_some(_RECV_SIZE)
                if not data:
                    raise ConnectionBroken("Redis closed the connection")
                reader.feed(data)
                reply = reader.gets()
        except ConnectionBroken:
            self._usable = False
            raise
        except BaseException as exc:
            self._usable = False
            if isinstance(exc, (*_IO_ERRORS, hiredis.ProtocolError)):
                raise ConnectionBroken("read from Redis failed") from exc
            raise
        return reply

    async def pipeline(self, commands: Sequence[Command]) -> list[Any]:
        """Send every command in one write, then read one reply per command (errors in place)."""
        await self.send(commands)
        read = self.read_reply
        return [await read() for _ in range(len(commands))]

    async def execute(self, *args: Arg) -> Any:
        """One command, one round trip; an error reply is raised."""
        await self.send((args,))
        reply = await self.read_reply()
        if isinstance(reply, RedisError):
            raise reply
        return reply


class RespPool:
    """A small pool of command connections to one server.

    Connections are made on demand up to ``max_size`` (callers beyond that wait) and kept while idle. A
    connection that failed or was interrupted is dropped, never reused; an idle one the server closed is
    noticed at checkout and replaced, so a killed connection costs no failed call.
    """

    def __init__(
        self,
        address: RedisAddress,
        *,
        max_size: int = 32,
        connect_timeout: float = 5.0,
        protocol: Literal[2, 3] = 2,
        name: str | None = None,
    ) -> None:
        self.address = address
        self._limit = trio.Semaphore(max_size)
        self._idle: list[RespConnection] = []
        self._connect_timeout = connect_timeout
        self._protocol: Literal[2, 3] = protocol
        self._name = name
        self._closed = False

    async def new_connection(self, name: str | None = None) -> RespConnection:
        """A fresh connection outside the pool (pub/sub, or anything that holds one for long)."""
        return await RespConnection.connect(
            self.address, timeout=self._connect_timeout, protocol=self._protocol, name=name or self._name
        )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[RespConnection]:
        """Borrow a connection for one exchange; it goes back to the pool only if still in sync."""
        if self._closed:
            raise ConnectionBroken("pool closed") from trio.ClosedResourceError()
        async with self._limit:
            conn: RespConnection | None = None
            while self._idle:
                candidate = self._idle.pop()
                if candidate.has_unexpected_input():
                    candidate.close()
                    continue
                conn = candidate
                break
            if conn is None:
                conn = await self.new_connection()
            try:
                yield conn
            finally:
                if conn.usable and not self._closed:
                    self._idle.append(conn)
                else:
                    conn.close()

    def close(self) -> None:
        self._closed = True
        for conn in self._idle:
            conn.close()
        self._idle.clear()
