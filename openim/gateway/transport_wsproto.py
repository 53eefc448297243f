"""The WebSocket transport on wsproto directly: the gateway's fast path (DESIGN.md section 4b).

Same contract as the trio-websocket backing in openim.gateway.transport (Upgrade, WsConnection,
TransportClosed), with two differences that matter for throughput and memory:

* ``send_many``: the session's writer hands over every frame queued for the connection and they leave
  in ONE ``send_all`` (a syscall and a scheduler step per burst instead of per frame) — pushes to a
  busy connection and group fan-out are dominated by that cost;
* no task of its own per connection: frames are read by the session's reader calling ``receive``
  (trio-websocket keeps a reader task, a message queue and its channels for every connection).

Control frames are answered inline: a ping read by ``receive`` is ponged at once; a close frame is
echoed and ends the connection.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from functools import partial

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from openim.gateway.transport import (
    CLOSE_ABNORMAL,
    CLOSE_POLICY_VIOLATION,
    CLOSE_TOO_BIG,
    TransportClosed,
    TransportLimits,
    UpgradeHandler,
)
from openim.security.connlimit import ConnectionLimiter, refusal_response

READ_SIZE = 65536
REFUSAL_WRITE_TIMEOUT_S = 1.0


class _WsprotoConnection:
    """:class:`openim.gateway.transport.WsConnection` over a trio stream and a wsproto state machine."""

    __slots__ = ("_events", "_limits", "_parts", "_pongs", "_remote", "_send_lock", "_stream", "_text", "_ws")

    def __init__(
        self, stream: trio.SocketStream, ws: WSConnection, limits: TransportLimits, remote: str, events: list[Event]
    ) -> None:
        self._stream = stream
        self._ws = ws
        self._limits = limits
        self._remote = remote
        self._events = events  # already parsed, not yet consumed (arrived with the handshake)
        self._send_lock = trio.Lock()
        self._parts: list[bytes | str] = []  # a fragmented message being assembled
        self._text = False
        self._pongs: dict[bytes, trio.Event] = {}

    @property
    def remote(self) -> str:
        return self._remote

    # -- reading ----------------------------------------------------------------------------------
    async def receive(self) -> str | bytes:
        while True:
            while self._events:
                event = self._events.pop(0)
                message = await self._on_event(event)
                if message is not None:
                    return message
            await self._fill()

    async def _fill(self) -> None:
        """Read from the socket into wsproto; a peer that vanished is 1006."""
        try:
            data = await self._stream.receive_some(READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TransportClosed(CLOSE_ABNORMAL, "") from exc
        if not data:
            raise TransportClosed(CLOSE_ABNORMAL, "")
        try:
            self._ws.receive_data(data)
            self._events.extend(self._ws.events())
        except RemoteProtocolError as exc:
            await self._abort(CLOSE_POLICY_VIOLATION, str(exc)[:100])
            raise TransportClosed(CLOSE_POLICY_VIOLATION, "protocol error") from exc

    async def _on_event(self, event: Event) -> str | bytes | None:
        if isinstance(event, TextMessage | BytesMessage):
            self._parts.append(event.data if isinstance(event.data, str) else bytes(event.data))
            self._text = isinstance(event, TextMessage)
            size = sum(len(p) for p in self._parts)
            if size > self._limits.max_frame_size:
                self._parts.clear()
                await self._abort(CLOSE_TOO_BIG, "message too big")
                raise TransportClosed(CLOSE_TOO_BIG, "message too big")
            if not event.message_finished:
                return None
            parts, self._parts = self._parts, []
            if self._text:
                return "".join(str(p) for p in parts)
            return b"".join(p if isinstance(p, bytes) else p.encode() for p in parts)
        if isinstance(event, Ping):
            await self._write(self._ws.send(event.response()))
            return None
        if isinstance(event, Pong):
            waiter = self._pongs.pop(bytes(event.payload), None)
            if waiter is not None:
                waiter.set()
            return None
        if isinstance(event, CloseConnection):
            with contextlib.suppress(TransportClosed):
                if self._ws.state is ConnectionState.REMOTE_CLOSING:
                    await self._write(self._ws.send(event.response()))
            await self._stream.aclose()
            raise TransportClosed(event.code, event.reason or "")
        return None

    # -- writing ----------------------------------------------------------------------------------
    async def _write(self, data: bytes) -> None:
        async with self._send_lock:
            try:
                await self._stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise TransportClosed(CLOSE_ABNORMAL, "") from exc

    def _encode(self, frame: str | bytes) -> bytes:
        try:
            if isinstance(frame, str):
                return self._ws.send(TextMessage(data=frame))
            return self._ws.send(BytesMessage(data=frame))
        except LocalProtocolError as exc:  # the connection is closing or closed
            raise TransportClosed(CLOSE_ABNORMAL, "closed") from exc

    async def send(self, frame: str | bytes) -> None:
        await self._write(self._encode(frame))

    async def send_many(self, frames: Sequence[str | bytes]) -> None:
        """Every frame in one write: what makes a busy connection cheap."""
        await self._write(b"".join(self._encode(f) for f in frames))

    async def ping(self) -> None:
        payload = os.urandom(4)
        waiter = trio.Event()
        self._pongs[payload] = waiter
        try:
            await self._write(self._ws.send(Ping(payload=payload)))
        except LocalProtocolError as exc:
            raise TransportClosed(CLOSE_ABNORMAL, "closed") from exc
        await waiter.wait()

    async def close(self, code: int, reason: str) -> None:
        """Send our close frame, wait (bounded) for the peer's, then close the socket. Never raises."""
        reason = reason.encode()[:123].decode(errors="ignore")
        gone = (TransportClosed, LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError)
        with contextlib.suppress(*gone):
            if self._ws.state is ConnectionState.OPEN:
                await self._write(self._ws.send(CloseConnection(code=code, reason=reason or None)))
                with trio.move_on_after(self._limits.close_timeout):
                    while self._open_or_closing():
                        await self._fill()
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._stream.aclose()

    def _open_or_closing(self) -> bool:
        # A method, not an inline comparison: wsproto's state changes behind mypy's narrowing.
        return self._ws.state is not ConnectionState.CLOSED

    async def _abort(self, code: int, reason: str) -> None:
        with contextlib.suppress(TransportClosed, LocalProtocolError):
            if self._ws.state is ConnectionState.OPEN:
                await self._write(self._ws.send(CloseConnection(code=code, reason=reason)))
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._stream.aclose()


