"""One authenticated WebSocket connection: its reading, its outgoing buffer, its task.

::

    socket ──► reactor (one task for every connection) ──► on_readable: frames ──► ping: pong queued
                                 └► request: Dispatcher.handle_now ──► reply queued (1003: queued later,
                                    │                                  by whoever completes its batch)
                                    └► must wait (a read, a cache miss) ──► the session's task, in order
    pushes, kicks, 2005, replies ──► push(): queued, the connection marked dirty ──► Outbox flush:
                                     one non-blocking write of everything queued, per connection

Why this shape:

- **Reading** costs no task switch: the gateway's reactor (:class:`openim.gateway.reactor.ReadReactor`) calls
  :meth:`Session.on_readable` for every ready connection, which reads once and handles each frame at
  once when it can (a heartbeat; a 1003 whose checks are cached). Anything that must wait (a pull, a
  cache miss) goes to the session's own task, and later frames queue behind it, so requests are handled
  in arrival order, as the Go gateway does per connection. Without a reactor (the trio-websocket
  transport) the session's task reads the connection itself (:meth:`Session._read_loop`), same rules.
- Nothing waits for durability: a 1003 is checked and queued for the transfer stage. The transfer
  stage writes the reply and then the echo into this connection's buffer after the commit (in that
  order: the JS SDK needs the reply first).
- **Writing** never blocks the writer's caller: :meth:`Session.push` appends to the transport's buffer
  and marks the session dirty in the gateway's :class:`Outbox`, whose flush writes each dirty
  connection once, however many frames it got in the batch. Only when the kernel buffer is full does a
  task wait for the socket (started on demand). A client that lets ``outbound_frames`` frames pile up
  unwritten is not keeping up and is dropped (counted in ``push_dropped``): it reconnects and syncs,
  since push is best effort and sync is the guarantee.
- A session queues nothing to the wire before :meth:`run`: the handshake's OK frame is queued first and
  leaves once the login is registered (presence, kicks).

Closing is first-reason-wins: :meth:`Session.end` records why and cancels the session's task; the close frame is
sent once, on the way out, after what was queued, and the peer's answer is waited for within the
transport's ``close_timeout``. :meth:`Session.close_after_flush` closes once the frames queued so far are
written (kick, logout). A drain closes thousands at once: :meth:`Session.go_away` sends the close frame
without waiting and the reactor reads the answer; :meth:`Session.abort` ends whatever is left without
waiting any more. A session cancelled from outside (the process stopping past its grace) does not wait
either: every wait on the way out is bounded, none can hold a stop.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, cast

import trio

from openim.gateway.outbox import Outbox, Pinger
from openim.gateway.reactor import Reactor
from openim.gateway.requests import Dispatcher, Handled, ProtocolViolation, admit
from openim.gateway.transport import (
    CLOSE_ABNORMAL,
    CLOSE_NORMAL,
    CLOSE_POLICY_VIOLATION,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN_LATER,
    PolledConnection,
    TransportClosed,
    WsConnection,
)
from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.pipeline.msg import Sender
from openim.wire.codec import JSON, FrameCodec
from openim.wire.envelope import PONG_TEXT, EnvelopeError, WsRequest, parse_text_frame

__all__ = ["Session", "SessionLimits"]

log = get_log("gateway")

# Codes a close frame may not carry (RFC 6455 7.4.1): reported by the library, replaced when we close.
_NOT_SENDABLE: Final = frozenset({1005, CLOSE_ABNORMAL, 1015})
# The most a session's way out may take (the close handshake, shielded from cancellation): the
# transport bounds it by its close_timeout already; this bounds it whatever the transport does.
CLOSE_LIMIT_S: Final = 5.0

# Work of a polled connection that must wait, in arrival order: a frame, or the rest of a request.
_Waiting = str | bytes | Callable[[], Awaitable[Handled]]


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Timers and bounds of a session.

    ``outbound_frames``: the Go gateway uses 256; we allow more because a frame here is a reference to
    bytes shared by every recipient, so a burst to a healthy client costs little, while a stuck client
    still reaches it within seconds under load. ``ping_interval`` 0 disables protocol pings (the gateway
    enables them for Web connections, as OpenIM does).
    """

    idle_timeout: float = 30.0
    ping_interval: float = 0.0
    outbound_frames: int = 512


