"""One authenticated WebSocket connection: three tasks around two queues.

::

    reader ──ping──────────────────────────────► outbound queue ──► writer ──► socket
       │                                              ▲
       └─requests──► request queue ──► request task ──┘ (reply, then echo)
                                                      ▲
                          inbox (pushes, kicks, 2005) ┘ push(): never blocks

Why this shape:

- The **reader** only classifies frames. It answers ``{"type":"ping"}`` itself, by putting the pong on
  the outbound queue, so a slow request (a 1003 waiting for its commit) never delays a heartbeat: the
  JS SDK closes the socket when one pong is late. Every frame re-arms the idle deadline.
- The **request task** runs requests one at a time in arrival order, as the Go gateway does per
  connection (the SDK serialises sends anyway). The request queue is bounded: a client that pipelines
  more than that waits for TCP backpressure, it cannot grow our memory.
- The **writer** is the only task that writes data frames, so the order on the wire is the enqueue
  order (the 1003 reply before its echo, the kick frame before the close).
- **Pushes** come from synchronous inbox handlers and must not wait for a slow client. ``push`` is
  non-blocking; when the outbound queue is full the client is not keeping up, and the connection is
  dropped (counted in ``push_dropped``): it reconnects and syncs, since push is best effort and sync
  is the guarantee (DESIGN.md invariant 4).

Closing is first-reason-wins: :meth:`Session.end` records why and cancels the tasks; the close frame
is sent once, on the way out. :meth:`Session.close_after_flush` instead queues the close behind the
frames already queued (kick, logout).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import trio

from openim.gateway.requests import Dispatcher, ProtocolViolation, admit
from openim.gateway.transport import (
    CLOSE_ABNORMAL,
    CLOSE_NORMAL,
    CLOSE_POLICY_VIOLATION,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN_LATER,
    TransportClosed,
    WsConnection,
)
from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.wire.envelope import KICK_FRAME, PONG_TEXT, EnvelopeError, WsRequest, decode_request, parse_text_frame

__all__ = ["Session", "SessionLimits"]

log = get_log("gateway")

# Codes a close frame may not carry (RFC 6455 7.4.1): reported by the library, replaced when we close.
_NOT_SENDABLE: Final = frozenset({1005, CLOSE_ABNORMAL, 1015})


# Most frames one write carries; bounds the latency a huge backlog adds to the first of them.
WRITE_BATCH = 256


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Timers and queue bounds of a session.

    ``outbound_frames``: the Go gateway uses 256; we allow more because a frame here is a reference to
    bytes shared by every recipient, so a burst to a healthy client costs little, while a stuck client
    still fills it within seconds under load. ``ping_interval`` 0 disables protocol pings (the gateway
    enables them for Web connections, as OpenIM does).
    """

    idle_timeout: float = 30.0
    ping_interval: float = 0.0
    outbound_frames: int = 512
    pending_requests: int = 64


@dataclass(frozen=True, slots=True)
class _CloseMarker:
    code: int
    reason: str


_Outbound = bytes | str | _CloseMarker


