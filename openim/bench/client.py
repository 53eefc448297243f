"""One simulated client connection of ``openim bench``: WebSocket login, frames in, frames out.

Two backings share one small interface (:class:`BenchConnection`):

- :class:`WsprotoConnection` (the default): wsproto's sans-I/O state machine on a plain non-blocking
  socket that trio only waits on. A connection is one task and a few objects; everything a handler
  sends while it reacts to one read is written with ONE ``send()`` call, and a write that the kernel
  takes at once never touches the scheduler. That is what lets one load core hold thousands of
  connections and still outrun the server.
- :class:`TrioWebsocketConnection`: the card's trio-websocket, one ``send_message`` per frame from a
  writer task. Kept for the comparison in docs/performance.md (``--client trio-websocket``).

The OpenIM part of the handshake is the same for both: the JS SDK's URL, then a first TEXT frame
whose ``errCode`` must be 0 (:data:`openim.wire.envelope.HANDSHAKE_OK_TEXT`). After that the server
sends binary envelopes and, for heartbeats, text pongs, which a handler may ignore.

Errors: :class:`LoginFailed` for a refused or broken handshake (the run reports it and stops);
a connection that closes later just ends :meth:`BenchConnection.run`.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Protocol

import trio
import trio_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from openim.wire.envelope import HANDSHAKE_OK_TEXT

__all__ = [
    "CLIENT_KINDS",
    "BenchConnection",
    "FrameHandler",
    "LoginFailed",
    "TrioWebsocketConnection",
    "WsprotoConnection",
    "login_target",
    "new_connection",
]

# How much one read takes from the kernel: a burst of pushes arrives in one go.
_RECV_SIZE = 256 * 1024

FrameHandler = Callable[[str | bytes], None]


class LoginFailed(Exception):
    """The server refused the login (HTTP answer, non-zero errCode) or the socket broke during it."""


def login_target(user_id: str, token: str, operation_id: str, platform_id: int = 5) -> str:
    """The request target the JS SDK opens: fixed key order, values not URL-encoded."""
    return (
        f"/?sendID={user_id}&token={token}&platformID={platform_id}&operationID={operation_id}"
        "&isBackground=false&isMsgResp=true&sdkType=js"
    )


def _check_handshake_text(text: str) -> None:
    if text == HANDSHAKE_OK_TEXT:
        return
    try:
        code = json.loads(text).get("errCode")
    except (ValueError, AttributeError):
        code = None
    if code != 0:
        raise LoginFailed(f"handshake refused: {text[:200]}")


class BenchConnection(Protocol):
    """What a workload needs from one client connection."""

    async def connect(self, host: str, port: int, target: str) -> None:
        """Open TCP, upgrade, and wait for the OpenIM handshake result; :class:`LoginFailed` if refused."""

    def send(self, frame: bytes | str) -> None:
        """Queue one frame (binary for bytes, text for str); never blocks, never raises on a closed socket."""

    async def run(self, on_frame: FrameHandler) -> None:
        """Deliver every incoming data frame to ``on_frame`` until the connection closes."""

    def close(self) -> None:
        """Drop the connection at once (no close handshake: the run is over)."""


# ---------------------------------------------------------------------------------------------
# wsproto on a raw non-blocking socket
# ---------------------------------------------------------------------------------------------


class WsprotoConnection:
    """A lean client: one socket, one wsproto state machine, one reader task, coalesced writes."""

    __slots__ = ("_closed", "_dispatching", "_out", "_partial", "_sock", "_writer_busy", "_ws")

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._out = bytearray()  # bytes not yet taken by the kernel
        self._dispatching = False  # inside run()'s handler loop: hold writes until the batch is done
        self._writer_busy = False  # a drain task is waiting for the socket to become writable
        self._closed = False
        self._partial: list[bytes | bytearray | str] = []  # fragments of a message split across reads

    async def connect(self, host: str, port: int, target: str) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        try:
            try:
                sock.connect((host, port))
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, f"connect to {host}:{port} failed") from None
            self._write_now(self._ws.send(Request(host=f"{host}:{port}", target=target)))
            accepted = False
            while True:
                data = await self._recv()
                if not data:
                    raise LoginFailed("server closed the connection during the handshake")
                self._ws.receive_data(data)
                for event in self._ws.events():
                    if isinstance(event, AcceptConnection):
                        accepted = True
                    elif isinstance(event, RejectConnection | RejectData):
                        body = event.data.decode(errors="replace") if isinstance(event, RejectData) else ""
                        raise LoginFailed(f"upgrade refused: {body or event}")
                    elif isinstance(event, TextMessage) and accepted:
                        _check_handshake_text(event.data)
                        return
                    elif isinstance(event, CloseConnection):
                        raise LoginFailed(f"closed during handshake: {event.code} {event.reason}")
        except OSError as exc:
            self.close()
            raise LoginFailed(str(exc)) from exc
        except LoginFailed:
            self.close()
            raise

    async def _recv(self) -> bytes:
        sock = self._sock
        assert sock is not None
        while True:
            try:
                return sock.recv(_RECV_SIZE)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)

    def send(self, frame: bytes | str) -> None:
        if self._closed:
            return
        event = BytesMessage(data=frame) if isinstance(frame, bytes) else TextMessage(data=frame)
        data = self._ws.send(event)
        if self._dispatching or self._out:
            self._out += data  # flushed at the end of the read batch, or by the drain task
        else:
            self._write_now(data)

    def _write_now(self, data: bytes | bytearray) -> None:
        """Try the kernel at once; whatever it does not take waits for the drain task."""
        sock = self._sock
        if sock is None or self._closed:
            return
        try:
            n = sock.send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            self.close()
            return
        if n < len(data):
            self._out += data[n:]
            if not self._writer_busy:
                self._writer_busy = True
                trio.lowlevel.spawn_system_task(self._drain)

    async def _drain(self) -> None:
        # A system task so that a slow socket never needs a nursery of its own; it ends when the
        # buffer is empty or the connection is closed.
        sock = self._sock
        try:
            while self._out and sock is not None and not self._closed:
                await trio.lowlevel.wait_writable(sock)
                try:
                    n = sock.send(self._out)
                except BlockingIOError:
                    continue
                except OSError:
                    self.close()
                    return
                del self._out[:n]
        except (trio.ClosedResourceError, OSError):
            self.close()
        finally:
            self._writer_busy = False

    def _flush(self) -> None:
        if self._out and not self._writer_busy:
            data = bytes(self._out)
            self._out.clear()
            self._write_now(data)

    async def run(self, on_frame: FrameHandler) -> None:
        ws = self._ws
        try:
            while not self._closed:
                data = await self._recv()
                if not data:
                    return
                ws.receive_data(data)
                self._dispatching = True
                try:
                    for event in ws.events():
                        if isinstance(event, BytesMessage | TextMessage):
                            if not event.message_finished:
                                self._partial.append(event.data)
                                continue
                            if self._partial:
                                self._partial.append(event.data)
                                joined: bytes | str = (
                                    "".join(p for p in self._partial if isinstance(p, str))
                                    if isinstance(event, TextMessage)
                                    else b"".join(p for p in self._partial if not isinstance(p, str))
                                )
                                self._partial.clear()
                                on_frame(joined)
                            else:
                                payload = event.data
                                on_frame(bytes(payload) if isinstance(payload, bytearray) else payload)
                        elif isinstance(event, Ping):
                            self._out += ws.send(event.response())
                        elif isinstance(event, CloseConnection):
                            return
                finally:
                    self._dispatching = False
                self._flush()
                await trio.lowlevel.checkpoint()
        except (OSError, trio.ClosedResourceError):
            return
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        sock, self._sock = self._sock, None
        if sock is not None:
            trio.lowlevel.notify_closing(sock)
            sock.close()


# ---------------------------------------------------------------------------------------------
# trio-websocket, for comparison
# ---------------------------------------------------------------------------------------------


class TrioWebsocketConnection:
    """trio-websocket with a writer task fed by an unbounded queue (one library send per frame)."""

    def __init__(self) -> None:
        self._ws: trio_websocket.WebSocketConnection | None = None
        self._queue_in, self._queue_out = trio.open_memory_channel[bytes | str](float("inf"))
        self._closed = False

    async def connect(self, host: str, port: int, target: str) -> None:
        try:
            self._ws = await trio_websocket.connect_websocket(
                _system_nursery(), host, port, target, use_ssl=False, message_queue_size=64
            )
            first = await self._ws.get_message()
        except (OSError, trio_websocket.HandshakeError, trio_websocket.ConnectionClosed) as exc:
            self._closed = True
            raise LoginFailed(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(first, str):
            raise LoginFailed("first frame is not the handshake text")
        _check_handshake_text(first)

    def send(self, frame: bytes | str) -> None:
        if not self._closed:
            self._queue_in.send_nowait(frame)

    async def run(self, on_frame: FrameHandler) -> None:
        ws = self._ws
        assert ws is not None

        async def writer() -> None:
            async for frame in self._queue_out:
                await ws.send_message(frame)

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(writer)
                try:
                    while True:
                        on_frame(await ws.get_message())
                finally:
                    nursery.cancel_scope.cancel()
        except (trio_websocket.ConnectionClosed, OSError, trio.BrokenResourceError):
            return
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue_in.close()
        if self._ws is not None:
            ws = self._ws
            # aclose() waits for the peer's close frame; at the end of a run nobody needs that.
            trio.lowlevel.spawn_system_task(_abort, ws)


async def _abort(ws: trio_websocket.WebSocketConnection) -> None:
    with trio.move_on_after(1):
        await ws.aclose()


_NURSERY: list[trio.Nursery] = []


def set_system_nursery(nursery: trio.Nursery) -> None:
    """trio-websocket runs a reader task per connection in a nursery the caller owns; the worker sets it."""
    _NURSERY[:] = [nursery]


def _system_nursery() -> trio.Nursery:
    if not _NURSERY:
        raise RuntimeError("set_system_nursery() was not called")
    return _NURSERY[0]


CLIENT_KINDS = ("wsproto", "trio-websocket")


def new_connection(kind: str) -> BenchConnection:
    if kind == "wsproto":
        return WsprotoConnection()
    if kind == "trio-websocket":
        return TrioWebsocketConnection()
    raise ValueError(f"unknown client kind {kind!r}; choose one of {', '.join(CLIENT_KINDS)}")
