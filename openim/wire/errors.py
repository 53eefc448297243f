"""OpenIM error codes and the one place they become a wire envelope.

Every failure a client can see is an :class:`OpenIMError` carrying an :class:`ErrCode`. Domain code raises;
the edges (REST handler wrapper, gateway dispatcher) catch and call :func:`error_envelope` or read
``code``/``name``/``detail`` for the WebSocket response envelope. Nothing else builds ``errCode`` dicts.

Codes and names are OpenIM's (its errs and servererrs packages); clients only look at the number.
"""

from __future__ import annotations

import enum
from typing import Any


class ErrCode(enum.IntEnum):
    """The OpenIM error code space. ``err_msg`` is the canonical errMsg string for each code."""

    OK = 0
    SERVER_INTERNAL = 500
    ARGS = 1001
    NO_PERMISSION = 1002
    DUPLICATE_KEY = 1003
    RECORD_NOT_FOUND = 1004
    USER_ID_NOT_FOUND = 1101
    REGISTERED_ALREADY = 1102
    GROUP_ID_NOT_FOUND = 1201
    GROUP_ID_EXISTED = 1202
    NOT_IN_GROUP_YET = 1203
    DISMISSED_ALREADY = 1204
    GROUP_TYPE_NOT_SUPPORT = 1205
    GROUP_REQUEST_HANDLED = 1206
    CAN_NOT_ADD_YOURSELF = 1301
    BLOCKED_BY_PEER = 1302
    NOT_PEERS_FRIEND = 1303
    RELATIONSHIP_ALREADY = 1304
    FRIEND_REQUEST_HANDLED = 1305
    MESSAGE_HAS_READ_DISABLE = 1401
    MUTED_IN_GROUP = 1402
    MUTED_GROUP = 1403
    MSG_ALREADY_REVOKE = 1404
    TOKEN_EXPIRED = 1501
    TOKEN_INVALID = 1502
    TOKEN_MALFORMED = 1503
    TOKEN_NOT_VALID_YET = 1504
    TOKEN_UNKNOWN = 1505
    TOKEN_KICKED = 1506
    TOKEN_NOT_EXIST = 1507
    CONN_OVER_MAX_NUM_LIMIT = 1601
    CONN_ARGS = 1602
    FILE_UPLOADED_EXPIRED = 1701
    CALLBACK = 80000
    DATABASE = 90002
    NETWORK = 90004
    DATA = 90007

    @property
    def err_msg(self) -> str:
        return _ERR_MSG.get(self, self.name)


_ERR_MSG: dict[ErrCode, str] = {
    ErrCode.OK: "",
    ErrCode.SERVER_INTERNAL: "ServerInternalError",
    ErrCode.ARGS: "ArgsError",
    ErrCode.NO_PERMISSION: "NoPermissionError",
    ErrCode.DUPLICATE_KEY: "DuplicateKeyError",
    ErrCode.RECORD_NOT_FOUND: "RecordNotFoundError",
    ErrCode.USER_ID_NOT_FOUND: "UserIDNotFoundError",
    ErrCode.REGISTERED_ALREADY: "RegisteredAlreadyError",
    ErrCode.GROUP_ID_NOT_FOUND: "GroupIDNotFoundError",
    ErrCode.GROUP_ID_EXISTED: "GroupIDExisted",
    ErrCode.NOT_IN_GROUP_YET: "NotInGroupYetError",
    ErrCode.DISMISSED_ALREADY: "DismissedAlreadyError",
    ErrCode.GROUP_TYPE_NOT_SUPPORT: "GroupTypeNotSupport",
    ErrCode.GROUP_REQUEST_HANDLED: "GroupRequestHandled",
    ErrCode.CAN_NOT_ADD_YOURSELF: "CanNotAddYourselfError",
    ErrCode.BLOCKED_BY_PEER: "BlockedByPeer",
    ErrCode.NOT_PEERS_FRIEND: "NotPeersFriend",
    ErrCode.RELATIONSHIP_ALREADY: "RelationshipAlreadyError",
    ErrCode.FRIEND_REQUEST_HANDLED: "FriendRequestHandled",
    ErrCode.MESSAGE_HAS_READ_DISABLE: "MessageHasReadDisable",
    ErrCode.MUTED_IN_GROUP: "MutedInGroup",
    ErrCode.MUTED_GROUP: "MutedGroup",
    ErrCode.MSG_ALREADY_REVOKE: "MsgAlreadyRevoke",
    ErrCode.TOKEN_EXPIRED: "TokenExpiredError",
    ErrCode.TOKEN_INVALID: "TokenInvalidError",
    ErrCode.TOKEN_MALFORMED: "TokenMalformedError",
    ErrCode.TOKEN_NOT_VALID_YET: "TokenNotValidYetError",
    ErrCode.TOKEN_UNKNOWN: "TokenUnknownError",
    ErrCode.TOKEN_KICKED: "TokenKickedError",
    ErrCode.TOKEN_NOT_EXIST: "TokenNotExistError",
    ErrCode.CONN_OVER_MAX_NUM_LIMIT: "ConnOverMaxNumLimit",
    ErrCode.CONN_ARGS: "args err, need token, sendID, platformID",
    ErrCode.FILE_UPLOADED_EXPIRED: "FileUploadedExpiredError",
    ErrCode.CALLBACK: "CallbackError",
    ErrCode.DATABASE: "DatabaseError",
    ErrCode.NETWORK: "NetworkError",
    ErrCode.DATA: "DataError",
}

TOKEN_ERRORS = frozenset(c for c in ErrCode if 1501 <= c <= 1507)


class OpenIMError(Exception):
    """A failure with an OpenIM code; ``detail`` becomes errDlt (REST) and is logged (gateway)."""

    def __init__(self, code: ErrCode, detail: str = "") -> None:
        super().__init__(f"[{int(code)}] {code.err_msg}: {detail}" if detail else f"[{int(code)}] {code.err_msg}")
        self.code = code
        self.detail = detail

    @property
    def name(self) -> str:
        return self.code.err_msg


def args_error(detail: str) -> OpenIMError:
    """Shorthand for the most common refusal: bad input (1001) with the reason."""
    return OpenIMError(ErrCode.ARGS, detail)


def no_permission(detail: str = "") -> OpenIMError:
    return OpenIMError(ErrCode.NO_PERMISSION, detail)


def not_found(detail: str = "") -> OpenIMError:
    return OpenIMError(ErrCode.RECORD_NOT_FOUND, detail)


def error_envelope(err: OpenIMError | ErrCode, detail: str | None = None) -> dict[str, Any]:
    """The JSON envelope of a failure: ``{"errCode", "errMsg", "errDlt"}`` (no ``data`` key)."""
    if isinstance(err, OpenIMError):
        code, dlt = err.code, err.detail if detail is None else detail
    else:
        code, dlt = err, detail or ""
    return {"errCode": int(code), "errMsg": code.err_msg, "errDlt": dlt}


def ok_envelope(data: Any = None, *, has_data: bool = True) -> dict[str, Any]:
    """The JSON envelope of a success; ``data`` is omitted for empty response messages (OpenIM's rule)."""
    env: dict[str, Any] = {"errCode": 0, "errMsg": "", "errDlt": ""}
    if has_data:
        env["data"] = data
    return env
