"""The HTTP upgrade request of a WebSocket handshake, parsed without a library when it is plain.

Why: every login pays the handshake, and h11 + wsproto cost ~45 µs of parsing per login plus ~30
objects kept for the connection's life (docs/performance.md, "Logins and idle connections"). The
requests SDKs send are always the same shape — ``GET <target> HTTP/1.1``, a handful of headers, nothing
after the blank line — so :func:`parse_plain_upgrade` reads exactly that shape and answers ``None`` for
anything else (another method or version, a header h11 would judge, a body, bytes after the request, a
missing or wrong WebSocket header); the transport then hands the same bytes to wsproto, which accepts
or refuses them as it always did. So the fast path never decides a refusal: what it accepts, wsproto
accepts too, with the same target and the same headers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "MAX_REQUEST_BYTES",
    "PlainUpgrade",
    "accept_response",
    "http_response",
    "may_be_plain",
    "parse_plain_upgrade",
]

# h11's limit for an incomplete request head; past it the request goes to wsproto, which refuses it.
MAX_REQUEST_BYTES: Final = 16 * 1024
_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3
_TOKEN: Final = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+\Z")  # RFC 9110 field-name
_VALUE: Final = re.compile(rb"[\t\x20-\x7e]*\Z")  # visible ASCII, space, tab (no obs-text: wsproto's path)
_TARGET: Final = re.compile(rb"[\x21-\x7e]+\Z")
# Headers wsproto takes out of the request's extra headers (it reads them itself).
_NOT_EXTRA: Final = frozenset({b"host", b"sec-websocket-extensions", b"sec-websocket-protocol"})
# Headers that must appear at most once for the plain path (a repeat goes to h11/wsproto to judge).
_ONCE: Final = frozenset(
    {b"host", b"connection", b"upgrade", b"sec-websocket-key", b"sec-websocket-version"}
)
_BODY: Final = frozenset({b"content-length", b"transfer-encoding"})


@dataclass(frozen=True, slots=True)
class PlainUpgrade:
    """A valid WebSocket upgrade request: the target and the extra headers as wsproto reports them
    (lower-cased names, later duplicates win), and the client's key for the 101."""

    target: str
    headers: dict[str, str]
    key: bytes


def may_be_plain(buf: bytes) -> bool:
    """Whether the bytes so far can still become a plain request (else wsproto should judge them now)."""
    if len(buf) > MAX_REQUEST_BYTES:
        return False
    start = buf[:4]
    return b"GET "[: len(start)] == start


def parse_plain_upgrade(buf: bytes) -> PlainUpgrade | None:
    """The request in ``buf`` if it is a complete, plain, valid upgrade request with nothing after it."""
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not sep or rest or len(buf) > MAX_REQUEST_BYTES:
        return None
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[2] != b"HTTP/1.1" or not _TARGET.match(parts[1]):
        return None
    seen: set[bytes] = set()
    headers: dict[str, str] = {}
    connection = upgrade = version = key = b""
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.match(name):
            return None
        value = value.strip(b" \t")
        if not _VALUE.match(value):
            return None
        name = name.lower()
        if name in _BODY:
            return None
        if name in _ONCE:
            if name in seen:
                return None
            seen.add(name)
        if name == b"connection":
            connection = value
        elif name == b"upgrade":
            upgrade = value
        elif name == b"sec-websocket-version":
            version = value
        elif name == b"sec-websocket-key":
            key = value
        if name not in _NOT_EXTRA:
            headers[name.decode("latin-1")] = value.decode("latin-1")
    if (
        b"host" not in seen
        or not key
        or version != b"13"
        or upgrade.lower() != b"websocket"
        or not any(token.strip().lower() == b"upgrade" for token in connection.split(b","))
    ):
        return None
    return PlainUpgrade(parts[1].decode("ascii"), headers, key)


def accept_response(key: bytes) -> bytes:
    """The 101 answer to a request with ``key`` (no extension, no subprotocol: the gateway uses none)."""
    token = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + token + b"\r\n\r\n"
    )


def http_response(status: int, body: bytes, content_type: str) -> bytes:
    """A plain HTTP/1.1 response with a body, as h11 writes it for a refused upgrade."""
    return b"HTTP/1.1 %d \r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (
        status, content_type.encode("latin-1"), len(body), body,
    )
