"""RFC 6455 frames after the handshake: the server side's reader and writer, without a library.

Why our own: after the upgrade the gateway needs only a small part of WebSocket — read masked client
frames, write unmasked server frames — and it needs it for every message. wsproto's reader costs
~15-20 µs per frame in pure Python (most of it unmasking byte by byte); here a frame header is a few
integer operations and the unmasking is one call into the C helper that the ``websockets`` package
ships (``websockets.speedups.apply_mask``), with a pure-Python fallback of the same result (an XOR of
two big integers) when that extension is missing.

:class:`FrameReader` is sans-I/O: feed it bytes, get whole messages and control frames back.
:func:`encode_frame` builds one unfragmented server frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONT",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameError",
    "FrameReader",
    "apply_mask",
    "apply_mask_python",
    "close_payload",
    "encode_frame",
    "parse_close",
]

OP_CONT: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA

_DATA_OPS: Final = frozenset({OP_CONT, OP_TEXT, OP_BINARY})
_CONTROL_OPS: Final = frozenset({OP_CLOSE, OP_PING, OP_PONG})


class FrameError(Exception):
    """The peer broke RFC 6455; ``code`` is the close code to answer with (1002, 1007 or 1009)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def apply_mask_python(data: bytes, mask: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` repeated: one big-integer XOR instead of a byte loop."""
    n = len(data)
    if n == 0:
        return b""
    repeated = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")).to_bytes(n, "little")


def _load_apply_mask() -> Callable[[bytes, bytes], bytes]:
    try:
        from websockets.speedups import apply_mask as c_apply_mask  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the wheel without its C extension: correct, only slower
        return apply_mask_python
    fn: Callable[[bytes, bytes], bytes] = c_apply_mask
    return fn


apply_mask: Final = _load_apply_mask()


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final (FIN) server frame; servers never mask (RFC 6455 5.1)."""
    n = len(payload)
    if n < 126:
        return bytes((0x80 | opcode, n)) + payload
    if n < 65536:
        return bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big") + payload


def close_payload(code: int, reason: str) -> bytes:
    """A close frame's body: the code, then at most 123 bytes of UTF-8 reason (125 in all)."""
    return code.to_bytes(2, "big") + reason.encode()[:123].decode(errors="ignore").encode()


def parse_close(payload: bytes) -> tuple[int, str]:
    """(code, reason) of a close frame; 1005 when the peer gave no code."""
    if len(payload) < 2:
        return 1005, ""
    return int.from_bytes(payload[:2], "big"), payload[2:].decode(errors="replace")


Message = tuple[int, bytes]  # (opcode, payload): OP_TEXT/OP_BINARY whole messages, or a control frame


class FrameReader:
    """Turns the bytes a client sent into whole messages and control frames.

    ``feed`` returns everything complete so far, in order. Text payloads stay bytes here (the caller
    decodes when it wants a str); fragments are joined and the message size is bounded by
    ``max_message`` (1009 beyond it), checked on the header before the payload is buffered.
    """

    __slots__ = ("_buf", "_frag_op", "_frags", "_frags_size", "_max")

    def __init__(self, max_message: int) -> None:
        self._buf = b""
        self._max = max_message
        self._frag_op = -1  # opcode of the fragmented message being assembled, -1 when none
        self._frags: list[bytes] = []
        self._frags_size = 0

    def feed(self, data: bytes) -> list[Message]:
        buf = self._buf + data if self._buf else data
        out: list[Message] = []
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            if b0 & 0x70:
                raise FrameError(1002, "reserved bits set")
            if not b1 & 0x80:
                raise FrameError(1002, "client frame not masked")
            n = b1 & 0x7F
            head = pos + 2
            if n == 126:
                if end - head < 2:
                    break
                n = (buf[head] << 8) | buf[head + 1]
                head += 2
            elif n == 127:
                if end - head < 8:
                    break
                n = int.from_bytes(buf[head : head + 8], "big")
                head += 8
            opcode = b0 & 0x0F
            if n > self._max or (opcode == OP_CONT and self._frags_size + n > self._max):
                raise FrameError(1009, "message too big")
            start = head + 4
            stop = start + n
            if stop > end:
                break
            payload = apply_mask(buf[start:stop], buf[head:start]) if n else b""
            pos = stop
            fin = b0 & 0x80
            if opcode in _CONTROL_OPS:
                if not fin or n > 125:
                    raise FrameError(1002, "bad control frame")
                out.append((opcode, payload))
            elif opcode == OP_CONT:
                if self._frag_op < 0:
                    raise FrameError(1002, "continuation without a message")
                self._frags.append(payload)
                self._frags_size += n
                if fin:
                    out.append((self._frag_op, b"".join(self._frags)))
                    self._frag_op, self._frags, self._frags_size = -1, [], 0
            elif opcode in _DATA_OPS:
                if self._frag_op >= 0:
                    raise FrameError(1002, "new message inside a fragmented one")
                if fin:
                    out.append((opcode, payload))
                else:
                    self._frag_op, self._frags, self._frags_size = opcode, [payload], n
            else:
                raise FrameError(1002, f"unknown opcode {opcode}")
        self._buf = buf[pos:] if pos < end else b""
        return out
