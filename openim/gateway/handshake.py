"""The WebSocket handshake arguments: parsing and validation, as pure functions.

Order and error choice follow the Go gateway (OpenIM's ws_server.go and context.go), because clients map
codes to behaviour: the JS SDK stops or keeps reconnecting depending on them. Argument errors never
reach the token check; the connection-count check (1601) happens before parsing, in the server.

Query values are parsed leniently. The JS SDK concatenates them without URL encoding, so a value may
hold characters a strict parser would mangle: only valid ``%XX`` escapes are decoded (clients that do
encode still work), ``+`` stays a plus, and the first occurrence of a key wins as in Go's
``Query().Get``. The ``v`` form (base64url JSON, used by newer SDKs) replaces every other key.

``sdkType`` and ``compression`` choose the connection's frame codec (openim.wire.codec): JSON for
``js``, Go's gob for ``go`` or no sdkType (openim-sdk-core), gzip for ``compression=gzip``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

from openim.wire.codec import FrameCodec, codec_for
from openim.wire.constants import is_valid_platform
from openim.wire.envelope import handshake_error_text
from openim.wire.errors import ErrCode

__all__ = [
    "ConnArgs",
    "HandshakeRefused",
    "check_claims",
    "parse_conn_args",
    "parse_query",
]

SDK_TYPE_JS: Final = "js"
_KNOWN_SDK_TYPES: Final = frozenset({"", "go", SDK_TYPE_JS})
_INT_RE: Final = re.compile(r"[+-]?[0-9]+\Z")
# strconv.ParseBool's accepted spellings.
_TRUE: Final = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE: Final = frozenset({"0", "f", "F", "false", "FALSE", "False"})


class HandshakeRefused(Exception):
    """A handshake that must not become a session; ``code``/``detail`` go into the JSON answer."""

    def __init__(self, code: ErrCode, detail: str) -> None:
        super().__init__(f"[{int(code)}] {detail}")
        self.code = code
        self.detail = detail

    def body_text(self) -> str:
        """``{"errCode","errMsg","errDlt"}``: the HTTP 200 body or the single text frame."""
        return handshake_error_text(self.code, self.detail)


@dataclass(frozen=True, slots=True)
class ConnArgs:
    """Validated handshake arguments of one connection."""

    user_id: str
    token: str
    platform_id: int
    operation_id: str
    is_msg_resp: bool  # send the handshake result as the first text frame
    is_background: bool
    sdk_type: str
    compression: str = ""
    sdk_version: str = ""

    @property
    def codec(self) -> FrameCodec:
        """How this connection's binary frames are encoded (sdk_type is already validated)."""
        return codec_for(self.sdk_type, self.compression)


# ---------------------------------------------------------------------------------------------
# raw parsing
# ---------------------------------------------------------------------------------------------


def parse_query(target: str) -> dict[str, str]:
    """Key/value pairs of the request target's query; first occurrence wins, lenient decoding."""
    _path, sep, query = target.partition("?")
    if not sep:
        return {}
    query = query.partition("#")[0]
    out: dict[str, str] = {}
    for part in query.split("&"):
        if not part:
            continue
        key, _eq, value = part.partition("=")
        key = unquote(key)
        if key not in out:
            out[key] = unquote(value)
    return out


def _parse_int(text: str) -> int | None:
    return int(text) if _INT_RE.match(text) else None


def _parse_bool(text: str) -> bool | None:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _conn_args_error(detail: str) -> HandshakeRefused:
    return HandshakeRefused(ErrCode.CONN_ARGS, detail)


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------


def parse_conn_args(target: str, headers: Mapping[str, str]) -> ConnArgs:
    """Validate the handshake in the Go gateway's order; raise :class:`HandshakeRefused`.

    ``headers`` are lower-cased names; only ``compression`` is read (Go's fallback when the query
    does not carry it).
    """
    query = parse_query(target)
    v = query.get("v", "")
    args = _from_v(v) if v else _from_query(query)
    if not args.compression:
        args = _replace_compression(args, headers.get("compression", ""))
    _check_info(args)
    return args


