"""Go-style JSON for protobuf messages: the REST bodies and the notification tips.

OpenIM does not use protojson. It runs Go's ``encoding/json`` over protoc-gen-go structs whose
``omitempty`` tags were stripped. The JS SDK and admin tools depend on that shape,
so this module reproduces it from the message descriptors:

Output (:func:`message_to_json`)
    every field present, zero values included; keys are the proto field names exactly
    (``FriendRequests``, ``Msgs``, ``sesstionType``); int64/uint64 are JSON numbers; bytes are
    standard base64; enums are numbers; maps are objects; an unset sub-message is ``null``;
    repeated fields are lists, ``[]`` when empty (Go would write ``null``; the SDK iterates some of
    them without a check, so ``[]`` is the safer equal); ``openim.protobuf.*Value`` wrappers are the
    bare value or ``null``.

Input (:func:`message_from_json`)
    keys match field names exactly, else case-insensitively (Go's rule); unknown keys are ignored;
    ``null`` leaves a field unset (but is refused inside a list of strings or numbers, where Go would
    store a zero value no handler expects); a wrong JSON type raises ``OpenIMError(ARGS)`` naming the field
    path. Integers may arrive as integral floats (``5.0``) but never as strings; uint64 values beyond
    2^53 are exact because Python's ``json`` parses integers exactly. Wrappers take the bare value;
    an object ``{"value": ...}`` is refused, as the Go server refuses it.

Speed: the per-field work is decided once per message type and cached (closures for output, a
name table for input), so a call is one loop over fields with no descriptor inspection.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from openim.wire.errors import ErrCode, OpenIMError

__all__ = [
    "message_from_json",
    "message_to_json",
    "notification_content",
    "send_msg_from_json",
]

M = TypeVar("M", bound=Message)

_WRAPPER_PACKAGE: Final = "openim.protobuf."

_FD = FieldDescriptor
_INT_RANGES: Final[Mapping[int, tuple[int, int, str]]] = {
    _FD.CPPTYPE_INT32: (-(2**31), 2**31 - 1, "int32"),
    _FD.CPPTYPE_INT64: (-(2**63), 2**63 - 1, "int64"),
    _FD.CPPTYPE_UINT32: (0, 2**32 - 1, "uint32"),
    _FD.CPPTYPE_UINT64: (0, 2**64 - 1, "uint64"),
    _FD.CPPTYPE_ENUM: (-(2**31), 2**31 - 1, "enum number"),
}


def _args(path: str, expected: str, value: Any) -> OpenIMError:
    return OpenIMError(ErrCode.ARGS, f"{path or 'body'}: expected {expected}, got {_json_type(value)}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_wrapper(desc: Descriptor) -> bool:
    return bool(desc.full_name.startswith(_WRAPPER_PACKAGE))


def _is_map(fd: FieldDescriptor) -> bool:
    return bool(fd.is_repeated and fd.message_type is not None and fd.message_type.GetOptions().map_entry)


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

_Encoder = Callable[[Message], Any]
_ENCODERS: dict[Descriptor, tuple[tuple[str, _Encoder], ...]] = {}


def message_to_json(msg: Message) -> dict[str, Any]:
    """Render ``msg`` as a JSON-ready dict in OpenIM's Go ``encoding/json`` shape (see module doc)."""
    desc = msg.DESCRIPTOR
    encoders = _ENCODERS.get(desc)
    if encoders is None:
        encoders = _build_encoders(desc)
    return {name: enc(msg) for name, enc in encoders}


def _value_converter(fd: FieldDescriptor) -> Callable[[Any], Any] | None:
    """How to turn one stored value of ``fd`` into JSON, or None when it is already JSON-ready."""
    if fd.cpp_type == _FD.CPPTYPE_MESSAGE:
        if _is_wrapper(fd.message_type):
            inner = _value_converter(fd.message_type.fields_by_name["value"])
            return (lambda w: inner(w.value)) if inner else (lambda w: w.value)
        return message_to_json
    if fd.type == _FD.TYPE_BYTES:
        return _b64
    return None


def _build_encoders(desc: Descriptor) -> tuple[tuple[str, _Encoder], ...]:
    out: list[tuple[str, _Encoder]] = []
    for fd in desc.fields:
        out.append((fd.name, _field_encoder(fd)))
    encoders = tuple(out)
    _ENCODERS[desc] = encoders
    return encoders