class _WsprotoUpgrade:
    """:class:`openim.gateway.transport.Upgrade` for a parsed wsproto Request."""

    __slots__ = ("_events", "_headers", "_limits", "_remote", "_request", "_stream", "_ws", "answered")

    def __init__(
        self,
        stream: trio.SocketStream,
        ws: WSConnection,
        request: Request,
        events: list[Event],
        limits: TransportLimits,
        remote: str,
    ) -> None:
        self._stream = stream
        self._ws = ws
        self._request = request
        self._events = events
        self._limits = limits
        self._remote = remote
        self._headers = {
            (k.decode("latin-1") if isinstance(k, bytes) else k).lower(): (
                v.decode("latin-1") if isinstance(v, bytes) else v
            )
            for k, v in request.extra_headers
        }
        self.answered = False

    @property
    def target(self) -> str:
        return self._request.target

    @property
    def headers(self) -> dict[str, str]:
        return self._headers

    @property
    def remote(self) -> str:
        return self._remote

    async def accept(self) -> _WsprotoConnection:
        self.answered = True
        data = self._ws.send(AcceptConnection())
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TransportClosed(CLOSE_ABNORMAL, "") from exc
        return _WsprotoConnection(self._stream, self._ws, self._limits, self._remote, self._events)

    async def respond(self, status: int, body: bytes, content_type: str) -> None:
        self.answered = True
        headers = [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
        data = self._ws.send(RejectConnection(status_code=status, headers=headers, has_body=True))
        data += self._ws.send(RejectData(data=body, body_finished=True))
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TransportClosed(CLOSE_ABNORMAL, "") from exc
        finally:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await self._stream.aclose()


def _remote_of(stream: trio.SocketStream) -> str:
    try:
        host, port = stream.socket.getpeername()[:2]
    except OSError:
        return "?"
    return f"{host}:{port}"


async def _handshake(
    stream: trio.SocketStream, limits: TransportLimits
) -> tuple[WSConnection, Request, list[Event]] | None:
    """Read until the HTTP upgrade request is parsed (bounded by the handshake timeout)."""
    ws = WSConnection(ConnectionType.SERVER)
    events: list[Event] = []
    with trio.move_on_after(limits.handshake_timeout):
        while True:
            try:
                data = await stream.receive_some(READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return None
            if not data:
                return None
            try:
                ws.receive_data(data)
                events.extend(ws.events())
            except RemoteProtocolError as exc:
                # Not a WebSocket upgrade (a plain HTTP request, garbage): answer with wsproto's own
                # suggestion (400/426) and drop the connection.
                if exc.event_hint is not None:
                    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, LocalProtocolError):
                        await stream.send_all(ws.send(exc.event_hint))
                return None
            for i, event in enumerate(events):
                if isinstance(event, Request):
                    return ws, event, events[i + 1 :]
    return None


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
    """Listen on ``host:port``; run ``handler`` for every upgrade request (any path), until cancelled.

    Connection tasks run in ``handler_nursery`` so cancelling the listener stops accepting without
    touching live connections (graceful drain closes those itself).
    """

    connections = ConnectionLimiter(0, limits.max_connections_per_ip, limits.exempt_ips)
    handshakes = ConnectionLimiter(limits.max_handshakes, limits.max_handshakes_per_ip, limits.exempt_ips)

    async def refuse(stream: trio.SocketStream, limit: str) -> None:
        if on_refused is not None:
            on_refused(limit)
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            with trio.move_on_after(REFUSAL_WRITE_TIMEOUT_S):
                await stream.send_all(refusal_response(f"too many {limit.replace('_', ' ')}"))
        await stream.aclose()

    async def on_stream(stream: trio.SocketStream) -> None:
        # Counted from accept, before a byte is read: a flood of idle or half-sent sockets from one
        # address is refused at once instead of holding file descriptors until the handshake timeout.
        ip = _remote_of(stream).rpartition(":")[0]
        if connections.acquire(ip) is not None:
            await refuse(stream, "connections_per_ip")
            return
        try:
            refused = handshakes.acquire(ip)
            if refused is not None:
                await refuse(stream, "handshakes" if refused == "total" else "handshakes_per_ip")
                return
            try:
                parsed = await _handshake(stream, limits)
            finally:
                handshakes.release(ip)
            if parsed is None:
                return
            ws, request, rest = parsed
            upgrade = _WsprotoUpgrade(stream, ws, request, rest, limits, _remote_of(stream))
            await handler(upgrade)
        finally:
            connections.release(ip)
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.aclose()

    listeners = await trio.open_tcp_listeners(port, host=host or None)
    bound = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(trio.serve_listeners, on_stream, listeners, handler_nursery=handler_nursery))
        task_status.started(int(bound))
        await trio.sleep_forever()
