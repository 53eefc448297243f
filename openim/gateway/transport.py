"""The WebSocket transport: the only gateway module that knows which WebSocket library is in use.

The rest of the gateway sees three small things: an :class:`Upgrade` (an HTTP upgrade request it may
accept or answer with a plain HTTP response), a :class:`WsConnection` (receive/send whole frames,
ping, close) and :class:`TransportClosed`. Two backings: trio-websocket here (the card's library,
selectable with ``gateway.transport: trio-websocket``; one ``send_all`` per frame), and the default in
openim.gateway.transport_wsproto (wsproto for the handshake, then our own frame codec on the raw
socket with one non-blocking write per flush).

Frames are ``bytes`` for binary and ``str`` for text, in both directions: the OpenIM JS protocol puts
requests, replies and pushes in binary frames and only the handshake result and heartbeats in text
frames, so the type alone says which opcode to use.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import trio
import trio_websocket

from openim.security.connlimit import ConnectionLimiter
from openim.wire.errors import ErrCode, error_envelope

__all__ = [
    "PolledConnection",
    "TransportClosed",
    "TransportLimits",
    "Upgrade",
    "WsConnection",
    "serve",
]

# Close codes of RFC 6455 that the gateway uses (section 7.4.1).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_ABNORMAL = 1006  # never sent on the wire: what a peer that vanished without a close frame gets
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013


class TransportClosed(Exception):
    """The connection is closed (by either side); ``code``/``reason`` say how, when known.

    Raised by every I/O call on a closed connection, so callers handle "the peer went away" and "we
    closed it" in one place; the code tells them apart for the log (1006: the peer vanished).
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code} {reason}".rstrip())
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TransportLimits:
    """Per-connection limits, grouped so the listener signature stays short.

    ``max_frame_size`` closes the connection with 1009 when a client sends a bigger message (the Go
    gateway's 51200 bytes by default). ``handshake_timeout`` bounds the time until the HTTP upgrade
    request has been read. ``close_timeout`` bounds the wait for the peer's close frame.
    ``receive_queue`` is how many complete incoming messages the library buffers ahead of the reader.
    """

    max_frame_size: int = 51200
    handshake_timeout: float = 10.0
    close_timeout: float = 3.0
    receive_queue: int = 8
    # Connections from one address, handshakes in progress in all and from one address (0 = no limit).
    # Past them a socket is answered 1601 and closed (openim.security.connlimit); the wsproto transport
    # counts from accept, trio-websocket (which owns its accept loop) from the parsed upgrade.
    max_connections_per_ip: int = 0
    max_handshakes: int = 0
    max_handshakes_per_ip: int = 0
    exempt_ips: frozenset[str] = frozenset()  # not limited per address (counted in totals only)


class WsConnection(Protocol):
    """An open WebSocket. Reading returns whole messages; writing is split in two so that a
    connection's frames can pile up while a batch is worked on and leave in one write:
    :meth:`queue` (no I/O) and :meth:`flush_nowait` (one non-blocking write of everything queued)."""

    @property
    def remote(self) -> str: ...

    async def receive(self) -> list[str | bytes]:
        """The next complete messages (at least one), in order; raises :class:`TransportClosed` once
        the connection is closed."""

    def queue(self, frame: str | bytes) -> None:
        """Append one frame (text for str, binary for bytes) to the outgoing buffer; never blocks."""

    def flush_nowait(self) -> bool:
        """Hand as much of the outgoing buffer to the kernel as it takes now; True when it is empty
        (or the connection is broken: the reader reports that)."""

    async def flush(self) -> None:
        """Write the whole outgoing buffer, waiting for the socket when the kernel buffer is full."""

    async def send(self, frame: str | bytes) -> None:
        """Queue one frame and flush; raises :class:`TransportClosed`."""

    async def ping(self) -> None:
        """Send a protocol ping and wait for its pong; raises :class:`TransportClosed`."""

    async def close(self, code: int, reason: str) -> None:
        """Send a close frame and wait (bounded) for the peer's; idempotent, never raises."""


class PolledConnection(WsConnection, Protocol):
    """A :class:`WsConnection` that can also be read without waiting, by a reader that polls many
    connections' sockets itself (openim.gateway.reactor)."""

    def fileno(self) -> int: ...

    def send_close_nowait(self, code: int, reason: str) -> None:
        """Send a close frame without waiting (after what is queued); the peer's answer comes through
        :meth:`read_nowait`, and a later :meth:`close` only closes the socket."""

    def read_nowait(self) -> tuple[list[str | bytes], TransportClosed | None]:
        """At most one non-blocking read: the whole messages it completed (maybe none), and how the
        connection closed if it did (after those messages)."""


class Upgrade(Protocol):
    """A client's HTTP upgrade request, before the 101 answer."""

    @property
    def target(self) -> str:
        """The request target as sent: path plus ``?query`` (undecoded)."""

    @property
    def headers(self) -> Mapping[str, str]:
        """Request headers, names lower-cased."""

    @property
    def remote(self) -> str: ...

    async def accept(self) -> WsConnection: ...

    async def respond(self, status: int, body: bytes, content_type: str) -> None:
        """Answer with a plain HTTP response and no upgrade (OpenIM's handshake refusals use 200)."""


