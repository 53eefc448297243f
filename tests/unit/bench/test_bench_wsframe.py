"""The bench's own frame codec against wsproto on the other side: what we write a server accepts,
what a server writes we read, at every length encoding and across read boundaries."""

from __future__ import annotations

import pytest
from wsproto.connection import Connection
from wsproto.connection import ConnectionType as CT
from wsproto.events import BytesMessage, Ping, TextMessage

from openim.bench.wsframe import (
    OP_BINARY,
    OP_PING,
    OP_TEXT,
    FrameError,
    client_frame,
    client_header,
    split_frames,
)

LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 70000]


def server_side() -> Connection:
    """A wsproto connection in the server role, past the handshake (frames only)."""
    return Connection(CT.SERVER)


@pytest.mark.parametrize("length", LENGTHS)
def test_client_frames_are_accepted_by_a_server(length: int) -> None:
    server = server_side()
    payload = bytes(i % 251 for i in range(length))
    server.receive_data(client_frame(OP_BINARY, payload))
    events = list(server.events())
    assert len(events) == 1 and isinstance(events[0], BytesMessage)
    assert events[0].data == payload and events[0].message_finished


def test_header_sizes_and_zero_mask() -> None:
    assert client_header(OP_TEXT, 5) == b"\x81\x85\0\0\0\0"
    assert client_header(OP_BINARY, 300) == b"\x82\xfe\x01\x2c\0\0\0\0"
    assert client_header(OP_BINARY, 70000)[:2] == b"\x82\xff" and len(client_header(OP_BINARY, 70000)) == 14
    assert client_header(OP_BINARY, 3, fin=False)[0] == 0x02


def test_a_text_ping_reaches_the_server_as_text() -> None:
    server = server_side()
    server.receive_data(client_frame(OP_TEXT, b'{"type":"ping"}'))
    (event,) = list(server.events())
    assert isinstance(event, TextMessage) and event.data == '{"type":"ping"}'


@pytest.mark.parametrize("length", LENGTHS)
def test_server_frames_are_split_at_any_boundary(length: int) -> None:
    server = server_side()
    payload = bytes(i % 253 for i in range(length))
    stream = server.send(BytesMessage(data=payload)) + server.send(TextMessage(data="pong")) + server.send(
        Ping(payload=b"abcd")
    )
    for cut in sorted({0, 1, 2, 3, 9, len(stream) // 2, len(stream) - 1, len(stream)}):
        got: list[tuple[int, bytes]] = []
        rest = b""
        for chunk in (stream[:cut], stream[cut:]):
            frames, rest = split_frames(rest + chunk)
            got += frames
        assert rest == b""
        assert [(f & 0x0F, p) for f, p in got] == [(OP_BINARY, payload), (OP_TEXT, b"pong"), (OP_PING, b"abcd")]
        assert all(f & 0x80 for f, _ in got)


def test_limit_leaves_the_rest_untouched() -> None:
    server = server_side()
    stream = server.send(TextMessage(data="one")) + server.send(TextMessage(data="two"))
    frames, rest = split_frames(stream, limit=1)
    assert frames == [(0x81, b"one")] and split_frames(rest) == ([(0x81, b"two")], b"")


def test_a_masked_server_frame_is_an_error() -> None:
    client = Connection(CT.CLIENT)
    masked = client.send(BytesMessage(data=b"x"))  # a client's frame: masked
    with pytest.raises(FrameError):
        split_frames(masked)