def _field_encoder(fd: FieldDescriptor) -> _Encoder:
    name = fd.name
    if _is_map(fd):
        key_fd = fd.message_type.fields_by_name["key"]
        val_conv = _value_converter(fd.message_type.fields_by_name["value"])
        # Go writes non-string map keys as their decimal text.
        key_conv: Callable[[Any], str] | None = None if key_fd.cpp_type == _FD.CPPTYPE_STRING else str
        if val_conv is None and key_conv is None:
            return lambda m: dict(getattr(m, name))
        kc = key_conv or (lambda k: k)
        vc = val_conv or (lambda v: v)
        return lambda m: {kc(k): vc(v) for k, v in getattr(m, name).items()}
    conv = _value_converter(fd)
    if fd.is_repeated:
        if conv is None:
            return lambda m: list(getattr(m, name))
        c = conv
        return lambda m: [c(v) for v in getattr(m, name)]
    if fd.cpp_type == _FD.CPPTYPE_MESSAGE:
        assert conv is not None
        c = conv
        return lambda m: c(getattr(m, name)) if m.HasField(name) else None
    if fd.has_presence:
        # proto3 `optional` scalars: Go generates a pointer, which marshals as null when unset.
        if conv is None:
            return lambda m: getattr(m, name) if m.HasField(name) else None
        c = conv
        return lambda m: c(getattr(m, name)) if m.HasField(name) else None
    if conv is None:
        return lambda m: getattr(m, name)
    c = conv
    return lambda m: c(getattr(m, name))


def _compact(obj: Any) -> str:
    # Go's encoding/json: no spaces, non-ASCII written as UTF-8.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def notification_content(tips_msg: Message) -> bytes:
    """``MsgData.content`` of a notification: UTF-8 JSON ``{"detail":"<tips JSON as a string>"}``.

    The SDK does ``JSON.parse(JSON.parse(content).detail)``, so the tips JSON is embedded as a
    string, not as an object.
    """
    return _compact({"detail": _compact(message_to_json(tips_msg))}).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------

# A decoder stores one JSON value into the field of a message; it receives the field path for
# error messages. null never reaches a decoder (null = leave unset).
_Decoder = Callable[[Message, Any, str], None]


@dataclass(frozen=True, slots=True)
class _InputTable:
    exact: Mapping[str, tuple[str, _Decoder]]
    folded: Mapping[str, tuple[str, _Decoder]]


_TABLES: dict[Descriptor, _InputTable] = {}


def message_from_json(obj: Any, cls: type[M]) -> M:
    """Build a ``cls`` message from a parsed JSON value (the REST request body), Go-style.

    Raises ``OpenIMError(ErrCode.ARGS, "<field path>: expected <type>, got <type>")`` on a type
    mismatch; the path uses dots and ``[i]`` (``seqRanges[0].begin``), ``body`` for the top level.
    """
    msg: M = cls()
    _fill(msg, obj, "")
    return msg


def _table(desc: Descriptor) -> _InputTable:
    table = _TABLES.get(desc)
    if table is None:
        exact: dict[str, tuple[str, _Decoder]] = {}
        folded: dict[str, tuple[str, _Decoder]] = {}
        for fd in desc.fields:
            entry = (fd.name, _field_decoder(fd))
            exact[fd.name] = entry
            folded.setdefault(fd.name.lower(), entry)  # first declared wins, like Go
        table = _InputTable(exact, folded)
        _TABLES[desc] = table
    return table


def _fill(msg: Message, obj: Any, path: str) -> None:
    if type(obj) is not dict:
        raise _args(path, "object", obj)
    table = _table(msg.DESCRIPTOR)
    for key, value in obj.items():
        entry = table.exact.get(key)
        if entry is None:
            entry = table.folded.get(key.lower())
            if entry is None:
                continue
        if value is None:
            continue
        name, decode = entry
        decode(msg, value, f"{path}.{name}" if path else name)


