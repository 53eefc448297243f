"""The binary frame codec of one WebSocket connection, chosen at the handshake.

OpenIM's gateway speaks two envelopes in binary frames (text frames carry only the handshake result
and the JSON heartbeats, whatever the codec):

- ``json``: the JSON envelope of :mod:`openim.wire.envelope` (``sdkType=js``, the JS SDK);
- ``gob``: Go's encoding/gob of the same fields (:mod:`openim.wire.gob`), for Go clients
  (openim-sdk-core in the Android/iOS/Flutter/Electron/wasm SDKs: ``sdkType`` absent or ``go``).

Either may be gzip-compressed (``compression=gzip``), in both directions. :func:`codec_for` returns
one of four shared instances, so a codec can key a cache: a push is encoded once per codec, not once
per recipient. The server side uses :meth:`FrameCodec.decode_request` / :meth:`encode_response` /
:meth:`from_json_frame`; a client (``openim bench``, tests) the mirror pair
:meth:`encode_request` / :meth:`decode_response`. Every malformed frame raises
:class:`~openim.wire.envelope.EnvelopeError`.
"""

from __future__ import annotations

import zlib
from functools import cached_property
from typing import Final

from openim.wire import envelope
from openim.wire.constants import ReqIdentifier
from openim.wire.envelope import EnvelopeError, WsRequest, WsResponse
from openim.wire.gob import BYTES, INT, STRING, GobError, GobStruct, decode_struct

__all__ = [
    "GOB",
    "GOB_GZIP",
    "JSON",
    "JSON_GZIP",
    "MAX_INFLATED",
    "FrameCodec",
    "codec_for",
    "gunzip",
    "gzip",
]

# A gzip frame may not inflate past this (a few KB of zeros would otherwise become gigabytes).
MAX_INFLATED: Final = 1 << 20

# The structs as Go declares them: the SDK's request (what a Go client sends) and the gateway's
# reply (what OpenIM's server sends). Decoding matches by field name, so either side's order works.
GO_REQUEST: Final = GobStruct(
    "GeneralWsReq",
    (("ReqIdentifier", INT), ("Token", STRING), ("SendID", STRING), ("OperationID", STRING),
     ("MsgIncr", STRING), ("Data", BYTES)),
)
GO_RESPONSE: Final = GobStruct(
    "Resp",
    (("ReqIdentifier", INT), ("MsgIncr", STRING), ("OperationID", STRING), ("ErrCode", INT),
     ("ErrMsg", STRING), ("Data", BYTES)),
)
_REQUEST_FIELDS: Final = dict(GO_REQUEST.fields)
_RESPONSE_FIELDS: Final = dict(GO_RESPONSE.fields)
_REQUEST_HEAD: Final = GO_REQUEST.type_definition()
_RESPONSE_HEAD: Final = GO_RESPONSE.type_definition()


