"""The default WebSocket transport: wsproto for the HTTP upgrade, our own frames after it.

Same contract as the trio-websocket backing in openim.gateway.transport (Upgrade, WsConnection,
TransportClosed), shaped for throughput and memory:

* after the 101 the connection leaves wsproto and trio's stream: the socket is a plain non-blocking
  socket, read with one ``recv`` per readiness and parsed by :class:`openim.gateway.wsframes.FrameReader`
  (C unmasking), so a read of many frames costs one syscall and a few integer operations per frame;
* writing is a buffer: :meth:`queue` appends encoded frames, :meth:`flush_nowait` hands them all to the
  kernel in ONE non-blocking ``send``; only when the kernel buffer is full does a task wait
  (:meth:`flush`). Pushes to a busy connection and group fan-out are dominated by that cost;
* no task of its own per connection: the session's reader calls ``receive``.

Control frames are answered inline: a ping read by ``receive`` is ponged at once; a close frame is
echoed and ends the connection.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable
from functools import partial

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    Event,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from openim.gateway.transport import (
    CLOSE_ABNORMAL,
    TransportClosed,
    TransportLimits,
    UpgradeHandler,
)
from openim.gateway.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameReader,
    close_payload,
    encode_frame,
    parse_close,
)
from openim.security.connlimit import ConnectionLimiter, refusal_response

READ_SIZE = 65536
REFUSAL_WRITE_TIMEOUT_S = 1.0
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError)


class _RawWsConnection:
    """:class:`openim.gateway.transport.WsConnection` on a non-blocking socket (see the module docstring)."""

    __slots__ = (
        "_broken", "_close_sent", "_closed", "_initial", "_limits", "_out", "_peer_close", "_pongs", "_reader",
        "_remote", "_sock",
    )

    def __init__(
        self, sock: socket.socket, limits: TransportLimits, remote: str, initial: list[str | bytes]
    ) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._limits = limits
        self._remote = remote
        self._reader = FrameReader(limits.max_frame_size)
        self._initial = initial  # whole messages that arrived with the handshake
        self._out: list[bytes] = []  # encoded frames the kernel has not taken yet
        self._pongs: dict[bytes, trio.Event] = {}
        self._broken = False  # a write failed: the peer is gone
        self._close_sent = False
        self._closed = False  # the socket is closed
        self._peer_close: TransportClosed | None = None  # a close frame read after messages still to deliver

    @property
    def remote(self) -> str:
        return self._remote

    # -- reading ----------------------------------------------------------------------------------
    async def receive(self) -> list[str | bytes]:
        if self._initial:
            initial, self._initial = self._initial, []
            return initial
        if self._peer_close is not None:
            raise self._peer_close
        while True:
            if self._closed:
                raise TransportClosed(CLOSE_ABNORMAL, "")
            await trio.lowlevel.wait_readable(self._sock)
            try:
                data = self._sock.recv(READ_SIZE)
            except BlockingIOError:
                continue
            except _GONE as exc:
                raise TransportClosed(CLOSE_ABNORMAL, "") from exc
            if not data:
                raise TransportClosed(CLOSE_ABNORMAL, "")
            try:
                frames = self._reader.feed(data)
            except FrameError as exc:
                await self._abort(exc.code, exc.reason)
                raise TransportClosed(exc.code, exc.reason) from None
            messages: list[str | bytes] = []
            for opcode, payload in frames:
                if opcode == OP_BINARY:
                    messages.append(payload)
                elif opcode == OP_TEXT:
                    try:
                        messages.append(payload.decode())
                    except UnicodeDecodeError:
                        await self._abort(1007, "text frame is not UTF-8")
                        raise TransportClosed(1007, "text frame is not UTF-8") from None
                elif opcode == OP_PING:
                    self._out.append(encode_frame(OP_PONG, payload))
                    self.flush_nowait()
                elif opcode == OP_PONG:
                    waiter = self._pongs.pop(payload, None)
                    if waiter is not None:
                        waiter.set()
                elif opcode == OP_CLOSE:
                    code, reason = parse_close(payload)
                    if not self._close_sent:  # echo it (RFC 6455 5.5.1), then the socket goes
                        self._close_sent = True
                        self._out.append(encode_frame(OP_CLOSE, payload[:2]))
                        self.flush_nowait()
                    self._shut()
                    closed = TransportClosed(code, reason)
                    if messages:
                        self._peer_close = closed
                        return messages
                    raise closed
            if messages:
                return messages

    # -- writing ----------------------------------------------------------------------------------
    def queue(self, frame: str | bytes) -> None:
        if isinstance(frame, str):
            self._out.append(encode_frame(OP_TEXT, frame.encode()))
        else:
            self._out.append(encode_frame(OP_BINARY, frame))

    def flush_nowait(self) -> bool:
        out = self._out
        if not out:
            return True
        if self._broken or self._closed:
            out.clear()
            return True
        data = out[0] if len(out) == 1 else b"".join(out)
        try:
            sent = self._sock.send(data)
        except BlockingIOError:
            sent = 0
        except _GONE:
            self._broken = True
            out.clear()
            return True
        if sent == len(data):
            out.clear()
            return True
        self._out = [data[sent:]]
        return False

    async def flush(self) -> None:
        while not self.flush_nowait():
            await trio.lowlevel.wait_writable(self._sock)
        if self._broken:
            raise TransportClosed(CLOSE_ABNORMAL, "")

    async def send(self, frame: str | bytes) -> None:
        self.queue(frame)
        await self.flush()

    async def ping(self) -> None:
        payload = os.urandom(4)
        waiter = trio.Event()
        self._pongs[payload] = waiter
        self._out.append(encode_frame(OP_PING, payload))
        await self.flush()
        await waiter.wait()

    async def close(self, code: int, reason: str) -> None:
        """Send our close frame, wait (bounded) for the peer's, then close the socket. Never raises."""
        if self._closed:
            return
        with contextlib.suppress(TransportClosed), trio.move_on_after(self._limits.close_timeout):
            if not self._close_sent:
                self._close_sent = True
                self._out.append(encode_frame(OP_CLOSE, close_payload(code, reason)))
                await self.flush()
                while self._peer_close is None:
                    await self.receive()
        self._shut()

    async def _abort(self, code: int, reason: str) -> None:
        if not self._close_sent and not self._closed:
            self._close_sent = True
            self._out.append(encode_frame(OP_CLOSE, close_payload(code, reason[:100])))
            self.flush_nowait()
        self._shut()

    def _shut(self) -> None:
        if not self._closed:
            self._closed = True
            trio.lowlevel.notify_closing(self._sock)
            self._sock.close()


def _messages_of(events: list[Event]) -> list[str | bytes]:
    """Whole messages wsproto parsed from bytes that came with the upgrade request (rare)."""
    out: list[str | bytes] = []
    for event in events:
        if isinstance(event, TextMessage) and event.message_finished:
            out.append(event.data)
        elif isinstance(event, BytesMessage) and event.message_finished:
            out.append(bytes(event.data))
    return out


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

    async def accept(self) -> _RawWsConnection:
        self.answered = True
        data = self._ws.send(AcceptConnection())
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TransportClosed(CLOSE_ABNORMAL, "") from exc
        initial = _messages_of(self._events + list(self._ws.events()))
        # From here on the socket is ours: trio's stream lets go of it (closing the stream is then a no-op).
        sock = socket.socket(fileno=self._stream.socket.detach())
        return _RawWsConnection(sock, self._limits, self._remote, initial)

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