def _from_query(query: Mapping[str, str]) -> ConnArgs:
    platform_id = _parse_int(query.get("platformID", ""))
    if platform_id is None:
        raise _conn_args_error("platformID is not int")
    is_msg_resp = False
    if "isMsgResp" in query:
        parsed = _parse_bool(query["isMsgResp"])
        if parsed is None:
            raise _conn_args_error("isMsgResp is not bool")
        is_msg_resp = parsed
    background = _parse_bool(query.get("isBackground", ""))
    if background is None:
        # Go parses it with strconv.ParseBool and returns the bare error, which its error
        # writer reports as 500; clients rely on nothing else, so we keep the code.
        raise HandshakeRefused(ErrCode.SERVER_INTERNAL, "isBackground is not bool")
    return ConnArgs(
        user_id=query.get("sendID", ""),
        token=query.get("token", ""),
        platform_id=platform_id,
        operation_id=query.get("operationID", ""),
        is_msg_resp=is_msg_resp,
        is_background=background,
        sdk_type=query.get("sdkType", ""),
        compression=query.get("compression", ""),
        sdk_version=query.get("sdkVersion", ""),
    )


def _from_v(v: str) -> ConnArgs:
    """The ``v`` form: base64url (no padding) of a JSON object with the connection info."""
    try:
        raw = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
        obj: Any = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise _conn_args_error("v is not base64url JSON") from None
    if not isinstance(obj, dict):
        raise _conn_args_error("v is not a JSON object")

    def text(key: str) -> str:
        value = obj.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise _conn_args_error(f"{key} is not a string")
        return value

    def flag(key: str) -> bool:
        value = obj.get(key)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        parsed = _parse_bool(value) if isinstance(value, str) else None
        if parsed is None:
            raise _conn_args_error(f"{key} is not bool")
        return parsed

    raw_platform = obj.get("platformID")
    platform_id: int | None
    if isinstance(raw_platform, bool):
        platform_id = None
    elif isinstance(raw_platform, int):
        platform_id = raw_platform
    elif isinstance(raw_platform, str):
        platform_id = _parse_int(raw_platform)
    else:
        platform_id = None
    if platform_id is None:
        raise _conn_args_error("platformID is not int")
    return ConnArgs(
        user_id=text("userID"),
        token=text("token"),
        platform_id=platform_id,
        operation_id=text("operationID"),
        is_msg_resp=flag("sendResponse"),
        is_background=flag("background"),
        sdk_type=text("sdkType"),
        compression=text("compression"),
        sdk_version=text("sdkVersion"),
    )


def _replace_compression(args: ConnArgs, compression: str) -> ConnArgs:
    if not compression:
        return args
    return ConnArgs(
        args.user_id,
        args.token,
        args.platform_id,
        args.operation_id,
        args.is_msg_resp,
        args.is_background,
        args.sdk_type,
        compression,
        args.sdk_version,
    )


def _check_info(args: ConnArgs) -> None:
    if not args.operation_id:
        raise _conn_args_error("operationID is empty")
    if not args.token:
        raise _conn_args_error("token is empty")
    if not args.user_id:
        raise _conn_args_error("sendID is empty")
    if not is_valid_platform(args.platform_id):
        raise _conn_args_error("platformID is invalid")
    if args.sdk_type not in _KNOWN_SDK_TYPES:
        raise _conn_args_error("sdkType is invalid")


def check_claims(args: ConnArgs, claims_user_id: str, claims_platform_id: int) -> None:
    """The token must belong to the connecting user and platform (1502 otherwise, as OpenIM)."""
    if claims_user_id != args.user_id:
        raise HandshakeRefused(ErrCode.TOKEN_INVALID, f"token uid {claims_user_id} != userID {args.user_id}")
    if claims_platform_id != args.platform_id:
        raise HandshakeRefused(
            ErrCode.TOKEN_INVALID, f"token platform {claims_platform_id} != platformID {args.platform_id}"
        )