def gzip(data: bytes) -> bytes:
    """One gzip member (RFC 1952), default level, no file name or time: what Go's gzip.Writer makes."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    return z.compress(data) + z.flush()


def gunzip(frame: bytes, limit: int = MAX_INFLATED) -> bytes:
    """Inflate one gzip member of at most ``limit`` bytes; anything else is an EnvelopeError."""
    z = zlib.decompressobj(31)
    try:
        out = z.decompress(frame, limit + 1)
    except zlib.error as exc:
        raise EnvelopeError(f"gzip: {exc}") from None
    if len(out) > limit:
        raise EnvelopeError(f"gzip: inflates past {limit} bytes")
    if not z.eof:
        raise EnvelopeError("gzip: truncated")
    if z.unused_data:
        raise EnvelopeError("gzip: bytes after the compressed member")
    return out


def _int(fields: dict[str, int | str | bytes], key: str) -> int:
    v = fields.get(key, 0)
    assert isinstance(v, int)  # decode_struct checked the field's type id
    return v


def _str(fields: dict[str, int | str | bytes], key: str) -> str:
    v = fields.get(key, "")
    assert isinstance(v, str)
    return v


def _bytes(fields: dict[str, int | str | bytes], key: str) -> bytes | None:
    v = fields.get(key)
    assert v is None or isinstance(v, bytes)
    return v


def _gob_request(frame: bytes) -> WsRequest:
    try:
        f = decode_struct(frame, _REQUEST_FIELDS)
    except GobError as exc:
        raise EnvelopeError(f"gob: {exc}") from None
    return WsRequest(
        req_identifier=_int(f, "ReqIdentifier"),
        msg_incr=_str(f, "MsgIncr"),
        send_id=_str(f, "SendID"),
        operation_id=_str(f, "OperationID"),
        data=_bytes(f, "Data") or b"",
    )


def _gob_response(frame: bytes) -> WsResponse:
    try:
        f = decode_struct(frame, _RESPONSE_FIELDS)
    except GobError as exc:
        raise EnvelopeError(f"gob: {exc}") from None
    return WsResponse(
        req_identifier=_int(f, "ReqIdentifier"),
        msg_incr=_str(f, "MsgIncr"),
        operation_id=_str(f, "OperationID"),
        err_code=_int(f, "ErrCode"),
        err_msg=_str(f, "ErrMsg"),
        data=_bytes(f, "Data"),
    )


class FrameCodec:
    """How one connection's binary frames are encoded. Use the shared instances (:func:`codec_for`)."""

    def __init__(self, kind: str, compressed: bool) -> None:
        if kind not in ("json", "gob"):
            raise ValueError(f"unknown codec kind {kind!r}")
        self.kind = kind
        self.compressed = compressed
        self.name = kind + ("+gzip" if compressed else "")

    def __repr__(self) -> str:
        return f"<FrameCodec {self.name}>"

    # -- server side --------------------------------------------------------------------------------
    def decode_request(self, frame: bytes, *, limit: int = MAX_INFLATED) -> WsRequest:
        """A client's binary frame as a request; EnvelopeError when it is not one."""
        if self.compressed:
            frame = gunzip(frame, limit)
        if self.kind == "json":
            return envelope.decode_request(frame)
        return _gob_request(frame)

    def encode_response(
        self,
        req_identifier: int,
        msg_incr: str,
        operation_id: str,
        err_code: int = 0,
        err_msg: str = "",
        data: bytes | None = None,
    ) -> bytes:
        """A reply or push frame (``data=None``: no payload; gob cannot tell it from ``b""``)."""
        if self.kind == "json":
            frame = envelope.encode_response(req_identifier, msg_incr, operation_id, err_code, err_msg, data)
        else:
            frame = GO_RESPONSE.encode(
                (req_identifier, msg_incr, operation_id, err_code, err_msg, data or b""), prefix=_RESPONSE_HEAD
            )
        return gzip(frame) if self.compressed else frame

    def from_json_frame(self, frame: bytes) -> bytes:
        """Re-encode a server frame built by the JSON envelope (pushes are encoded once, in JSON,
        by the push stage) for this codec. Identity for plain JSON."""
        if self.kind == "json":
            return gzip(frame) if self.compressed else frame
        r = envelope.decode_response(frame)
        return self.encode_response(r.req_identifier, r.msg_incr, r.operation_id, r.err_code, r.err_msg, r.data)

    @cached_property
    def kick_frame(self) -> bytes:
        """2002, sent before closing a connection another login replaced."""
        return self.encode_response(ReqIdentifier.KICK_ONLINE_MSG, "", "", 0, "", None)

    # -- client side (openim bench, tests) -----------------------------------------------------------
    @property
    def handshake_params(self) -> dict[str, str]:
        """The query parameters that make the gateway pick this codec (a Go client sends no sdkType)."""
        params = {"sdkType": "js"} if self.kind == "json" else {}
        if self.compressed:
            params["compression"] = "gzip"
        return params

    def encode_request(
        self, req_identifier: int, msg_incr: str, send_id: str, operation_id: str, data: bytes = b"", token: str = ""
    ) -> bytes:
        """A request frame as the SDK of this codec sends it."""
        if self.kind == "json":
            frame = envelope.encode_request(req_identifier, msg_incr, send_id, operation_id, data)
        else:
            frame = GO_REQUEST.encode(
                (req_identifier, token, send_id, operation_id, msg_incr, data), prefix=_REQUEST_HEAD
            )
        return gzip(frame) if self.compressed else frame

    def decode_response(self, frame: bytes, *, limit: int = MAX_INFLATED) -> WsResponse:
        """A server's binary frame (reply or push); EnvelopeError when it is not one."""
        if self.compressed:
            frame = gunzip(frame, limit)
        if self.kind == "json":
            return envelope.decode_response(frame)
        return _gob_response(frame)


JSON: Final = FrameCodec("json", False)
JSON_GZIP: Final = FrameCodec("json", True)
GOB: Final = FrameCodec("gob", False)
GOB_GZIP: Final = FrameCodec("gob", True)


def codec_for(sdk_type: str, compression: str = "") -> FrameCodec:
    """The codec OpenIM's gateway picks for these handshake arguments: JSON for ``js``, gob for
    ``go`` or no sdkType; gzip only for ``compression=gzip`` (any other value means none)."""
    gz = compression == "gzip"
    if sdk_type == "js":
        return JSON_GZIP if gz else JSON
    if sdk_type in ("", "go"):
        return GOB_GZIP if gz else GOB
    raise ValueError(f"no codec for sdkType {sdk_type!r}")