# ---------------------------------------------------------------------------------------------
# trio-websocket backing
# ---------------------------------------------------------------------------------------------


def _endpoint(ep: trio_websocket.Endpoint | str) -> str:
    if isinstance(ep, trio_websocket.Endpoint):
        return f"{ep.address}:{ep.port}"
    return ep


def _closed(exc: trio_websocket.ConnectionClosed) -> TransportClosed:
    reason = exc.reason
    if reason is None:
        return TransportClosed(CLOSE_ABNORMAL, "")
    return TransportClosed(reason.code, reason.reason or "")


class _TwsConnection:
    """:class:`WsConnection` over a trio-websocket connection (one ``send_all`` per frame: it has no
    non-blocking write, so :meth:`flush_nowait` only reports that frames are waiting)."""

    __slots__ = ("_close_timeout", "_out", "_remote", "_ws")

    def __init__(self, ws: trio_websocket.WebSocketConnection, close_timeout: float) -> None:
        self._ws = ws
        self._close_timeout = close_timeout
        self._remote = _endpoint(ws.remote)
        self._out: list[str | bytes] = []

    @property
    def remote(self) -> str:
        return self._remote

    async def receive(self) -> list[str | bytes]:
        try:
            return [await self._ws.get_message()]
        except trio_websocket.ConnectionClosed as exc:
            raise _closed(exc) from None

    def queue(self, frame: str | bytes) -> None:
        self._out.append(frame)

    def flush_nowait(self) -> bool:
        return not self._out

    async def flush(self) -> None:
        while self._out:
            frame = self._out.pop(0)
            try:
                await self._ws.send_message(frame)
            except trio_websocket.ConnectionClosed as exc:
                self._out.clear()
                raise _closed(exc) from None

    async def send(self, frame: str | bytes) -> None:
        self.queue(frame)
        await self.flush()

    async def ping(self) -> None:
        try:
            await self._ws.ping()
        except trio_websocket.ConnectionClosed as exc:
            raise _closed(exc) from None

    async def close(self, code: int, reason: str) -> None:
        # The close reason travels in a control frame (at most 123 bytes of UTF-8).
        reason = reason.encode()[:123].decode(errors="ignore")
        with trio.move_on_after(self._close_timeout):
            await self._ws.aclose(code, reason or None)


class _TwsUpgrade:
    """:class:`Upgrade` over a trio-websocket request."""

    __slots__ = ("_close_timeout", "_headers", "_req")

    def __init__(self, req: trio_websocket.WebSocketRequest, close_timeout: float) -> None:
        self._req = req
        self._close_timeout = close_timeout
        self._headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in req.headers}

    @property
    def target(self) -> str:
        return self._req.path

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def remote(self) -> str:
        return _endpoint(self._req.remote)

    async def accept(self) -> WsConnection:
        try:
            ws = await self._req.accept()
        except trio_websocket.ConnectionClosed as exc:
            raise _closed(exc) from None
        return _TwsConnection(ws, self._close_timeout)

    async def respond(self, status: int, body: bytes, content_type: str) -> None:
        try:
            await self._req.reject(status, extra_headers=[(b"Content-Type", content_type.encode("latin-1"))], body=body)
        except trio_websocket.ConnectionClosed as exc:
            raise _closed(exc) from None


UpgradeHandler = Callable[[Upgrade], Awaitable[None]]


async def serve(
    handler: UpgradeHandler,
    *,
    host: str,
    port: int,
    limits: TransportLimits,
    handler_nursery: trio.Nursery,
    on_refused: Callable[[str], None] | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen on ``host:port`` and run ``handler`` for every upgrade request, until cancelled.

    Any path is accepted (the JS SDK requests ``/``, other clients may add one). Connection tasks run
    in ``handler_nursery``, not under this call, so cancelling the listener stops accepting without
    touching live connections: graceful drain closes those itself with 1001. Reports the bound port.
    """

    per_ip = ConnectionLimiter(0, limits.max_connections_per_ip, limits.exempt_ips)

    async def on_request(req: trio_websocket.WebSocketRequest) -> None:
        upgrade = _TwsUpgrade(req, limits.close_timeout)
        ip = upgrade.remote.rpartition(":")[0]
        if per_ip.acquire(ip) is not None:
            if on_refused is not None:
                on_refused("connections_per_ip")
            body = json.dumps(error_envelope(ErrCode.CONN_OVER_MAX_NUM_LIMIT, "too many connections (per ip)"))
            with contextlib.suppress(TransportClosed):
                await upgrade.respond(200, body.encode(), "application/json; charset=utf-8")
            return
        try:
            await handler(upgrade)
        finally:
            per_ip.release(ip)

    listen = partial(
        trio_websocket.serve_websocket,
        on_request,
        host,
        port,
        None,
        handler_nursery=handler_nursery,
        message_queue_size=limits.receive_queue,
        max_message_size=limits.max_frame_size,
        connect_timeout=limits.handshake_timeout,
        disconnect_timeout=limits.close_timeout,
    )
    async with trio.open_nursery() as nursery:
        server: trio_websocket.WebSocketServer = await nursery.start(listen)
        try:
            bound = server.port
        except RuntimeError:  # several listeners (a host name with v4 and v6 addresses)
            bound = port
        task_status.started(bound)
