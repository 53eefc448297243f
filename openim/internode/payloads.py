"""Node-addressed payloads between our own processes over the Bus (never seen by clients): deliveries,
kicks, online-status changes and cache invalidations. (The send path's own items are protobuf:
openim/pipeline/codec.py.)

One module owns their encoding, so the stages exchange typed dataclasses and the format can change in
one place.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from openim.wire.pb import pipeline_pb2

# First byte of a node-addressed payload: what the receiving process should do with it.
KIND_REPLY = b"R"  # a send result for a waiting caller
KIND_DELIVER = b"D"  # a frame for the gateway to write to local connections
KIND_DELIVERIES = b"P"  # several of them in one payload (one push batch), protobuf
KIND_KICK = b"K"  # end the sessions of a user on some platforms
KIND_STATUS = b"S"  # a user's online platforms changed (for 2005 subscribers)
KIND_INVALIDATE = b"I"  # cache entries another process changed (openim.cluster.coherence)


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


def encode_deliveries(deliveries: Sequence[Delivery]) -> bytes:
    """The deliveries of one push batch for one node, as one KIND_DELIVERIES payload."""
    out = pipeline_pb2.Deliveries()
    add = out.items.add
    for d in deliveries:
        add(frame=d.frame, user_ids=d.user_ids, exclude_conn=d.exclude_conn)
    data: bytes = out.SerializeToString()
    return KIND_DELIVERIES + data


def decode_deliveries(body: bytes) -> list[Delivery]:
    """A KIND_DELIVERIES payload (without its kind byte)."""
    return [
        Delivery(d.frame, tuple(d.user_ids), d.exclude_conn) for d in pipeline_pb2.Deliveries.FromString(body).items
    ]


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