class Session:
    """The server side of one logged-in connection (see the module docstring for the task layout)."""

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
        token_issued_ms: int = 0,
    ) -> None:
        self.conn_id = conn_id
        self.user_id = user_id
        self.platform_id = platform_id
        self.token = token
        self.token_issued_ms = token_issued_ms  # "newest login wins" compares this (tokens.Claims.issued_ms)
        self.is_admin = is_admin
        self.background = False  # only 2004 changes it (OpenIM ignores the handshake's isBackground)
        self.remote = conn.remote
        self._conn = conn
        self._dispatcher = dispatcher
        self._metrics = metrics
        self._limits = limits
        self._out_send, self._out_recv = trio.open_memory_channel[_Outbound](limits.outbound_frames)
        self._req_send, self._req_recv = trio.open_memory_channel[WsRequest](limits.pending_requests)
        self._scope = trio.CancelScope()
        self._idle: trio.CancelScope | None = None
        self._closing = False  # a close is queued or done: accept no more frames
        self._ended = False
        self.close_code = CLOSE_NORMAL
        self.close_reason = ""
        self._close_detail = ""
        self._violation = False

    def __repr__(self) -> str:
        return f"<Session {self.conn_id} {self.user_id}/{self.platform_id}>"

    # -- called from anywhere (synchronous, never blocks) ----------------------------------------------
    def push(self, frame: bytes | str) -> bool:
        """Queue a frame for the writer; False if the session is closing or was just dropped for
        being too slow (the queue was full)."""
        if self._closing:
            return False
        try:
            self._out_send.send_nowait(frame)
        except trio.WouldBlock:
            self._metrics.push_dropped.inc()
            self.end(CLOSE_TRY_AGAIN_LATER, "slow consumer", f"outbound queue full ({self._limits.outbound_frames})")
            return False
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        return True

    def close_after_flush(self, code: int, reason: str) -> None:
        """Close once the frames queued so far are written (or at once if the queue is full)."""
        if self._closing:
            return
        try:
            self._out_send.send_nowait(_CloseMarker(code, reason))
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            self.end(code, reason)
        self._closing = True

    def kick(self) -> None:
        """Another login replaced this one (or an admin forced a logout): 2002, then close."""
        self.push(KICK_FRAME)
        self.close_after_flush(CLOSE_NORMAL, "kicked")

    def end(self, code: int, reason: str, detail: str = "") -> None:
        """Stop the session now; the first reason given is the one sent and logged."""
        if not self._ended:
            self._ended = True
            self.close_code, self.close_reason, self._close_detail = code, reason, detail
        self._closing = True
        self._scope.cancel()

    def touch(self) -> None:
        """Proof of life from the peer: push the idle deadline back."""
        if self._idle is not None:
            self._idle.deadline = trio.current_time() + self._limits.idle_timeout

    @property
    def ended(self) -> bool:
        return self._ended

    # -- the session's life -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the connection until it closes for any reason; always sends the close and logs once."""
        started = trio.current_time()
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._write_loop)
                    nursery.start_soon(self._request_loop)
                    if self._limits.ping_interval > 0:
                        nursery.start_soon(self._ping_loop)
                    await self._read_loop()
                    nursery.cancel_scope.cancel()
        finally:
            self._closing = True
            self._out_send.close()
            self._req_send.close()
            code = CLOSE_NORMAL if self.close_code in _NOT_SENDABLE else self.close_code
            with trio.CancelScope(shield=True):
                await self._conn.close(code, self.close_reason)
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
        with trio.CancelScope(deadline=trio.current_time() + self._limits.idle_timeout) as idle:
            self._idle = idle
            while True:
                try:
                    frame = await self._conn.receive()
                except TransportClosed as exc:
                    self._peer_closed(exc)
                    return
                idle.deadline = trio.current_time() + self._limits.idle_timeout
                try:
                    await self._on_frame(frame)
                except ProtocolViolation as exc:
                    self._violation = True
                    self.end(CLOSE_POLICY_VIOLATION, "protocol error", str(exc))
                    return
        self._idle = None
        if idle.cancelled_caught:
            self.end(CLOSE_NORMAL, "idle timeout", f"no frame for {self._limits.idle_timeout:g} s")

    def _peer_closed(self, exc: TransportClosed) -> None:
        if exc.code == CLOSE_TOO_BIG:
            self._violation = True
            self.end(CLOSE_TOO_BIG, "frame too big", exc.reason)
        elif exc.code == CLOSE_ABNORMAL:
            self.end(CLOSE_ABNORMAL, "connection lost")
        else:
            self.end(exc.code, "closed by peer", exc.reason)

    async def _on_frame(self, frame: str | bytes) -> None:
        if isinstance(frame, str):
            try:
                kind = parse_text_frame(frame)
            except EnvelopeError as exc:
                raise ProtocolViolation(f"text frame: {exc}") from None
            if kind == "ping":
                self.push(PONG_TEXT)
            return
        try:
            req = decode_request(frame)
        except EnvelopeError as exc:
            raise ProtocolViolation(f"envelope: {exc}") from None
        admit(req, self.user_id)
        await self._req_send.send(req)

    async def _request_loop(self) -> None:
        async for req in self._req_recv:
            try:
                handled = await self._dispatcher.handle(self, req)
            except ProtocolViolation as exc:
                self._violation = True
                self.end(CLOSE_POLICY_VIOLATION, "protocol error", str(exc))
                return
            for frame in handled.frames:
                if not self.push(frame):
                    return
            if handled.close:
                self.close_after_flush(CLOSE_NORMAL, "logout")
                return

    async def _write_loop(self) -> None:
        """Write frames in queue order; everything queued at the moment leaves in one write."""
        async for first in self._out_recv:
            batch: list[bytes | str | _CloseMarker] = [first]
            while len(batch) < WRITE_BATCH:
                try:
                    batch.append(self._out_recv.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            frames: list[bytes | str] = []
            close: _CloseMarker | None = None
            for item in batch:
                if isinstance(item, _CloseMarker):
                    close = item
                    break
                frames.append(item)
            try:
                if frames:
                    await self._conn.send_many(frames)
            except TransportClosed as exc:
                self._peer_closed(exc)
                return
            if close is not None:
                self.end(close.code, close.reason)
                return

    async def _ping_loop(self) -> None:
        interval = self._limits.ping_interval
        while True:
            await trio.sleep(interval)
            try:
                with trio.move_on_after(interval):
                    await self._conn.ping()
                    self.touch()
            except TransportClosed:
                return
