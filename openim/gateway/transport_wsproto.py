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
import errno
import logging
import os
import socket
from collections.abc import Callable
from typing import Final

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
from openim.gateway.upgrade_request import accept_response, http_response, may_be_plain, parse_plain_upgrade
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
from openim.sockets import close_socket, receive, send_all

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
    def fileno(self) -> int:
        """The socket's descriptor, for a reader that polls many connections (openim.gateway.reactor)."""
        return self._sock.fileno()

    async def receive(self) -> list[str | bytes]:
        while True:
            messages, closed = self.read_nowait()
            if messages:
                if closed is not None:
                    self._peer_close = closed  # raised by the next read
                return messages
            if closed is not None:
                raise closed
            await trio.lowlevel.wait_readable(self._sock)

    def read_nowait(self) -> tuple[list[str | bytes], TransportClosed | None]:
        """At most one non-blocking ``recv``: the whole messages it completed (maybe none), and how the
        connection closed if it did (after those messages). Pings are ponged and a close frame is echoed
        here; nothing waits."""
        if self._initial:
            initial, self._initial = self._initial, []
            return initial, None
        if self._peer_close is not None:
            return [], self._peer_close
        if self._closed:
            return [], TransportClosed(CLOSE_ABNORMAL, "")
        try:
            data = self._sock.recv(READ_SIZE)
        except BlockingIOError:
            return [], None
        except _GONE:
            return [], TransportClosed(CLOSE_ABNORMAL, "")
        if not data:
            return [], TransportClosed(CLOSE_ABNORMAL, "")
        try:
            frames = self._reader.feed(data)
        except FrameError as exc:
            self._abort(exc.code, exc.reason)
            return [], TransportClosed(exc.code, exc.reason)
        messages: list[str | bytes] = []
        for opcode, payload in frames:
            if opcode == OP_BINARY:
                messages.append(payload)
            elif opcode == OP_TEXT:
                try:
                    messages.append(payload.decode())
                except UnicodeDecodeError:
                    self._abort(1007, "text frame is not UTF-8")
                    return messages, TransportClosed(1007, "text frame is not UTF-8")
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
                self._peer_close = TransportClosed(code, reason)
                return messages, self._peer_close
        return messages, None

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
        """Send our close frame, wait (bounded) for the peer's, then close the socket. Never raises; the
        socket is closed however the wait ends (a cancel included). After :meth:`send_close_nowait` it
        only closes the socket: whoever sent the frame waited for the answer."""
        if self._closed:
            return
        try:
            with contextlib.suppress(TransportClosed), trio.move_on_after(self._limits.close_timeout):
                if not self._close_sent:
                    self._close_sent = True
                    self._out.append(encode_frame(OP_CLOSE, close_payload(code, reason)))
                    await self.flush()
                    while self._peer_close is None:
                        await self.receive()
        finally:
            self._shut()

    def send_close_nowait(self, code: int, reason: str) -> None:
        """Queue our close frame after what is queued and hand it to the kernel without waiting (a drain
        sends thousands at once). The peer's answer is read by the reader (``read_nowait``); what the
        kernel does not take now leaves with a later flush, or not at all once the socket is closed."""
        if self._close_sent or self._closed:
            return
        self._close_sent = True
        self._out.append(encode_frame(OP_CLOSE, close_payload(code, reason)))
        self.flush_nowait()

    def _abort(self, code: int, reason: str) -> None:
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


