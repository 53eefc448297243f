"""The login of one simulated client: TCP, the WebSocket upgrade, the OpenIM handshake result.

This is the connect phase only; it runs under trio (many logins in flight, each waiting on its own
socket), and hands over a plain non-blocking socket plus whatever bytes arrived after the handshake
frame. From then on the connection belongs to the load engine (openim/bench/engine.py), which speaks
the frames itself (openim/bench/wsframe.py).

The HTTP upgrade is wsproto's (request, ``Sec-WebSocket-Accept`` check, refusals with their body);
wsproto is fed exactly the bytes of the HTTP response, so that the frames behind it stay ours. The
first data frame after the upgrade is the SDK's handshake result, judged by the codec
(:meth:`openim.bench.codec.LoadCodec.handshake_result`); a ping before it is answered.

Errors: :class:`LoginFailed` for a refused or broken login (the run counts it and goes on).
"""

from __future__ import annotations

import socket

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection, RejectData, Request

from openim.bench.codec import LoadCodec
from openim.bench.wsframe import OP_CLOSE, OP_PING, OP_PONG, client_frame, split_frames
from openim.sockets import close_socket, receive, send_all

__all__ = ["LoginFailed", "connect"]

_RECV_SIZE = 64 * 1024
_MAX_HEADER = 64 * 1024


class LoginFailed(Exception):
    """The server refused the login (HTTP answer, non-zero errCode) or the socket broke during it."""


async def connect(host: str, port: int, target: str, codec: LoadCodec[object, object]) -> tuple[socket.socket, bytes]:
    """Log one client in; return its socket (non-blocking) and the bytes read past the handshake frame."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        try:
            sock.connect((host, port))
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, f"connect to {host}:{port} failed") from None
        rest = await _upgrade(sock, host, port, target)
        return sock, await _handshake_frame(sock, rest, codec)
    except OSError as exc:
        close_socket(sock)
        raise LoginFailed(str(exc)) from exc
    except BaseException:
        close_socket(sock)
        raise


async def _upgrade(sock: socket.socket, host: str, port: int, target: str) -> bytes:
    """The HTTP upgrade through wsproto; returns the bytes that followed the 101 response."""
    ws = WSConnection(ConnectionType.CLIENT)
    await send_all(sock, ws.send(Request(host=f"{host}:{port}", target=target)))
    buf = b""
    while (end := buf.find(b"\r\n\r\n")) < 0:
        if len(buf) > _MAX_HEADER:
            raise LoginFailed("no end of the HTTP response header")
        data = await receive(sock, _RECV_SIZE)
        if not data:
            raise LoginFailed("server closed the connection during the upgrade")
        buf += data
    ws.receive_data(buf[: end + 4])
    rest = buf[end + 4 :]
    for event in ws.events():
        if isinstance(event, AcceptConnection):
            return rest
        if isinstance(event, RejectConnection):
            raise LoginFailed(f"upgrade refused: HTTP {event.status_code} {await _reject_body(sock, ws, rest)}")
    raise LoginFailed("the server's answer to the upgrade is not a WebSocket accept")


async def _reject_body(sock: socket.socket, ws: WSConnection, rest: bytes) -> str:
    """The body of a refused upgrade (the server says why there), as far as it arrives within 5 s."""
    body = b""
    chunk: bytes | None = rest or None
    with trio.move_on_after(5):
        while True:
            if chunk is not None:
                ws.receive_data(chunk or None)  # b"" from recv is the end of the stream: None for wsproto
                for event in ws.events():
                    if isinstance(event, RejectData):
                        body += event.data
                        if event.body_finished:
                            return body.decode(errors="replace")[:300]
                if not chunk:
                    break
            chunk = await receive(sock, _RECV_SIZE)
    return body.decode(errors="replace")[:300]


async def _handshake_frame(sock: socket.socket, buf: bytes, codec: LoadCodec[object, object]) -> bytes:
    while True:
        while True:
            frames, tail = split_frames(buf, limit=1)
            if not frames:
                break
            (first, payload) = frames[0]
            buf = tail
            opcode = first & 0x0F
            if opcode == OP_PING:
                await send_all(sock, client_frame(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 0
                raise LoginFailed(f"closed during handshake: {code} {payload[2:].decode(errors='replace')}")
            elif opcode < 8:
                refusal = codec.handshake_result(opcode, payload)
                if refusal is not None:
                    raise LoginFailed(refusal)
                return buf
        data = await receive(sock, _RECV_SIZE)
        if not data:
            raise LoginFailed("server closed the connection during the handshake")
        buf += data
