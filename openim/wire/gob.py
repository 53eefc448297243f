"""Go's ``encoding/gob`` for flat structs of ints, strings and byte slices: exactly what the
WebSocket envelope of Go clients (openim-sdk-core) needs, and nothing more.

A gob *stream* is a sequence of messages, each ``uint(length) + body``. A body starts with a signed
type id: negative, it defines type ``-id`` (a ``wireType`` value follows); positive, a value of that
type follows. OpenIM's gateway and the Go SDK encode every frame as a fresh stream, so each frame
carries the definition of its struct and then one value. The struct's id is the first user type id
of the encoder's process: 64 with current Go (what the wasm SDK core sends), 65 with Go 1.19 and
older, more if the process met other types first; a decoder must take whatever it is given.

The encoding rules used here (docs/gob-framing.md walks through a whole frame):

- unsigned integer: below 128 one byte; otherwise a byte holding the negated byte count, then the
  minimal big-endian bytes (256 -> ``FE 01 00``);
- signed integer ``i``: the unsigned ``i << 1`` when ``i >= 0``, else ``(~i << 1) | 1``;
- string and ``[]byte``: unsigned length, then the bytes;
- struct value: for each non-zero field in order, the unsigned *delta* from the previous field
  number (-1 at the start), then the field's value; a ``0`` delta ends the struct. Zero fields
  (0, "", empty slice) are omitted, so a decoder must default them;
- ``wireType`` is itself a struct (field 2 = ``StructT``), whose ``structType`` holds
  ``CommonType{Name, Id}`` and ``Field []fieldType{Name, Id}``; the builtin ids are
  int 2, string 6, ``[]byte`` 5 (and bool 1, uint 3, float 4).

The decoder matches fields by name, as Go does, so the peer's struct name, field order and type id
do not matter; fields it does not know are skipped. Every malformed input raises :class:`GobError`
(a ``ValueError``); nothing here can raise anything else on bad bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "BYTES",
    "FIRST_USER_ID",
    "INT",
    "LAST_BUILTIN_ID",
    "STRING",
    "GobError",
    "GobStruct",
    "decode_struct",
    "encode_int",
    "encode_uint",
]

# Builtin type ids (encoding/gob's predefined types).
BOOL: Final = 1
INT: Final = 2
UINT: Final = 3
FLOAT: Final = 4
BYTES: Final = 5
STRING: Final = 6
COMPLEX: Final = 7
LAST_BUILTIN_ID: Final = 23  # mapType; ids up to here are Go's own
FIRST_USER_ID: Final = 64  # what current Go gives the first type a fresh process encodes

_WIRE_STRUCT_FIELD: Final = 2  # wireType.StructT
_MAX_DEPTH: Final = 16  # nested struct values skipped on the way; more is a hostile stream
# A client sends the same type definition in every frame: parsed once, looked up by its bytes after.
_DEFINITIONS: dict[bytes, _Fields] = {}
_DEFINITIONS_MAX: Final = 256
_DEFINITION_CACHED_BYTES: Final = 512  # a longer one is parsed every time (and never kept)
_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1

Value = int | str | bytes
_Fields = tuple[tuple[str, int], ...]


class GobError(ValueError):
    """Bytes that are not a gob stream of the expected struct; the message says where it broke."""


# ---------------------------------------------------------------------------------------------
# encoding
# ---------------------------------------------------------------------------------------------


def encode_uint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((256 - len(raw),)) + raw


def encode_int(i: int) -> bytes:
    return encode_uint(i << 1 if i >= 0 else (~i << 1) | 1)


def _encode_bytes(b: bytes) -> bytes:
    return encode_uint(len(b)) + b


def _message(body: bytes) -> bytes:
    return encode_uint(len(body)) + body


@dataclass(frozen=True, slots=True)
class GobStruct:
    """A Go struct type whose fields are ints, strings or byte slices (or bools and uints), with its
    encoding.

    ``fields`` are ``(name, type id)`` in declaration order. The type definition message is built
    once; :meth:`encode` then adds one value message per call.
    """

    name: str
    fields: tuple[tuple[str, int], ...]
    type_id: int = FIRST_USER_ID

    def type_definition(self) -> bytes:
        """The message defining this struct as ``type_id`` (what a fresh Go encoder sends first)."""
        body = bytearray(encode_int(-self.type_id))
        body += encode_uint(_WIRE_STRUCT_FIELD + 1)  # wireType: delta to field 2, StructT
        body += b"\x01"  # structType field 0: CommonType
        body += b"\x01" + _encode_bytes(self.name.encode())  # CommonType.Name
        body += b"\x01" + encode_int(self.type_id)  # CommonType.Id
        body += b"\x00"  # end CommonType
        body += b"\x01" + encode_uint(len(self.fields))  # structType field 1: Field
        for fname, tid in self.fields:
            body += b"\x01" + _encode_bytes(fname.encode()) + b"\x01" + encode_int(tid) + b"\x00"
        body += b"\x00\x00"  # end structType, end wireType
        return _message(bytes(body))

    def encode(self, values: Sequence[Value], *, prefix: bytes | None = None) -> bytes:
        """A whole stream: the type definition (or ``prefix``, a cached copy of it) and the value.

        ``values`` follow ``fields``; zero values are omitted as Go omits them.
        """
        body = bytearray(encode_int(self.type_id))
        last = -1
        for number, ((_fname, tid), value) in enumerate(zip(self.fields, values, strict=True)):
            if not value:
                continue
            body += encode_uint(number - last)
            last = number
            if tid == INT:
                assert isinstance(value, int)
                body += encode_int(value)
            elif tid in (BOOL, UINT):
                assert isinstance(value, int) and value >= 0
                body += encode_uint(value)
            elif isinstance(value, str):
                body += _encode_bytes(value.encode())
            else:
                assert isinstance(value, bytes | bytearray)
                body += _encode_bytes(bytes(value))
        body += b"\x00"
        head = self.type_definition() if prefix is None else prefix
        return head + _message(bytes(body))


# ---------------------------------------------------------------------------------------------
# decoding
# ---------------------------------------------------------------------------------------------


class _Reader:
    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes, pos: int, end: int) -> None:
        self.buf, self.pos, self.end = buf, pos, end

    def uint(self) -> int:
        if self.pos >= self.end:
            raise GobError("truncated: unsigned integer expected")
        b = self.buf[self.pos]
        self.pos += 1
        if b < 0x80:
            return b
        count = 256 - b
        if count > 8:
            raise GobError(f"unsigned integer of {count} bytes")
        if self.pos + count > self.end:
            raise GobError("truncated unsigned integer")
        n = int.from_bytes(self.buf[self.pos : self.pos + count], "big")
        self.pos += count
        return n

    def int(self) -> int:
        u = self.uint()
        return ~(u >> 1) if u & 1 else u >> 1

    def raw(self) -> bytes:
        n = self.uint()
        if n > self.end - self.pos:
            raise GobError(f"length {n} runs past the message")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def text(self) -> str:
        try:
            return self.raw().decode()
        except UnicodeDecodeError:
            raise GobError("string is not valid UTF-8") from None


def _read_common(r: _Reader) -> tuple[str, int]:
    name, tid, number = "", 0, -1
    while delta := r.uint():
        number += delta
        if number == 0:
            name = r.text()
        elif number == 1:
            tid = r.int()
        else:
            raise GobError(f"CommonType has no field {number}")
    return name, tid


def _read_struct_type(r: _Reader) -> tuple[int, _Fields]:
    tid, fields, number = 0, [], -1
    while delta := r.uint():
        number += delta
        if number == 0:
            _name, tid = _read_common(r)
        elif number == 1:
            count = r.uint()
            if count > r.end - r.pos:
                raise GobError(f"{count} fields cannot fit the message")
            for _ in range(count):
                fname, ftid, fnum = "", 0, -1
                while fdelta := r.uint():
                    fnum += fdelta
                    if fnum == 0:
                        fname = r.text()
                    elif fnum == 1:
                        ftid = r.int()
                    else:
                        raise GobError(f"fieldType has no field {fnum}")
                fields.append((fname, ftid))
        else:
            raise GobError(f"structType has no field {number}")
    return tid, tuple(fields)


def _read_wire_type(r: _Reader) -> _Fields:
    fields: _Fields | None = None
    number = -1
    while delta := r.uint():
        number += delta
        if number != _WIRE_STRUCT_FIELD:
            raise GobError(f"only struct types are understood, got wireType field {number}")
        _tid, fields = _read_struct_type(r)
    if fields is None:
        raise GobError("empty type definition")
    return fields


def _skip(r: _Reader, tid: int, types: Mapping[int, _Fields], depth: int) -> None:
    """Step over a value of a field we do not want (Go ignores such fields too)."""
    if tid in (BOOL, INT, UINT, FLOAT):
        r.uint()
    elif tid == COMPLEX:
        r.uint()
        r.uint()
    elif tid in (BYTES, STRING):
        r.raw()
    elif tid in types:
        if depth >= _MAX_DEPTH:
            raise GobError("structs nested too deeply")
        _read_value(r, types[tid], types, {}, depth + 1)
    else:
        raise GobError(f"cannot skip a field of type {tid}")


def _read_value(
    r: _Reader, fields: _Fields, types: Mapping[int, _Fields], want: Mapping[str, int], depth: int
) -> dict[str, Value]:
    out: dict[str, Value] = {}
    number = -1
    while delta := r.uint():
        number += delta
        if number >= len(fields):
            raise GobError(f"field {number} is past the {len(fields)} fields of the type")
        fname, ftid = fields[number]
        expected = want.get(fname)
        if expected is None:
            _skip(r, ftid, types, depth)
            continue
        if ftid != expected:
            raise GobError(f"{fname}: type {ftid} where {expected} was expected")
        if ftid == INT:
            v = r.int()
            if not _INT32_MIN <= v <= _INT32_MAX:
                raise GobError(f"{fname}: {v} overflows int32")
            out[fname] = v
        elif ftid == STRING:
            out[fname] = r.text()
        else:
            out[fname] = r.raw()
    return out


def decode_struct(stream: bytes, want: Mapping[str, int]) -> dict[str, Value]:
    """Decode one gob stream holding type definitions and ONE struct value.

    ``want`` maps the field names we read to their type ids (INT values are checked to fit an
    int32, STRING values to be UTF-8). Absent names are zero in Go; here they are missing from the
    result. The stream must end with the value message: anything after it is an error.
    """
    types: dict[int, _Fields] = {}
    r = _Reader(stream, 0, len(stream))
    while True:
        if r.pos >= len(stream):
            raise GobError("stream ended before a value")
        length = r.uint()
        if length == 0 or length > len(stream) - r.pos:
            raise GobError(f"message length {length} does not fit the {len(stream) - r.pos} bytes left")
        msg = _Reader(stream, r.pos, r.pos + length)
        r.pos += length
        tid = msg.int()
        if tid < 0:
            if -tid <= LAST_BUILTIN_ID or -tid in types:
                raise GobError(f"type {-tid} defined twice")  # Go: "duplicate type received"
            definition = stream[msg.pos : msg.end]
            known = _DEFINITIONS.get(definition)
            if known is None:
                known = _read_wire_type(msg)
                if msg.pos != msg.end:
                    raise GobError("extra bytes after a type definition")
                if len(definition) <= _DEFINITION_CACHED_BYTES:
                    if len(_DEFINITIONS) >= _DEFINITIONS_MAX:
                        _DEFINITIONS.clear()
                    _DEFINITIONS[definition] = known
            types[-tid] = known
            continue
        fields = types.get(tid)
        if fields is None:
            raise GobError(f"value of type {tid}, which is not a struct defined in this stream")
        if not any(f in want for f, _ in fields):
            raise GobError("the struct shares no field with the expected one")
        value = _read_value(msg, fields, types, want, 0)
        if msg.pos != msg.end:
            raise GobError("extra bytes after the value")
        if r.pos != len(stream):
            raise GobError("extra bytes after the value message")
        return value
