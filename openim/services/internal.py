"""Payloads that travel between our own stages over the Bus (never seen by clients).

One module owns their encoding, so the stages exchange typed dataclasses and the format can change in
one place. JSON keeps them readable in `redis-cli` when debugging a cluster; MsgData travels as base64 of
its protobuf bytes, untouched.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

# First byte of a node-addressed payload: what the receiving process should do with it.
KIND_REPLY = b"R"  # a send result for a waiting caller
KIND_DELIVER = b"D"  # a frame for the gateway to write to local connections
KIND_KICK = b"K"  # end the sessions of a user on some platforms
KIND_STATUS = b"S"  # a user's online platforms changed (for 2005 subscribers)
KIND_INVALIDATE = b"I"  # cache entries another process changed (openim.cluster.coherence)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


@dataclass(frozen=True, slots=True)
class TransferItem:
    """A validated message on its way to durable storage (transfer queue, partitioned by conversation)."""

    request_id: str
    origin_node: str
    origin_conn: str  # connection that sent it ("" for REST and system sends): excluded from fan-out
    operation_id: str
    conversation_id: str
    conversation_type: int
    msg: bytes  # MsgData with status 2, without seq
    owners: tuple[str, ...] = ()
    reader_user_id: str = ""
    recipients: tuple[str, ...] = ()  # explicit push targets ("" = derive from the message)

    def encode(self) -> bytes:
        return json.dumps(
            {
                "r": self.request_id, "o": self.origin_node, "c": self.origin_conn, "op": self.operation_id,
                "cv": self.conversation_id, "ct": self.conversation_type, "m": _b64(self.msg),
                "ow": list(self.owners), "rd": self.reader_user_id, "rc": list(self.recipients),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> TransferItem:
        d: dict[str, Any] = json.loads(data)
        return cls(
            d["r"], d["o"], d["c"], d["op"], d["cv"], int(d["ct"]), _unb64(d["m"]),
            tuple(d["ow"]), d["rd"], tuple(d.get("rc", ())),
        )


@dataclass(frozen=True, slots=True)
class SendReply:
    """The transfer stage's answer to the process waiting for an ack."""

    request_id: str
    seq: int = 0
    server_msg_id: str = ""
    send_time: int = 0
    duplicate: bool = False
    err_code: int = 0
    err_detail: str = ""

    def encode(self) -> bytes:
        return KIND_REPLY + json.dumps(
            [self.request_id, self.seq, self.server_msg_id, self.send_time, self.duplicate,
             self.err_code, self.err_detail],
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, body: bytes) -> SendReply:
        r, seq, smid, st, dup, code, dlt = json.loads(body)
        return cls(r, int(seq), smid, int(st), bool(dup), int(code), dlt)


@dataclass(frozen=True, slots=True)
class PushItem:
    """A stored (or online-only) message to fan out (push queue, partitioned by conversation)."""

    operation_id: str
    conversation_id: str
    msg: bytes  # final MsgData: seq set (0 for online-only), status 2
    exclude_conn: str = ""  # "<node>/<conn>" that gets the echo from its own gateway instead
    recipients: tuple[str, ...] = ()  # explicit targets; empty = derive from the message

    def encode(self) -> bytes:
        return json.dumps(
            {"op": self.operation_id, "cv": self.conversation_id, "m": _b64(self.msg),
             "x": self.exclude_conn, "rc": list(self.recipients)},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> PushItem:
        d: dict[str, Any] = json.loads(data)
        return cls(d["op"], d["cv"], _unb64(d["m"]), d.get("x", ""), tuple(d.get("rc", ())))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One encoded frame for the gateway of one node: write it to every local connection of ``user_ids``."""

    frame: bytes
    user_ids: tuple[str, ...]
    exclude_conn: str = ""

    def encode(self) -> bytes:
        head = json.dumps([list(self.user_ids), self.exclude_conn], separators=(",", ":")).encode()
        return KIND_DELIVER + len(head).to_bytes(4, "big") + head + self.frame

    @classmethod
    def decode(cls, body: bytes) -> Delivery:
        n = int.from_bytes(body[:4], "big")
        users, exclude = json.loads(body[4 : 4 + n])
        return cls(body[4 + n :], tuple(users), exclude)


@dataclass(frozen=True, slots=True)
class Kick:
    """End the sessions of ``user_id`` on ``platform_ids`` (all but those using ``except_token``; with
    ``issued_before_ms`` only sessions whose token was issued before it, so a kick that arrives late never
    ends a newer login)."""

    user_id: str
    platform_ids: tuple[int, ...]
    except_token: str = ""
    issued_before_ms: int = 0  # 0: no time limit (force_logout, bans)

    def encode(self) -> bytes:
        return KIND_KICK + json.dumps(
            [self.user_id, list(self.platform_ids), self.except_token, self.issued_before_ms], separators=(",", ":")
        ).encode()

    @classmethod
    def decode(cls, body: bytes) -> Kick:
        uid, platforms, keep, *rest = json.loads(body)  # a 3-element kick comes from an older process
        return cls(uid, tuple(int(p) for p in platforms), keep, int(rest[0]) if rest else 0)

    def ends(self, user_id: str, platform_id: int, token: str, issued_ms: int) -> bool:
        """Whether this kick ends a session of that user, platform and token (issued at ``issued_ms``)."""
        return (
            user_id == self.user_id
            and platform_id in self.platform_ids
            and token != self.except_token
            and (not self.issued_before_ms or (issued_ms, token) < (self.issued_before_ms, self.except_token))
        )


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A user's set of online platforms changed."""

    user_id: str
    platform_ids: tuple[int, ...] = field(default_factory=tuple)

    def encode(self) -> bytes:
        return KIND_STATUS + json.dumps([self.user_id, list(self.platform_ids)], separators=(",", ":")).encode()

    @classmethod
    def decode(cls, body: bytes) -> StatusChange:
        uid, platforms = json.loads(body)
        return cls(uid, tuple(int(p) for p in platforms))


@dataclass(frozen=True, slots=True)
class Invalidations:
    """Cache entries changed by another process: ``(cache name, key)`` pairs to drop."""

    entries: tuple[tuple[str, str], ...]

    def encode(self) -> bytes:
        return KIND_INVALIDATE + json.dumps([list(e) for e in self.entries], separators=(",", ":")).encode()

    @classmethod
    def decode(cls, body: bytes) -> Invalidations:
        return cls(tuple((str(name), str(key)) for name, key in json.loads(body)))