class _SocketUpgrade:
    """:class:`openim.gateway.transport.Upgrade` of one accepted socket.

    Either a plain request parsed by :mod:`openim.gateway.upgrade_request` (``ws`` None: the 101 and
    refusals are written directly) or one wsproto parsed (anything else). Once accepted, the socket
    belongs to the connection and this object keeps nothing of the handshake: it stays referenced by
    the connection's task for the connection's life, so what it held would be held as long.
    """

    __slots__ = ("_events", "_headers", "_key", "_limits", "_remote", "_sock", "_target", "_ws", "answered")

    def __init__(
        self,
        sock: socket.socket,
        target: str,
        headers: dict[str, str],
        limits: TransportLimits,
        remote: str,
        *,
        key: bytes = b"",
        ws: WSConnection | None = None,
        events: list[Event] | None = None,
    ) -> None:
        self._sock: socket.socket | None = sock
        self._target = target
        self._headers = headers
        self._key = key
        self._ws = ws
        self._events = events
        self._limits = limits
        self._remote = remote
        self.answered = False

    @property
    def target(self) -> str:
        return self._target

    @property
    def headers(self) -> dict[str, str]:
        return self._headers

    @property
    def remote(self) -> str:
        return self._remote

    def discard(self) -> None:
        """Close the socket unless a connection took it."""
        sock, self._sock = self._sock, None
        self._ws = self._events = None
        if sock is not None:
            close_socket(sock)

    async def accept(self) -> _RawWsConnection:
        self.answered = True
        sock = self._sock
        if sock is None:
            raise TransportClosed(CLOSE_ABNORMAL, "")
        ws = self._ws
        data = accept_response(self._key) if ws is None else ws.send(AcceptConnection())
        try:
            await send_all(sock, data)
        except _GONE as exc:
            raise TransportClosed(CLOSE_ABNORMAL, "") from exc
        initial = [] if ws is None else _messages_of((self._events or []) + list(ws.events()))
        # From here on the socket is the connection's; nothing of the handshake stays alive.
        self._sock = None
        self._ws = self._events = None
        self._headers = {}
        return _RawWsConnection(sock, self._limits, self._remote, initial)

    async def respond(self, status: int, body: bytes, content_type: str) -> None:
        self.answered = True
        sock = self._sock
        if sock is None:
            raise TransportClosed(CLOSE_ABNORMAL, "")
        ws = self._ws
        if ws is None:
            data = http_response(status, body, content_type)
        else:
            headers = [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
            data = ws.send(RejectConnection(status_code=status, headers=headers, has_body=True))
            data += ws.send(RejectData(data=body, body_finished=True))
        try:
            with trio.move_on_after(REFUSAL_WRITE_TIMEOUT_S):
                await send_all(sock, data)
        except _GONE as exc:
            raise TransportClosed(CLOSE_ABNORMAL, "") from exc
        finally:
            self.discard()


def _remote_of(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return "?"


async def _recv(sock: socket.socket) -> bytes:
    """One read of the handshake; b"" when the peer left."""
    try:
        return await receive(sock, READ_SIZE)
    except _GONE:
        return b""


async def _handshake(sock: socket.socket, limits: TransportLimits, remote: str) -> _SocketUpgrade | None:
    """Read until the HTTP upgrade request is parsed (bounded by the handshake timeout): the plain
    path when the request is plain (openim.gateway.upgrade_request), wsproto for anything else."""
    buf = b""
    with trio.move_on_after(limits.handshake_timeout):
        while True:
            data = await _recv(sock)
            if not data:
                return None
            buf += data
            if b"\r\n\r\n" in buf:
                plain = parse_plain_upgrade(buf)
                if plain is not None:
                    return _SocketUpgrade(sock, plain.target, plain.headers, limits, remote, key=plain.key)
                break
            if not may_be_plain(buf):
                break
        # wsproto judges what the plain path does not take, from the same bytes on.
        ws = WSConnection(ConnectionType.SERVER)
        events: list[Event] = []
        while True:
            try:
                ws.receive_data(buf)
                events.extend(ws.events())
            except RemoteProtocolError as exc:
                # Not a WebSocket upgrade (a plain HTTP request, garbage): answer with wsproto's own
                # suggestion (400/426) and drop the connection.
                if exc.event_hint is not None:
                    with contextlib.suppress(LocalProtocolError, *_GONE):
                        await send_all(sock, ws.send(exc.event_hint))
                return None
            for i, event in enumerate(events):
                if isinstance(event, Request):
                    headers = {
                        (k.decode("latin-1") if isinstance(k, bytes) else k).lower(): (
                            v.decode("latin-1") if isinstance(v, bytes) else v
                        )
                        for k, v in event.extra_headers
                    }
                    return _SocketUpgrade(
                        sock, event.target, headers, limits, remote, ws=ws, events=events[i + 1 :]
                    )
            buf = await _recv(sock)
            if not buf:
                return None
    return None


# What accept may fail with when the process is out of a resource: logged, retried after a pause
# (as trio.serve_listeners does, under its logger name, so the log filters see the same lines).
ACCEPT_CAPACITY_ERRNOS: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
ACCEPT_RETRY_S: Final = 0.1
ACCEPT_BATCH: Final = 64  # accepts per wake-up before letting other tasks run
_IGNORABLE_ACCEPT_ERRNOS: Final = frozenset(
    {errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ENOPROTOOPT, errno.ECONNRESET}
)
_accept_log = logging.getLogger("trio.serve_listeners")


def _tune_accepted(sock: socket.socket) -> None:
    """What trio's SocketStream sets on an accepted TCP socket."""
    sock.setblocking(False)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
    if hasattr(socket, "TCP_NOTSENT_LOWAT"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT, 2**14)


async def _accept_loop(
    listener: socket.socket, spawn: Callable[[socket.socket, object], None]
) -> None:
    """Accept on ``listener`` until cancelled; ``spawn`` starts each connection's task.

    Plain sockets, no trio SocketStream: a connection's task holds nothing but its socket."""
    try:
        while True:
            await trio.lowlevel.wait_readable(listener)
            for _ in range(ACCEPT_BATCH):
                try:
                    sock, address = listener.accept()
                except BlockingIOError:
                    break
                except OSError as exc:
                    if exc.errno in _IGNORABLE_ACCEPT_ERRNOS:
                        continue
                    if exc.errno in ACCEPT_CAPACITY_ERRNOS:
                        _accept_log.error(
                            "accept returned %s (%s); retrying in %s seconds",
                            errno.errorcode[exc.errno], os.strerror(exc.errno), ACCEPT_RETRY_S, exc_info=True,
                        )
                        await trio.sleep(ACCEPT_RETRY_S)
                        break
                    raise
                _tune_accepted(sock)
                spawn(sock, address)
    finally:
        close_socket(listener)


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

    async def refuse(sock: socket.socket, limit: str) -> None:
        if on_refused is not None:
            on_refused(limit)
        with contextlib.suppress(*_GONE), trio.move_on_after(REFUSAL_WRITE_TIMEOUT_S):
            await send_all(sock, refusal_response(f"too many {limit.replace('_', ' ')}"))

    async def on_socket(sock: socket.socket, address: object) -> None:
        # Counted from accept, before a byte is read: a flood of idle or half-sent sockets from one
        # address is refused at once instead of holding file descriptors until the handshake timeout.
        remote = _remote_of(address)
        ip = remote.rpartition(":")[0]
        if connections.acquire(ip) is not None:
            try:
                await refuse(sock, "connections_per_ip")
            finally:
                close_socket(sock)
            return
        try:
            upgrade = await open_upgrade(sock, ip, remote)
            del sock  # the upgrade owns the socket now, then the connection: this frame holds nothing
            if upgrade is not None:
                try:
                    await handler(upgrade)
                finally:
                    upgrade.discard()
        finally:
            connections.release(ip)

    async def open_upgrade(sock: socket.socket, ip: str, remote: str) -> _SocketUpgrade | None:
        """The parsed upgrade request, or None with the socket closed."""
        upgrade: _SocketUpgrade | None = None
        try:
            refused = handshakes.acquire(ip)
            if refused is not None:
                await refuse(sock, "handshakes" if refused == "total" else "handshakes_per_ip")
                return None
            try:
                upgrade = await _handshake(sock, limits, remote)
            finally:
                handshakes.release(ip)
            return upgrade
        finally:
            if upgrade is None:
                close_socket(sock)

    def spawn(sock: socket.socket, address: object) -> None:
        handler_nursery.start_soon(on_socket, sock, address)

    listeners = await trio.open_tcp_listeners(port, host=host or None)
    sockets = [socket.socket(fileno=listener.socket.detach()) for listener in listeners]
    for sock in sockets:
        sock.setblocking(False)
    bound = sockets[0].getsockname()[1]
    async with trio.open_nursery() as nursery:
        for sock in sockets:
            nursery.start_soon(_accept_loop, sock, spawn)
        task_status.started(int(bound))
