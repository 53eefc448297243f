"""What the load engine needs from an SDK's wire format: :class:`LoadCodec` (the registry of the
codecs, ``--sdk``, is openim/bench/sdks.py).

The engine (openim/bench/engine.py) knows WebSocket frames, windows, timers and the accounting; it
never looks inside a message. Everything that depends on how an SDK encodes its traffic sits behind
this small interface, so a second SDK (the Go SDK's gob + gzip frames, ``--sdk go``) is one more
module and one more line in :data:`openim.bench.sdks.SDKS`:

- the login URL and the handshake result (the first data frame after the upgrade);
- the heartbeat the SDK sends;
- :meth:`LoadCodec.build_send`: one 1003 send as the bytes of a WebSocket message, built from a
  per-sender template with only the variable parts (sequence, peer, send time) spliced in;
- :meth:`LoadCodec.scan`: a server frame classified by a byte scan, without a full decode, into one of
  the :data:`Scan` tuples below;
- :meth:`LoadCodec.verify` / :meth:`LoadCodec.verify_send`: the full, independent decode the engine
  runs on every N-th frame as a cross-check of the scan (a mismatch fails the run).

Message identity is shared by every codec: a message's *key* is ``sender index << 32 | seq``
(:func:`openim.bench.stats.make_key`), its msgIncr is ``seq``, and the recipient must be able to read
the key and the send time (``time.monotonic_ns()``) from what it receives.

Scan results (plain tuples: the engine's hot path indexes them, no objects are built):

- ``(IGNORE,)``: nothing to count (a heartbeat answer);
- ``(OTHER,)``: a frame that is none of the bench's (counted as "other pushes");
- ``(ACK, seq, err_code, err_msg)``: the reply to a 1003 send;
- ``(ECHO, key)``: a push of this very connection's own message (the gateway's echo);
- ``(MSG, key, sent_ns, to_me)``: a push of one bench message; ``to_me`` when it names this
  connection's user (direct) or the run's group (group) as its recipient;
- ``(MSGS, ((key, sent_ns, to_me), ...), others)``: a push of several messages, ``others`` of them not
  the bench's (only from a full decode; servers push one message per frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

__all__ = [
    "ACK",
    "ECHO",
    "IGNORE",
    "MSG",
    "MSGS",
    "OTHER",
    "CodecSetup",
    "LoadCodec",
    "Scan",
]

IGNORE: Final = 0
OTHER: Final = 1
ACK: Final = 2
ECHO: Final = 3
MSG: Final = 4
MSGS: Final = 5

Scan = tuple[Any, ...]

SenderT = TypeVar("SenderT")
ReceiverT = TypeVar("ReceiverT")


@dataclass(frozen=True, slots=True)
class CodecSetup:
    """The run-wide facts a codec builds its templates from."""

    workload: str  # direct | group | connect
    all_user_ids: tuple[str, ...]  # by global index: a direct send's peer is an index into this
    group_id: str = ""
    content_size: int = 32  # text bytes per message
    platform_id: int = 5  # web, as the JS SDK in a browser


class LoadCodec(Protocol[SenderT, ReceiverT]):
    """One SDK's wire format, as the load engine uses it. See the module docstring."""

    name: str
    send_opcode: int  # WebSocket opcode of a send (1 text, 2 binary)

    def login_target(self, user_id: str, token: str, operation_id: str) -> str:
        """The request target of the WebSocket upgrade, as the SDK builds it."""

    def handshake_result(self, opcode: int, payload: bytes) -> str | None:
        """The first data frame after the upgrade: None when the login is accepted, else why not."""

    def heartbeat(self) -> tuple[int, bytes] | None:
        """The frame (opcode, payload) the SDK sends every heartbeat period, or None for none."""

    def sender(self, index: int, user_id: str) -> SenderT:
        """The per-connection send template."""

    def receiver(self, index: int, user_id: str) -> ReceiverT:
        """The per-connection scan context (who "me" is)."""

    def build_send(self, sender: SenderT, seq: int, peer: int, now_ns: int) -> bytes:
        """The message bytes of one send: msgIncr ``seq``, to user index ``peer`` (direct) or the group."""

    def scan(self, opcode: int, payload: bytes, receiver: ReceiverT) -> Scan:
        """Classify a server message by a byte scan (falling back to a full decode for odd shapes)."""

    def verify(self, opcode: int, payload: bytes, receiver: ReceiverT, scanned: Scan) -> str | None:
        """Decode in full and compare with ``scanned``; a text saying what differs, or None."""

    def verify_send(self, payload: bytes, sender: SenderT, seq: int, peer: int, now_ns: int) -> str | None:
        """Decode a built send in full and check every field; a text saying what is wrong, or None."""
