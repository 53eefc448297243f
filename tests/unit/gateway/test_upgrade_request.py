"""The plain-request path of the WebSocket handshake (openim.gateway.upgrade_request): what it takes,
wsproto takes the same way (target, headers, 101 bytes); what it declines goes to wsproto."""

from __future__ import annotations

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection, RejectData, Request

from openim.gateway.upgrade_request import (
    MAX_REQUEST_BYTES,
    accept_response,
    http_response,
    may_be_plain,
    parse_plain_upgrade,
)

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
PLAIN = (
    b"GET /?sendID=u1&token=t&platformID=5&operationID=op&isMsgResp=true HTTP/1.1\r\n"
    b"Host: 127.0.0.1:10001\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + KEY + b"\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    b"User-Agent: test\r\ncompression:  gzip \r\n\r\n"
)


def _wsproto(data: bytes) -> tuple[WSConnection, Request]:
    ws = WSConnection(ConnectionType.SERVER)
    ws.receive_data(data)
    events = list(ws.events())
    assert isinstance(events[0], Request)
    return ws, events[0]


def test_plain_request_reads_as_wsproto_reads_it() -> None:
    plain = parse_plain_upgrade(PLAIN)
    assert plain is not None
    ws, request = _wsproto(PLAIN)
    assert plain.target == request.target
    expected = {k.decode().lower(): v.decode() for k, v in request.extra_headers}  # type: ignore[union-attr]
    assert plain.headers == expected
    assert plain.headers["compression"] == "gzip"
    assert "host" not in plain.headers and "sec-websocket-extensions" not in plain.headers
    # the same 101 (no extension accepted, no subprotocol)
    assert accept_response(plain.key) == ws.send(AcceptConnection())


def test_refusal_response_is_what_wsproto_writes() -> None:
    ws, _ = _wsproto(PLAIN)
    body = b'{"errCode":1501}'
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    expected = ws.send(RejectConnection(status_code=200, headers=headers, has_body=True))
    expected += ws.send(RejectData(data=body, body_finished=True))
    assert http_response(200, body, "application/json; charset=utf-8") == expected


@pytest.mark.parametrize(
    "data",
    [
        PLAIN.replace(b"GET ", b"POST "),
        PLAIN.replace(b"HTTP/1.1", b"HTTP/1.0", 1),
        PLAIN.replace(b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 8"),
        PLAIN.replace(b"Sec-WebSocket-Key: " + KEY + b"\r\n", b""),
        PLAIN.replace(b"Host: 127.0.0.1:10001\r\n", b""),
        PLAIN.replace(b"Upgrade: WebSocket", b"Upgrade: h2c"),
        PLAIN.replace(b"keep-alive, Upgrade", b"keep-alive"),
        PLAIN.replace(b"User-Agent: test", b"User-Agent: t\xe9st"),  # obs-text: h11 judges it
        PLAIN.replace(b"User-Agent: test", b"Bad Name: x"),
        PLAIN.replace(b"User-Agent: test", b"Content-Length: 2"),
        PLAIN.replace(b"User-Agent: test", b"Host: again"),
        PLAIN.replace(b"User-Agent: test\r\n", b"User-Agent: test\r\n folded\r\n"),
        PLAIN + b"\x81\x80\x00\x00\x00\x00",  # a frame right behind the request
        PLAIN[:-2],  # incomplete
    ],
)
def test_anything_else_goes_to_wsproto(data: bytes) -> None:
    assert parse_plain_upgrade(data) is None


def test_may_be_plain_stops_waiting_for_what_cannot_become_a_get() -> None:
    assert may_be_plain(b"")
    assert may_be_plain(b"GE")
    assert may_be_plain(PLAIN[:40])
    assert not may_be_plain(b"PUT / HTTP/1.1\r\n")
    assert not may_be_plain(b"\x16\x03\x01")  # TLS hello on the plain port
    assert not may_be_plain(b"GET /" + b"a" * MAX_REQUEST_BYTES)
