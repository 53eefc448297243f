"""The native RESP connection against a scripted peer on a socket pair: no Redis needed."""

from __future__ import annotations

import pytest
import trio

from openim.bus.resp import ConnectionBroken, RedisAddress, RedisError, RespConnection


def pair() -> tuple[RespConnection, trio.socket.SocketType]:
    ours, theirs = trio.socket.socketpair()
    return RespConnection(trio.SocketStream(ours), 2, None), theirs


@pytest.mark.trio
async def test_pipeline_sends_one_buffer_and_returns_replies_in_order_with_errors_in_place() -> None:
    conn, peer = pair()
    replies = b"+OK\r\n:7\r\n-WRONGTYPE bad\r\n$-1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"

    async def server() -> None:
        request = b""
        while request.count(b"*") < 5:
            request += await peer.recv(4096)
        assert request.startswith(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n")
        # Replies trickle in byte by byte: the parser must wait for whole replies.
        for i in range(len(replies)):
            await peer.send(replies[i : i + 1])

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        got = await conn.pipeline([("SET", "k", 1), ("INCR", "k"), ("LPUSH", "k", "x"), ("GET", "n"), ("X",)])
    assert got[:2] == [b"OK", 7]
    assert isinstance(got[2], RedisError) and got[2].code == "WRONGTYPE"
    assert got[3:] == [None, [b"a", b"b"]]
    assert conn.usable


@pytest.mark.trio
async def test_execute_raises_an_error_reply_and_the_connection_stays_usable() -> None:
    conn, peer = pair()
    await peer.send(b"-ERR nope\r\n")
    with pytest.raises(RedisError, match="nope"):
        await conn.execute("BOGUS")
    assert conn.usable


@pytest.mark.trio
async def test_peer_closing_breaks_the_connection_with_a_cause() -> None:
    conn, peer = pair()
    peer.close()
    with pytest.raises(ConnectionBroken):
        await conn.execute("PING")
    assert not conn.usable


@pytest.mark.trio
async def test_cancelled_command_leaves_the_connection_unusable() -> None:
    # Its reply may still arrive; handing the connection to someone else would give them our answer.
    conn, peer = pair()
    with trio.move_on_after(0.05):
        await conn.execute("PING")
    assert not conn.usable
    peer.close()


@pytest.mark.trio
async def test_idle_connection_closed_by_the_server_is_noticed() -> None:
    conn, peer = pair()
    assert not conn.has_unexpected_input()
    peer.close()
    await trio.sleep(0)
    assert conn.has_unexpected_input()


def test_address_from_url() -> None:
    assert RedisAddress.from_url("redis://10.0.0.9:6380/2") == RedisAddress("10.0.0.9", 6380, 2)
    assert RedisAddress.from_url("redis://:s%40cret@host") == RedisAddress("host", 6379, 0, None, "s@cret")
    assert RedisAddress.from_url("redis://app:pw@host/0").username == "app"
    with pytest.raises(ValueError, match="scheme"):
        RedisAddress.from_url("rediss://host")
    with pytest.raises(ValueError, match="number"):
        RedisAddress.from_url("redis://host/db")