def _scalar_parser(fd: FieldDescriptor) -> Callable[[Any, str], Any]:
    """A function validating one JSON value for a scalar field and returning the Python value."""
    cpp = fd.cpp_type
    if cpp == _FD.CPPTYPE_STRING:
        if fd.type == _FD.TYPE_BYTES:
            return _parse_bytes
        return _parse_str
    if cpp == _FD.CPPTYPE_BOOL:
        return _parse_bool
    if cpp in (_FD.CPPTYPE_DOUBLE, _FD.CPPTYPE_FLOAT):
        return _parse_float
    lo, hi, type_name = _INT_RANGES[cpp]

    def parse_int(value: Any, path: str) -> int:
        t = type(value)
        if t is int:
            n: int = value
        elif t is float and value.is_integer():
            n = int(value)
        else:
            raise _args(path, type_name, value)
        if not lo <= n <= hi:
            raise OpenIMError(ErrCode.ARGS, f"{path}: {value} out of range for {type_name}")
        return n

    return parse_int


def _parse_str(value: Any, path: str) -> str:
    if type(value) is not str:
        raise _args(path, "string", value)
    return value


def _parse_bool(value: Any, path: str) -> bool:
    if type(value) is not bool:
        raise _args(path, "boolean", value)
    return value


def _parse_float(value: Any, path: str) -> float:
    if type(value) not in (int, float):
        raise _args(path, "number", value)
    return float(value)


def _parse_bytes(value: Any, path: str) -> bytes:
    if type(value) is not str:
        raise _args(path, "base64 string", value)
    text: str = value
    rem = len(text) % 4
    if rem == 1:
        raise OpenIMError(ErrCode.ARGS, f"{path}: invalid base64")
    try:
        return binascii.a2b_base64(text + "=" * ((4 - rem) % 4), strict_mode=True)
    except (binascii.Error, ValueError):
        raise OpenIMError(ErrCode.ARGS, f"{path}: invalid base64") from None


_SCALAR_NAMES: Final[Mapping[int, str]] = {_FD.CPPTYPE_STRING: "string", _FD.CPPTYPE_BOOL: "boolean"}


def _zero(fd: FieldDescriptor) -> Any:
    return fd.default_value


def _field_decoder(fd: FieldDescriptor) -> _Decoder:
    name = fd.name
    if _is_map(fd):
        return _map_decoder(fd)
    is_msg = fd.cpp_type == _FD.CPPTYPE_MESSAGE
    wrapper = is_msg and _is_wrapper(fd.message_type)
    if fd.is_repeated:
        if is_msg and not wrapper:

            def decode_msg_list(msg: Message, value: Any, path: str) -> None:
                if type(value) is not list:
                    raise _args(path, "array", value)
                container = getattr(msg, name)
                for i, item in enumerate(value):
                    sub = container.add()
                    if item is not None:  # null element = empty message (Go: nil pointer)
                        _fill(sub, item, f"{path}[{i}]")

            return decode_msg_list
        if wrapper:
            parse = _wrapper_parser(fd)
        else:
            # A null element of a list of strings or numbers is refused: Go would store the zero value
            # ("", 0), which no handler expects to see (an empty user ID, seq 0).
            parse_item = _scalar_parser(fd)
            element = "base64 string" if fd.type == _FD.TYPE_BYTES else _SCALAR_NAMES.get(fd.cpp_type, "number")

            def parse(item: Any, path: str) -> Any:
                if item is None:
                    raise _args(path, element, item)
                return parse_item(item, path)

        def decode_list(msg: Message, value: Any, path: str) -> None:
            if type(value) is not list:
                raise _args(path, "array", value)
            items = [None if item is None and wrapper else parse(item, f"{path}[{i}]") for i, item in enumerate(value)]
            if wrapper:
                container = getattr(msg, name)
                for item in items:
                    w = container.add()
                    if item is not None:
                        w.value = item
            else:
                getattr(msg, name).extend(items)

        return decode_list
    if wrapper:
        parse_w = _wrapper_parser(fd)

        def decode_wrapper(msg: Message, value: Any, path: str) -> None:
            w = getattr(msg, name)
            w.value = parse_w(value, path)
            w.SetInParent()  # a zero value (false, 0, "") is still "set"

        return decode_wrapper
    if is_msg:

        def decode_msg(msg: Message, value: Any, path: str) -> None:
            sub = getattr(msg, name)
            _fill(sub, value, path)
            sub.SetInParent()  # {} means "present and empty", not null

        return decode_msg
    parse_s = _scalar_parser(fd)

    def decode_scalar(msg: Message, value: Any, path: str) -> None:
        setattr(msg, name, parse_s(value, path))

    return decode_scalar