class Session:
    """The server side of one logged-in connection (see the module docstring)."""

    __slots__ = (
        "__weakref__",
        "_aborted",
        "_backlog",
        "_busy",
        "_close_after",
        "_close_detail",
        "_close_scope",
        "_closing",
        "_conn",
        "_dirty",
        "_dispatcher",
        "_ended",
        "_fd",
        "_going_away",
        "_idle",
        "_limits",
        "_metrics",
        "_nursery",
        "_outbox",
        "_pinger",
        "_polled",
        "_reactor",
        "_running",
        "_scope",
        "_seen",
        "_violation",
        "_waiting",
        "_wake",
        "_writing",
        "as_sender",
        "background",
        "close_code",
        "close_reason",
        "codec",
        "conn_id",
        "is_admin",
        "platform_id",
        "remote",
        "token",
        "token_issued_ms",
        "user_id",
    )

    def __init__(
        self,
        conn: WsConnection,
        *,
        conn_id: str,
        user_id: str,
        platform_id: int,
        token: str,
        is_admin: bool,
        dispatcher: Dispatcher,
        metrics: Metrics,
        limits: SessionLimits,
        outbox: Outbox,
        codec: FrameCodec = JSON,
        token_issued_ms: int = 0,
        pinger: Pinger | None = None,
        reactor: Reactor | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.codec = codec  # binary frames: JSON or gob, maybe gzip (chosen at the handshake)
        self.user_id = user_id
        self.platform_id = platform_id
        self.token = token
        self.token_issued_ms = token_issued_ms  # "newest login wins" compares this (tokens.Claims.issued_ms)
        self.is_admin = is_admin
        self.as_sender = Sender(user_id, platform_id, is_admin, conn_id)  # who this connection sends as
        self.background = False  # only 2004 changes it (OpenIM ignores the handshake's isBackground)
        self.remote = conn.remote
        self._conn = conn
        self._dispatcher = dispatcher
        self._metrics = metrics
        self._limits = limits
        self._outbox = outbox
        self._pinger = pinger  # pings from the gateway's one pinger task; without it, a task of our own
        self._backlog = 0  # frames queued since the kernel last took everything
        self._dirty = False  # marked in the outbox, not flushed yet
        self._running = False  # run() started: queued frames may leave
        self._writing = False  # a task waits for the socket to take the rest
        self._close_after: tuple[int, str] | None = None
        self._nursery: trio.Nursery | None = None
        self._scope = trio.CancelScope()
        self._idle: trio.CancelScope | None = None
        self._closing = False  # a close is queued or done: accept no more frames
        self._ended = False
        self.close_code = CLOSE_NORMAL
        self.close_reason = ""
        self._close_detail = ""
        self._violation = False
        self._going_away = False  # drain: our close frame is sent, the reactor reads the peer's answer
        self._aborted = False  # drain: wait for nothing more on the way out
        self._close_scope: trio.CancelScope | None = None  # the shielded close handshake, while it runs
        # Read by the gateway's reactor when it has one and the connection can be polled; otherwise by
        # this session's own task (_read_loop).
        # (hasattr, not isinstance: a runtime Protocol check costs tens of microseconds per login)
        polled = reactor is not None and hasattr(conn, "read_nowait")
        self._reactor = reactor if polled else None
        self._polled = cast(PolledConnection, conn) if polled else None
        self._seen = 0.0  # when the peer last sent something (polled: the idle timeout's base)
        self._waiting: deque[_Waiting] | None = None  # polled: work for this session's task, in order
        self._busy = False  # polled: the task has work in hand, so later frames queue behind it
        self._wake: trio.lowlevel.ParkingLot | None = None
        self._fd = -1  # polled: the descriptor the reactor watches (-1: not watched)

    def __repr__(self) -> str:
        return f"<Session {self.conn_id} {self.user_id}/{self.platform_id}>"

    # -- called from anywhere (synchronous, never blocks) ----------------------------------------------
    def push(self, frame: bytes | str) -> bool:
        """Queue a frame; False if the session is closing or was just dropped for being too slow."""
        if self._closing:
            return False
        if self._backlog >= self._limits.outbound_frames:
            self._metrics.push_dropped.inc()
            self.end(CLOSE_TRY_AGAIN_LATER, "slow consumer", f"outbound backlog full ({self._limits.outbound_frames})")
            return False
        self._conn.queue(frame)
        self._backlog += 1
        if not self._dirty and self._running:
            self._dirty = True
            self._outbox.mark(self)
        return True

    def flush(self) -> None:
        """Hand the queued frames to the kernel (the outbox calls this once per batch)."""
        self._dirty = False
        if self._writing or self._ended:
            return
        if self._conn.flush_nowait():
            self._backlog = 0
            if self._close_after is not None:
                self.end(*self._close_after)
        elif self._nursery is not None:
            self._writing = True
            self._nursery.start_soon(self._write_rest)

    def close_after_flush(self, code: int, reason: str) -> None:
        """Close once the frames queued so far are written."""
        if self._closing:
            return
        self._closing = True
        self._close_after = (code, reason)
        if self._running and not self._dirty:
            self._dirty = True
            self._outbox.mark(self)

    def kick(self) -> None:
        """Another login replaced this one (or an admin forced a logout): 2002, then close."""
        self.push(self.codec.kick_frame)
        self.close_after_flush(CLOSE_NORMAL, "kicked")

    def end(self, code: int, reason: str, detail: str = "") -> None:
        """Stop the session now; the first reason given is the one sent and logged."""
        if not self._ended:
            self._ended = True
            self.close_code, self.close_reason, self._close_detail = code, reason, detail
        self._closing = True
        self._scope.cancel()

    def go_away(self, code: int, reason: str) -> None:
        """Drain: send the close frame now, without waiting, and end once the peer answers it (the reactor
        reads the answer) or at :meth:`abort`. A connection without the reactor, or one already
        closing, is ended as by :meth:`end`."""
        conn = self._polled
        if conn is None or self._closing or self._fd < 0:
            self.end(code, reason)
            return
        self._ended = self._closing = True  # first reason wins: this one; nothing more is queued
        self.close_code, self.close_reason, self._close_detail = code, reason, ""
        self._going_away = True
        conn.send_close_nowait(code, reason)

    def abort(self, code: int, reason: str) -> None:
        """Drain past its wait: end now, waiting for nothing more (a close handshake in progress is cut
        short and the socket closed); the close frame is sent if it was not and the kernel takes it."""
        self._aborted = True
        self._going_away = False
        self.end(code, reason)
        if self._close_scope is not None:
            self._close_scope.cancel()

    def touch(self) -> None:
        """Proof of life from the peer: push the idle deadline back."""
        self._seen = trio.current_time()
        if self._idle is not None:
            self._idle.deadline = trio.current_time() + self._limits.idle_timeout

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def ping_interval(self) -> float:
        return self._limits.ping_interval

    # -- the session's life -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the connection until it closes for any reason; always sends the close and logs once."""
        started = trio.current_time()
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    self._running = True
                    self.flush()  # what was queued before the login was registered (the OK frame)
                    if self._close_after is not None and not self._ended:
                        self._dirty = True
                        self._outbox.mark(self)
                    if self._limits.ping_interval > 0:
                        if self._pinger is not None:
                            self._pinger.add(self)
                        else:
                            nursery.start_soon(self._ping_loop)
                    if self._polled is not None:
                        await self._serve_polled(self._polled)
                    else:
                        await self._read_loop()
                    nursery.cancel_scope.cancel()
        finally:
            self._closing = True
            self._going_away = False
            self._nursery = None
            code = CLOSE_NORMAL if self.close_code in _NOT_SENDABLE else self.close_code
            # Aborted, or cancelled from outside (the process stops past its grace): the close frame goes
            # if the kernel takes it at once, and nothing is waited for.
            hurry = self._aborted or trio.current_effective_deadline() == -math.inf
            now = trio.current_time()
            with trio.CancelScope(shield=True, deadline=now if hurry else now + CLOSE_LIMIT_S) as scope:
                self._close_scope = scope
                await self._conn.close(code, self.close_reason)
            self._close_scope = None
            fields = {
                "user_id": self.user_id,
                "platform_id": self.platform_id,
                "conn_id": self.conn_id,
                "remote": self.remote,
                "code": self.close_code,
                "reason": self.close_reason,
                "seconds": round(trio.current_time() - started, 3),
            }
            if self._close_detail:
                fields["detail"] = self._close_detail
            if self._violation:
                log.warning("conn.closed", **fields)
            else:
                log.info("conn.closed", **fields)

    async def _read_loop(self) -> None:
        timeout = self._limits.idle_timeout
        with trio.CancelScope(deadline=trio.current_time() + timeout) as idle:
            self._idle = idle
            receive = self._conn.receive
            while True:
                try:
                    frames = await receive()
                except TransportClosed as exc:
                    self._peer_closed(exc)
                    return
                idle.deadline = trio.current_time() + timeout
                try:
                    for frame in frames:
                        if self._closing:
                            break  # nothing after a logout or a kick is handled
                        await self._on_frame(frame)
                except ProtocolViolation as exc:
                    self._protocol_error(exc)
                    return
                if self._closing:
                    if self._close_after is not None and not self._ended:
                        self.end(*self._close_after)
                    return
        self._idle = None
        if idle.cancelled_caught:
            self.end(CLOSE_NORMAL, "idle timeout", f"no frame for {timeout:g} s")

    def _protocol_error(self, exc: ProtocolViolation) -> None:
        self._violation = True
        self.end(CLOSE_POLICY_VIOLATION, "protocol error", str(exc))

    def _peer_closed(self, exc: TransportClosed) -> None:
        if exc.code == CLOSE_TOO_BIG:
            self._violation = True
            self.end(CLOSE_TOO_BIG, "frame too big", exc.reason)
        elif exc.code == CLOSE_ABNORMAL:
            self.end(CLOSE_ABNORMAL, "connection lost")
        else:
            self.end(exc.code, "closed by peer", exc.reason)

    async def _on_frame(self, frame: str | bytes) -> None:
        req = self._request(frame)
        if req is not None:
            self._apply(await self._dispatcher.handle(self, req))

    def _request(self, frame: str | bytes) -> WsRequest | None:
        """The admitted request in a binary frame; None for a text frame (a heartbeat, answered here)."""
        if isinstance(frame, str):
            try:
                kind = parse_text_frame(frame)
            except EnvelopeError as exc:
                raise ProtocolViolation(f"text frame: {exc}") from None
            if kind == "ping":
                self.push(PONG_TEXT)
            return None
        try:
            req = self.codec.decode_request(frame)
        except EnvelopeError as exc:
            raise ProtocolViolation(f"envelope: {exc}") from None
        admit(req, self.user_id)
        return req

    def _apply(self, handled: Handled) -> None:
        for out in handled.frames:
            if not self.push(out):
                return
        if handled.close:
            self.close_after_flush(CLOSE_NORMAL, "logout")

    # -- reading through the gateway's reactor (openim.gateway.reactor) --------------------------------
    async def _serve_polled(self, conn: PolledConnection) -> None:
        """The session's task while the reactor reads: it sleeps until the idle deadline or until a
        frame needs waiting for (handed over by :meth:`on_readable`), and closes when told to."""
        reactor = self._reactor
        assert reactor is not None
        self._waiting = deque()
        self._wake = trio.lowlevel.ParkingLot()
        self._seen = trio.current_time()
        timeout = self._limits.idle_timeout
        self._fd = conn.fileno()
        reactor.add(self._fd, self)
        try:
            self.on_readable()  # what came with the handshake
            while not self._closing:
                if self._waiting:
                    await self._work_off(self._waiting)
                    continue
                deadline = self._seen + timeout
                if trio.current_time() >= deadline:
                    self.end(CLOSE_NORMAL, "idle timeout", f"no frame for {timeout:g} s")
                    return
                with trio.move_on_at(deadline):
                    await self._wake.park()
            if self._close_after is not None and not self._ended:
                self.end(*self._close_after)
        finally:
            self._stop_reading()

    def _stop_reading(self) -> None:
        if self._fd >= 0 and self._reactor is not None:
            self._reactor.discard(self._fd, self)
            self._fd = -1

    def on_readable(self) -> None:
        """Called by the reactor: one read; each frame handled now, or queued for this session's task
        when it must wait (or when earlier work waits: the connection's order is kept)."""
        conn = self._polled
        if conn is None or self._closing:
            if self._going_away and conn is not None:
                self._read_close_answer(conn)
            else:
                self._stop_reading()  # level-triggered: unread bytes would wake the reactor again and again
            return
        messages, closed = conn.read_nowait()
        if messages:
            self._seen = trio.current_time()
            try:
                self._take(messages)
            except ProtocolViolation as exc:
                self._protocol_error(exc)
                return
            except Exception:  # a bug costs this connection, never the reactor
                log.error("conn.read_failed", user_id=self.user_id, conn_id=self.conn_id, exc_info=True)
                self.end(CLOSE_ABNORMAL, "internal error")
                return
        if closed is not None:
            self._stop_reading()
            if self._busy:
                self._waiting_append(closed)
            else:
                self._peer_closed(closed)
        elif self._closing and self._wake is not None:
            self._wake.unpark_all()  # a logout or kick among these frames: the task closes

    def _read_close_answer(self, conn: PolledConnection) -> None:
        """Drain: the peer's answer to our close frame (frames it sent before are dropped, as RFC 6455
        allows after a close frame); the session ends once the connection is closed."""
        _, closed = conn.read_nowait()
        if closed is not None:
            self._going_away = False
            self._stop_reading()
            self._scope.cancel()

    def _take(self, messages: list[str | bytes]) -> None:
        waiting = self._waiting
        assert waiting is not None and self._wake is not None
        for i, frame in enumerate(messages):
            if self._closing:
                return  # nothing after a logout or a kick is handled
            if self._busy:
                waiting.extend(messages[i:])
                return
            req = self._request(frame)
            if req is None:
                continue
            handled = self._dispatcher.handle_now(self, req)
            if isinstance(handled, Handled):
                self._apply(handled)
            else:
                self._busy = True
                waiting.append(handled)
                waiting.extend(messages[i + 1 :])
                self._wake.unpark_all()
                return

    def _waiting_append(self, closed: TransportClosed) -> None:
        """The peer closed while earlier frames still wait: the close is handled after them."""
        assert self._waiting is not None

        async def close() -> Handled:
            self._peer_closed(closed)
            return Handled(())

        self._waiting.append(close)

    async def _work_off(self, waiting: deque[_Waiting]) -> None:
        """Handle the waiting work in order; the reactor queues behind it until it is done."""
        try:
            while waiting and not self._closing:
                item = waiting.popleft()
                if isinstance(item, (str, bytes)):
                    await self._on_frame(item)
                else:
                    self._apply(await item())
        except ProtocolViolation as exc:
            self._protocol_error(exc)
        finally:
            if self._closing:
                waiting.clear()
            self._busy = bool(waiting)

    async def _write_rest(self) -> None:
        """The kernel buffer was full: wait until it takes everything queued, then maybe close."""
        try:
            await self._conn.flush()
        except TransportClosed as exc:
            self._peer_closed(exc)
            return
        finally:
            self._writing = False
        self._backlog = 0
        if self._close_after is not None:
            self.end(*self._close_after)

    async def _ping_loop(self) -> None:
        while not self._ended:
            await trio.sleep(self._limits.ping_interval)
            await self.ping_once()

    async def ping_once(self) -> None:
        """One protocol ping; its pong (within one interval) pushes the idle deadline back."""
        if self._ended:
            return
        interval = self._limits.ping_interval
        try:
            with trio.move_on_after(interval):
                await self._conn.ping()
                self.touch()
        except TransportClosed:
            return
