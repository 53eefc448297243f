"""The WebSocket JSON envelope spoken with ``sdkType=js`` clients, as pure functions.

Frames (as the JS SDK and the Go gateway exchange them):

- client -> server, binary: ``{"reqIdentifier", "msgIncr", "sendID", "operationID", "data"}``
  where ``data`` is standard padded base64 of a protobuf request;
- server -> client, binary: ``{"reqIdentifier", "msgIncr", "operationID", "errCode", "errMsg",
  "data"}`` with ``data`` base64 or ``null`` (this key order is the Go server's);
- text frames: the handshake result once, then ``{"type":"ping"}`` / ``{"type":"pong","body":null}``.

The server side (gateway) uses :func:`decode_request`, :func:`encode_response`, :func:`encode_push`;
the benchmark client uses the mirror pair :func:`encode_request` / :func:`decode_response`. Both
sides therefore agree by construction, and the tests pin them to the bytes the official SDK sends.

Errors: everything a peer can get wrong raises :class:`EnvelopeError` (a ``ValueError``); the
gateway's answer to it is to close the connection, as the Go server does.

Speed: responses and pushes are built by string formatting, escaping only the variable strings, not
by ``json.dumps`` of a dict. The escaping is JSON's ASCII form, so the result is always valid
UTF-8. A request whose strings hold a lone UTF-16 surrogate (a ``\\ud800`` escape) or a NUL is refused at
decoding (:mod:`openim.wire.jsontext`): nothing behind the gateway could store it.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _json_str
from typing import Any, Final, Literal

from openim.wire.constants import ReqIdentifier
from openim.wire.errors import ErrCode
from openim.wire.jsontext import find_unstorable_text

__all__ = [
    "HANDSHAKE_OK_TEXT",
    "KICK_FRAME",
    "PING_TEXT",
    "PONG_TEXT",
    "EnvelopeError",
    "WsRequest",
    "WsResponse",
    "b64decode",
    "b64encode",
    "decode_request",
    "decode_response",
    "encode_push",
    "encode_request",
    "encode_response",
    "handshake_error_text",
    "parse_text_frame",
]


class EnvelopeError(ValueError):
    """A frame that is not a valid envelope: bad JSON, a wrong type, or bad base64.

    The message names the offending key; it is meant for logs, never sent to the client.
    """


@dataclass(frozen=True, slots=True)
class WsRequest:
    """A decoded client request. ``data`` is the raw protobuf bytes (``b""`` when absent)."""

    req_identifier: int
    msg_incr: str
    send_id: str
    operation_id: str
    data: bytes


@dataclass(frozen=True, slots=True)
class WsResponse:
    """A decoded server frame (reply or push). ``data`` is None when the JSON had ``null``."""

    req_identifier: int
    msg_incr: str
    operation_id: str
    err_code: int
    err_msg: str
    data: bytes | None


# ---------------------------------------------------------------------------------------------
# base64
# ---------------------------------------------------------------------------------------------


def b64encode(data: bytes) -> str:
    """Standard alphabet, padded: the only form the JS SDK's decoder understands."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64decode(text: str, *, what: str = "data") -> bytes:
    """Decode standard base64, tolerating missing ``=`` padding but nothing else.

    URL-safe characters, whitespace, misplaced padding and impossible lengths raise
    :class:`EnvelopeError` naming ``what``.
    """
    if not text:
        return b""
    rem = len(text) % 4
    if rem == 1:
        raise EnvelopeError(f"{what}: invalid base64 length")
    if rem:
        text += "=" * (4 - rem)
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError(f"{what}: invalid base64 ({exc})") from None


# ---------------------------------------------------------------------------------------------
# JSON field access with envelope-specific errors
# ---------------------------------------------------------------------------------------------


