"""The wsproto transport counts sockets from accept (openim.gateway.transport_wsproto.serve): handshakes
in progress per address and in all, and connections per address, each refused with 1601 at once."""

from __future__ import annotations

import json
from functools import partial

import pytest
import trio

from openim.gateway.transport import TransportLimits, Upgrade
from openim.gateway.transport_wsproto import serve

pytestmark = pytest.mark.trio


async def _refusal(port: int) -> dict[str, object] | None:
    """Connect and wait briefly: the 1601 envelope if the server refused at once, else None."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    try:
        data = b""
        with trio.move_on_after(0.5):
            while True:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                data += chunk
        if not data:
            return None
        body = json.loads(data.partition(b"\r\n\r\n")[2])
        assert isinstance(body, dict)
        return body
    finally:
        await stream.aclose()


async def test_handshakes_in_progress_per_address_are_bounded() -> None:
    refused: list[str] = []
    limits = TransportLimits(handshake_timeout=30, max_handshakes_per_ip=3, max_connections_per_ip=10)

    async def handler(upgrade: Upgrade) -> None:
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            partial(serve, handler, host="127.0.0.1", port=0, limits=limits, handler_nursery=nursery,
                    on_refused=refused.append)
        )
        idle = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(3)]
        await trio.sleep(0.1)
        body = await _refusal(port)
        assert body is not None and body["errCode"] == 1601, body
        assert refused == ["handshakes_per_ip"]
        await idle[0].aclose()  # a slot comes back when a handshake ends
        await trio.sleep(0.1)
        assert await _refusal(port) is None
        for s in idle[1:]:
            await s.aclose()
        nursery.cancel_scope.cancel()


async def test_connections_per_address_are_bounded() -> None:
    refused: list[str] = []
    limits = TransportLimits(handshake_timeout=30, max_connections_per_ip=2)

    async def handler(upgrade: Upgrade) -> None:
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            partial(serve, handler, host="127.0.0.1", port=0, limits=limits, handler_nursery=nursery,
                    on_refused=refused.append)
        )
        idle = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(2)]
        await trio.sleep(0.1)
        body = await _refusal(port)
        assert body is not None and body["errCode"] == 1601 and "per ip" in str(body["errDlt"])
        assert refused == ["connections_per_ip"]
        for s in idle:
            await s.aclose()
        nursery.cancel_scope.cancel()
