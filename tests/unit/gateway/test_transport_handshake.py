"""The wsproto transport's handshake over a real socket (openim.gateway.transport_wsproto.serve): a
plain request upgrades on the fast path, other shapes still reach wsproto and get its answers, and a
refusal is the HTTP 200 + JSON body the gateway asked for."""

from __future__ import annotations

from functools import partial

import pytest
import trio

from openim.gateway.transport import TransportLimits, Upgrade
from openim.gateway.transport_wsproto import serve

pytestmark = pytest.mark.trio

REQUEST = (
    b"GET /?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
)
ACCEPT = b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"


async def _exchange(port: int, chunks: list[bytes], until: bytes = b"\r\n\r\n") -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    try:
        for chunk in chunks:
            await stream.send_all(chunk)
            await trio.sleep(0.02)
        data = b""
        with trio.move_on_after(2):
            while until not in data:
                got = await stream.receive_some(65536)
                if not got:
                    break
                data += got
        return data
    finally:
        await stream.aclose()


async def _serve(nursery: trio.Nursery, seen: list[tuple[str, str]], refuse: bool = False) -> int:
    async def handler(upgrade: Upgrade) -> None:
        seen.append((upgrade.target, upgrade.headers.get("compression", "")))
        if refuse:
            await upgrade.respond(200, b'{"errCode":1501}', "application/json")
            return
        conn = await upgrade.accept()
        conn.queue("hello")
        await conn.flush()
        await conn.close(1000, "")

    limits = TransportLimits(handshake_timeout=5)
    port: int = await nursery.start(
        partial(serve, handler, host="127.0.0.1", port=0, limits=limits, handler_nursery=nursery)
    )
    return port


@pytest.mark.parametrize("split", [False, True])
async def test_plain_request_upgrades_even_when_it_arrives_in_pieces(split: bool) -> None:
    seen: list[tuple[str, str]] = []
    async with trio.open_nursery() as nursery:
        port = await _serve(nursery, seen)
        request = REQUEST.replace(b"\r\n\r\n", b"\r\ncompression: gzip\r\n\r\n")
        chunks = [request[:10], request[10:50], request[50:]] if split else [request]
        data = await _exchange(port, chunks, until=b"hello")
        nursery.cancel_scope.cancel()
    assert data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n") and ACCEPT in data
    assert b"\r\n\r\n\x81\x05hello" in data
    assert seen == [("/?x=1", "gzip")]


async def test_unusual_request_goes_through_wsproto_with_its_bytes() -> None:
    seen: list[tuple[str, str]] = []
    async with trio.open_nursery() as nursery:
        port = await _serve(nursery, seen)
        # obs-text in a header value: not the plain path, still a valid upgrade for h11/wsproto
        request = REQUEST.replace(b"\r\n\r\n", b"\r\nX-Name: caf\xe9\r\n\r\n")
        data = await _exchange(port, [request], until=b"hello")
        nursery.cancel_scope.cancel()
    assert data.startswith(b"HTTP/1.1 101 ") and ACCEPT in data and b"\r\n\r\n\x81\x05hello" in data
    assert seen == [("/?x=1", "")]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),  # not an upgrade
        (REQUEST.replace(b"Version: 13", b"Version: 8"), b"426"),  # wrong version
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", b"400"),
    ],
)
async def test_not_an_upgrade_gets_wsproto_answer(request_bytes: bytes, status: bytes) -> None:
    seen: list[tuple[str, str]] = []
    async with trio.open_nursery() as nursery:
        port = await _serve(nursery, seen)
        data = await _exchange(port, [request_bytes])
        nursery.cancel_scope.cancel()
    assert data.startswith(b"HTTP/1.1 " + status), data
    assert seen == []


async def test_refusal_is_http_200_with_the_body() -> None:
    seen: list[tuple[str, str]] = []
    async with trio.open_nursery() as nursery:
        port = await _serve(nursery, seen, refuse=True)
        data = await _exchange(port, [REQUEST], until=b"}")
        nursery.cancel_scope.cancel()
    assert data == b'HTTP/1.1 200 \r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{"errCode":1501}'
