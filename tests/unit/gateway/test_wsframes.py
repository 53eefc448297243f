"""The gateway's own RFC 6455 frame codec: client frames in (masked, maybe fragmented, maybe split over
several reads), server frames out, and the close codes a broken frame earns (1002, 1009).

Client frames are built here byte by byte, with a byte-loop mask, so the reader is checked against an
independent encoder rather than against itself.
"""

from __future__ import annotations

import os
import random

import pytest

from openim.gateway.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameReader,
    apply_mask,
    apply_mask_python,
    close_payload,
    encode_frame,
    parse_close,
)

MASK = b"\x37\xfa\x21\x3d"


def mask_bytes(data: bytes, mask: bytes) -> bytes:
    return bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def client_frame(
    opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True, rsv: int = 0, mask: bytes = MASK
) -> bytes:
    b0 = (0x80 if fin else 0) | rsv | opcode
    bit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head = bytes((b0, bit | n))
    elif n < 65536:
        head = bytes((b0, bit | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((b0, bit | 127)) + n.to_bytes(8, "big")
    return head + mask + mask_bytes(payload, mask) if masked else head + payload


def server_frame_parts(frame: bytes) -> tuple[bool, int, bytes]:
    """(fin, opcode, payload) of one unmasked server frame."""
    b0, b1 = frame[0], frame[1]
    assert not b1 & 0x80, "a server must not mask"
    n, head = b1 & 0x7F, 2
    if n == 126:
        n, head = int.from_bytes(frame[2:4], "big"), 4
    elif n == 127:
        n, head = int.from_bytes(frame[2:10], "big"), 10
    assert len(frame) == head + n
    return bool(b0 & 0x80), b0 & 0x0F, frame[head:]


# -- reading ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_a_masked_frame_of_every_length_class_is_read_whole(size: int) -> None:
    payload = os.urandom(size)
    reader = FrameReader(max_message=100_000)
    assert reader.feed(client_frame(OP_BINARY, payload)) == [(OP_BINARY, payload)]
    assert reader.feed(b"") == []


def test_text_stays_bytes_and_several_frames_in_one_read_come_back_in_order() -> None:
    reader = FrameReader(max_message=1000)
    data = (
        client_frame(OP_TEXT, b'{"type":"ping"}')
        + client_frame(OP_BINARY, b"\x00\x01")
        + client_frame(OP_TEXT, "héllo".encode())
    )
    assert reader.feed(data) == [(OP_TEXT, b'{"type":"ping"}'), (OP_BINARY, b"\x00\x01"), (OP_TEXT, "héllo".encode())]


def test_frames_split_anywhere_across_reads() -> None:
    messages = [(OP_BINARY, os.urandom(n)) for n in (0, 5, 125, 126, 300, 70000)] + [(OP_TEXT, b"end")]
    stream = b"".join(client_frame(op, p) for op, p in messages)
    rng = random.Random(7)
    for _ in range(5):
        reader = FrameReader(max_message=100_000)
        got = []
        pos = 0
        while pos < len(stream):
            step = rng.choice((1, 2, 3, 7, 64, 1000, 40000))
            got.extend(reader.feed(stream[pos : pos + step]))
            pos += step
        assert got == messages


def test_byte_by_byte_nothing_comes_out_before_the_last_byte() -> None:
    frame = client_frame(OP_BINARY, b"x" * 200)  # 16-bit length: the header itself arrives in pieces
    reader = FrameReader(max_message=1000)
    for i in range(len(frame) - 1):
        assert reader.feed(frame[i : i + 1]) == []
    assert reader.feed(frame[-1:]) == [(OP_BINARY, b"x" * 200)]


def test_fragments_are_joined_and_control_frames_may_come_between_them() -> None:
    reader = FrameReader(max_message=1000)
    data = (
        client_frame(OP_TEXT, b"hel", fin=False)
        + client_frame(OP_PING, b"p1")
        + client_frame(OP_CONT, b"lo ", fin=False)
        + client_frame(OP_CONT, b"world")
        + client_frame(OP_BINARY, b"next")
    )
    assert reader.feed(data) == [(OP_PING, b"p1"), (OP_TEXT, b"hello world"), (OP_BINARY, b"next")]


def test_fragments_split_across_reads() -> None:
    reader = FrameReader(max_message=1000)
    assert reader.feed(client_frame(OP_BINARY, b"ab", fin=False)) == []
    assert reader.feed(client_frame(OP_CONT, b"cd", fin=False)) == []
    assert reader.feed(client_frame(OP_CONT, b"ef")) == [(OP_BINARY, b"abcdef")]
    assert reader.feed(client_frame(OP_BINARY, b"again")) == [(OP_BINARY, b"again")]


def test_control_frames_are_returned_with_their_payload() -> None:
    reader = FrameReader(max_message=1000)
    close = client_frame(OP_CLOSE, (1000).to_bytes(2, "big") + b"bye")
    data = client_frame(OP_PING, b"") + client_frame(OP_PONG, b"\x01\x02\x03\x04") + close
    out = reader.feed(data)
    assert out == [(OP_PING, b""), (OP_PONG, b"\x01\x02\x03\x04"), (OP_CLOSE, b"\x03\xe8bye")]
    assert parse_close(out[2][1]) == (1000, "bye")


# -- what a broken or oversized frame costs ----------------------------------------------------------------


def test_an_unmasked_client_frame_is_1002() -> None:
    with pytest.raises(FrameError) as caught:
        FrameReader(max_message=1000).feed(client_frame(OP_BINARY, b"hi", masked=False))
    assert caught.value.code == 1002


@pytest.mark.parametrize(
    "data",
    [
        client_frame(OP_BINARY, b"x", rsv=0x40),  # reserved bits without an extension
        client_frame(3, b"x"),  # an unknown opcode
        client_frame(OP_CONT, b"x"),  # a continuation with nothing to continue
        client_frame(OP_PING, b"x", fin=False),  # a fragmented control frame
        client_frame(OP_PING, b"x" * 126),  # a control frame over 125 bytes
        client_frame(OP_TEXT, b"a", fin=False) + client_frame(OP_TEXT, b"b"),  # a new message inside a fragmented one
    ],
    ids=["rsv", "opcode", "orphan-continuation", "fragmented-control", "long-control", "interleaved-data"],
)
def test_protocol_errors_are_1002(data: bytes) -> None:
    with pytest.raises(FrameError) as caught:
        FrameReader(max_message=1000).feed(data)
    assert caught.value.code == 1002


def test_a_message_over_the_limit_is_1009_on_its_header_alone() -> None:
    reader = FrameReader(max_message=1000)
    assert reader.feed(client_frame(OP_BINARY, b"x" * 1000)) == [(OP_BINARY, b"x" * 1000)]  # the limit itself is fine
    header = client_frame(OP_BINARY, b"x" * 1001)[:4]  # 2 bytes + 16-bit length, no mask, no payload yet
    with pytest.raises(FrameError) as caught:
        reader.feed(header)
    assert caught.value.code == 1009


def test_fragments_adding_up_past_the_limit_are_1009() -> None:
    reader = FrameReader(max_message=100)
    assert reader.feed(client_frame(OP_BINARY, b"x" * 60, fin=False)) == []
    with pytest.raises(FrameError) as caught:
        reader.feed(client_frame(OP_CONT, b"x" * 41))
    assert caught.value.code == 1009


# -- masking -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 1000, 65537])
def test_both_mask_implementations_equal_the_byte_loop(size: int) -> None:
    data, mask = os.urandom(size), os.urandom(4)
    expected = mask_bytes(data, mask)
    assert apply_mask_python(data, mask) == expected
    assert apply_mask(data, mask) == expected
    assert apply_mask_python(expected, mask) == data  # masking twice is the identity


def test_mask_with_leading_and_trailing_zero_bytes_keeps_its_length() -> None:
    # big-integer XOR must not drop zero bytes at either end
    data, mask = b"\x00\x00abc\x00\x00", b"\x00\x00\x00\x00"
    assert apply_mask_python(data, mask) == data
    assert apply_mask_python(b"\xff\xff", b"\xff\xff\x00\x00") == b"\x00\x00"


# -- writing -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "head_len"), [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_server_frames_are_final_unmasked_and_sized_in_the_shortest_form(size: int, head_len: int) -> None:
    payload = os.urandom(size)
    frame = encode_frame(OP_BINARY, payload)
    assert len(frame) == head_len + size
    assert server_frame_parts(frame) == (True, OP_BINARY, payload)
    assert server_frame_parts(encode_frame(OP_TEXT, b"t")) == (True, OP_TEXT, b"t")


def test_close_payload_carries_the_code_and_at_most_123_bytes_of_whole_characters() -> None:
    assert close_payload(1008, "protocol error") == b"\x03\xf0protocol error"
    long = close_payload(1000, "é" * 100)  # 200 bytes of UTF-8: cut to 122, never mid-character
    assert len(long) <= 125 and long[:2] == b"\x03\xe8"
    assert long[2:].decode() == "é" * 61
    assert parse_close(long) == (1000, "é" * 61)
    assert parse_close(b"") == (1005, "")
