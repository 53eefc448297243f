"""Cheap operations on encoded MsgData bytes.

The store keeps each message as its MsgData encoding *without* seq (the seq is allocated inside the
storing transaction). Protobuf merges concatenated encodings field by field, so appending the seq field
(number 14, varint) to the stored bytes yields the complete message without a decode/encode round trip.
"""

from __future__ import annotations

_SEQ_TAG = bytes([(14 << 3) | 0])  # field 14, wire type varint


def varint(value: int) -> bytes:
    """Protobuf's base-128 varint."""
    if 0 <= value < 0x80:
        return bytes((value,))
    out = bytearray()
    value &= (1 << 64) - 1  # int64 negatives encode as ten-byte two's complement, as protobuf does
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def with_seq(payload: bytes, seq: int) -> bytes:
    """``payload`` (MsgData without seq) plus ``seq``: still a valid MsgData encoding."""
    return payload + _SEQ_TAG + varint(seq) if seq else payload
