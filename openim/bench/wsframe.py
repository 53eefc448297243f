"""The bench's own RFC 6455 frame codec, client side, for after the handshake.

Why not wsproto past the upgrade: its pure-Python frame parser and masker were a quarter of the load
process's time. A client here needs very little of RFC 6455:

- **Writing**: every client frame must be masked, but the mask key is the client's choice, and an
  all-zero key is legal and leaves the payload as it is: a frame is a header of 6, 8 or 14 bytes
  (FIN + opcode, MASK bit + length, zero key) and the payload, with no per-byte work at all.
- **Reading**: server frames are never masked (RFC 6455 5.1), so reading is a header parse and a
  slice. :func:`split_frames` takes what one ``recv`` returned (plus the tail of the previous one)
  and returns the complete frames and the bytes of an incomplete last frame.

Fragmented messages (FIN clear, then continuation frames) are returned frame by frame; the engine
joins them. Extensions are never negotiated (the bench does not offer any), so RSV bits are ignored.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameError",
    "client_frame",
    "client_header",
    "split_frames",
]

OP_CONTINUATION: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA

_ZERO_KEY: Final = b"\0\0\0\0"


class FrameError(ValueError):
    """The server sent something that is not a frame a server may send (a masked frame)."""


def client_header(opcode: int, length: int, fin: bool = True) -> bytes:
    """The header of a masked client frame with the all-zero key: the payload follows unchanged."""
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        return bytes((first, 0x80 | length)) + _ZERO_KEY
    if length < 65536:
        return bytes((first, 0xFE, length >> 8, length & 0xFF)) + _ZERO_KEY
    return bytes((first, 0xFF)) + length.to_bytes(8, "big") + _ZERO_KEY


def client_frame(opcode: int, payload: bytes) -> bytes:
    return client_header(opcode, len(payload)) + payload


def split_frames(buf: bytes, limit: int = 1 << 62) -> tuple[list[tuple[int, bytes]], bytes]:
    """Complete server frames in ``buf`` (at most ``limit``) as ``(first byte, payload)``, and the rest.

    The first byte carries FIN (``& 0x80``) and the opcode (``& 0x0F``). Raises :class:`FrameError`
    for a masked frame.
    """
    frames: list[tuple[int, bytes]] = []
    i = 0
    n = len(buf)
    while n - i >= 2 and len(frames) < limit:
        b1 = buf[i + 1]
        if b1 & 0x80:
            raise FrameError("the server sent a masked frame")
        length = b1
        h = i + 2
        if length == 126:
            if n - h < 2:
                break
            length = (buf[h] << 8) | buf[h + 1]
            h += 2
        elif length == 127:
            if n - h < 8:
                break
            length = int.from_bytes(buf[h : h + 8], "big")
            h += 8
        end = h + length
        if end > n:
            break
        frames.append((buf[i], buf[h:end]))
        i = end
    return frames, buf[i:] if i < n else b""