def _wrapper_parser(fd: FieldDescriptor) -> Callable[[Any, str], Any]:
    inner = _scalar_parser(fd.message_type.fields_by_name["value"])

    def parse(value: Any, path: str) -> Any:
        if type(value) is dict:
            # The Go server's wrapper unmarshaller only takes the bare value.
            raise OpenIMError(ErrCode.ARGS, f"{path}: expected a bare value, got object")
        return inner(value, path)

    return parse


def _wrapper_filler(fd: FieldDescriptor) -> Callable[[Message, Any, str], None]:
    """Sets a wrapper message (google.protobuf.*Value) from its bare JSON value."""
    parse = _wrapper_parser(fd)

    def fill(wrapper: Message, value: Any, path: str) -> None:
        wrapper.value = parse(value, path)

    return fill


def _map_decoder(fd: FieldDescriptor) -> _Decoder:
    name = fd.name
    key_fd = fd.message_type.fields_by_name["key"]
    val_fd = fd.message_type.fields_by_name["value"]
    key_cpp = key_fd.cpp_type
    if key_cpp == _FD.CPPTYPE_STRING:

        def parse_key(k: str, path: str) -> Any:
            return k

    elif key_cpp in _INT_RANGES:
        lo, hi, type_name = _INT_RANGES[key_cpp]

        def parse_key(k: str, path: str) -> Any:
            try:
                n = int(k, 10)
            except ValueError:
                raise OpenIMError(ErrCode.ARGS, f"{path}: map key {k!r} is not an {type_name}") from None
            if not lo <= n <= hi:
                raise OpenIMError(ErrCode.ARGS, f"{path}: map key {k!r} out of range for {type_name}")
            return n

    else:  # bool keys: Go's encoding/json cannot decode them either

        def parse_key(k: str, path: str) -> Any:
            raise OpenIMError(ErrCode.ARGS, f"{path}: unsupported map key type")

    if val_fd.cpp_type == _FD.CPPTYPE_MESSAGE:
        # A map entry of a message type exists once its key is read; a null value leaves it empty.
        fill_entry = _wrapper_filler(val_fd) if _is_wrapper(val_fd.message_type) else _fill

        def decode_msg_map(msg: Message, value: Any, path: str) -> None:
            if type(value) is not dict:
                raise _args(path, "object", value)
            container = getattr(msg, name)
            for k, item in value.items():
                entry = container[parse_key(k, path)]
                if item is not None:
                    fill_entry(entry, item, f"{path}.{k}")

        return decode_msg_map
    parse_v = _scalar_parser(val_fd)
    zero = _zero(val_fd)

    def decode_scalar_map(msg: Message, value: Any, path: str) -> None:
        if type(value) is not dict:
            raise _args(path, "object", value)
        parsed = {
            parse_key(k, path): zero if item is None else parse_v(item, f"{path}.{k}")
            for k, item in value.items()
        }
        getattr(msg, name).update(parsed)

    return decode_scalar_map


# ---------------------------------------------------------------------------------------------
# /msg/send_msg: a proto message plus a free JSON object
# ---------------------------------------------------------------------------------------------


def send_msg_from_json(obj: Any, cls: type[M]) -> tuple[M, dict[str, Any]]:
    """Decode a /msg/send_msg (or batch_send_msg) body into ``cls`` plus its ``content`` object.

    OpenIM binds this route to a Go struct whose ``content`` is ``map[string]any``: an arbitrary
    JSON object that is re-serialised into ``MsgData.content``. A protobuf field cannot hold it
    without changing the wire shape, so ``openim.apistruct.SendMsgReq`` leaves it out and it is
    returned here as a plain dict (key matched case-insensitively, like every other key). A missing
    or null ``content``, or one that is not an object, is a 1001 error ("required", as gin says).
    """
    msg = message_from_json(obj, cls)
    assert type(obj) is dict  # message_from_json has checked it
    content: Any = obj.get("content")
    if content is None:
        for key, value in obj.items():
            if key.lower() == "content" and value is not None:
                content = value
                break
    if content is None:
        raise OpenIMError(ErrCode.ARGS, "content: required")
    if type(content) is not dict:
        raise _args("content", "object", content)
    return msg, content