def _load_object(frame: bytes | str) -> dict[str, Any]:
    try:
        obj = json.loads(frame)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise EnvelopeError(f"invalid JSON: {exc}") from None
    except RecursionError:
        # A frame of 50 KB of "[" nests deeper than the C scanner's recursion limit.
        raise EnvelopeError("invalid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise EnvelopeError(f"envelope must be a JSON object, got {type(obj).__name__}")
    return obj


def _get_int(obj: dict[str, Any], key: str) -> int:
    # Missing or null = 0, like Go's encoding/json into an int32 field. bool is not a number, and
    # neither is 1003.0 for Go's int decoder; both are rejected.
    v = obj.get(key)
    if v is None:
        return 0
    if type(v) is not int:
        raise EnvelopeError(f"{key}: expected integer, got {type(v).__name__}")
    if not -(2**31) <= v < 2**31:
        raise EnvelopeError(f"{key}: {v} overflows int32")
    return v


def _get_str(obj: dict[str, Any], key: str) -> str:
    v = obj.get(key)
    if v is None:
        return ""
    if type(v) is not str:
        raise EnvelopeError(f"{key}: expected string, got {type(v).__name__}")
    return v


def _get_data(obj: dict[str, Any]) -> bytes | None:
    v = obj.get("data")
    if v is None:
        return None
    if type(v) is not str:
        raise EnvelopeError(f"data: expected base64 string, got {type(v).__name__}")
    return b64decode(v)


# ---------------------------------------------------------------------------------------------
# client -> server
# ---------------------------------------------------------------------------------------------


def decode_request(frame: bytes | str) -> WsRequest:
    """Parse a binary request frame.

    Missing keys take their zero value (as in Go); deciding whether an identifier is known, or
    whether ``sendID`` matches the connection, is the gateway's job, not the codec's.
    """
    obj = _load_object(frame)
    bad = find_unstorable_text(obj, frame)
    if bad is not None:
        raise EnvelopeError(f"{bad}: a lone UTF-16 surrogate or a NUL (U+0000) is not text")
    data = _get_data(obj)
    return WsRequest(
        req_identifier=_get_int(obj, "reqIdentifier"),
        msg_incr=_get_str(obj, "msgIncr"),
        send_id=_get_str(obj, "sendID"),
        operation_id=_get_str(obj, "operationID"),
        data=b"" if data is None else data,
    )


def encode_request(
    req_identifier: int, msg_incr: str, send_id: str, operation_id: str, data: bytes = b""
) -> bytes:
    """Build a request frame exactly as the JS SDK does (same key order, ``data`` always a string)."""
    return (
        f'{{"reqIdentifier":{int(req_identifier)},"msgIncr":{_json_str(msg_incr)},'
        f'"sendID":{_json_str(send_id)},"operationID":{_json_str(operation_id)},'
        f'"data":"{b64encode(data)}"}}'
    ).encode("ascii")


# ---------------------------------------------------------------------------------------------
# server -> client
# ---------------------------------------------------------------------------------------------


def encode_response(
    req_identifier: int,
    msg_incr: str,
    operation_id: str,
    err_code: int = 0,
    err_msg: str = "",
    data: bytes | None = None,
) -> bytes:
    """Build a reply or push frame in the Go server's key order.

    ``data=None`` is written as JSON ``null`` (no payload, or an error); ``b""`` as ``""`` (an
    empty protobuf message). The SDK treats both as "no data".
    """
    data_json = "null" if data is None else f'"{b64encode(data)}"'
    return (
        f'{{"reqIdentifier":{int(req_identifier)},"msgIncr":{_json_str(msg_incr)},'
        f'"operationID":{_json_str(operation_id)},"errCode":{int(err_code)},'
        f'"errMsg":{_json_str(err_msg)},"data":{data_json}}}'
    ).encode("ascii")


_PUSH_HEAD: Final = f'{{"reqIdentifier":{int(ReqIdentifier.PUSH_MSG)},"msgIncr":"","operationID":'


def encode_push(push_messages_bytes: bytes, operation_id: str) -> bytes:
    """A 2001 frame carrying serialized ``sdkws.PushMessages``.

    ``operation_id`` must be the operationID of the request that caused the message (the 1003 send
    or the REST call): the JS SDK uses it to recognise its own echo and not show it twice. Encode
    once per message and send the same bytes to every recipient connection.
    """
    return (
        f'{_PUSH_HEAD}{_json_str(operation_id)},"errCode":0,"errMsg":"",'
        f'"data":"{b64encode(push_messages_bytes)}"}}'
    ).encode("ascii")


# Sent before closing a connection that another login replaced (or an admin force-logout).
KICK_FRAME: Final[bytes] = encode_response(ReqIdentifier.KICK_ONLINE_MSG, "", "", 0, "", None)


def decode_response(frame: bytes | str) -> WsResponse:
    """Parse a server frame (for the benchmark client and tests)."""
    obj = _load_object(frame)
    return WsResponse(
        req_identifier=_get_int(obj, "reqIdentifier"),
        msg_incr=_get_str(obj, "msgIncr"),
        operation_id=_get_str(obj, "operationID"),
        err_code=_get_int(obj, "errCode"),
        err_msg=_get_str(obj, "errMsg"),
        data=_get_data(obj),
    )


# ---------------------------------------------------------------------------------------------
# text frames: handshake result and heartbeats
# ---------------------------------------------------------------------------------------------

# The first text frame after the upgrade when isMsgResp=true. The JS SDK is not "connected" until it
# sees errCode === 0 here, and it treats ANY later non-pong text frame as a new handshake result.
HANDSHAKE_OK_TEXT: Final = '{"errCode":0,"errMsg":"","errDlt":""}'

PING_TEXT: Final = '{"type":"ping"}'
PONG_TEXT: Final = '{"type":"pong","body":null}'
_JS_PING_TEXT: Final = '{"type":"ping"}'


def handshake_error_text(code: ErrCode | int, detail: str = "") -> str:
    """The JSON of a failed handshake, sent as a text frame (token errors) or an HTTP 200 body.

    ``errMsg`` is the code's canonical name; an unknown int code gets an empty name.
    """
    try:
        name = ErrCode(code).err_msg
    except ValueError:
        name = ""
    return f'{{"errCode":{int(code)},"errMsg":{_json_str(name)},"errDlt":{_json_str(detail)}}}'


def parse_text_frame(text: str | bytes) -> Literal["ping", "pong"]:
    """Classify a heartbeat text frame; anything else is an EnvelopeError (the Go server closes)."""
    if text == _JS_PING_TEXT:  # what the JS SDK sends every ~10 s per connection: no JSON parse
        return "ping"
    obj = _load_object(text)
    kind = obj.get("type")
    if kind == "ping":
        return "ping"
    if kind == "pong":
        return "pong"
    raise EnvelopeError(f"text frame type must be ping or pong, got {kind!r}")
