"""Message accounting for ``openim bench``: what was sent, acked, delivered, lost or duplicated.

Every benchmark message has an integer *key*: ``(sender index << 32) | sender's sequence number``. It
travels in the message itself (clientMsgID and operationID), so a recipient in any load process can
say which message it got without shared state. The bookkeeping is split in two on purpose:

- :class:`DeliveryLog` lives in each load process and sees the pushes its own clients receive. It
  keeps one entry per (recipient, key) so a second copy of the same message to the same recipient is
  counted as a duplicate there, where it is cheap to see.
- :class:`Ledger` lives in the parent. It joins the acked keys of every sender with the distinct
  deliveries of every recipient and the fan-out each message should have had (1 for a one-to-one
  message, members-1 for a group message), and says how many were lost.

A message is *lost* when its sender got a successful ack and fewer recipients than expected got it
after the grace period; a delivery of a key nobody acked is *unexpected* (it should not happen either).
These counts are pure functions of the record streams, so the tests feed synthetic streams.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "KEY_SEQ_BITS",
    "Counts",
    "DeliveryLog",
    "Ledger",
    "Percentiles",
    "make_key",
    "percentiles",
    "sender_of",
]

KEY_SEQ_BITS = 32
_SEQ_MASK = (1 << KEY_SEQ_BITS) - 1


def make_key(sender_index: int, seq: int) -> int:
    """The message key: sender in the high bits so any process can tell who sent it."""
    return (sender_index << KEY_SEQ_BITS) | (seq & _SEQ_MASK)


def sender_of(key: int) -> int:
    return key >> KEY_SEQ_BITS


class DeliveryLog:
    """The deliveries one load process observed, deduplicated per (recipient, key).

    The set holds ``recipient << 64 | key`` ints: one Python int per delivery, which is what bounds how
    long a group run may be (a few million deliveries cost a few hundred MB, fine for a bounded run).
    """

    __slots__ = ("_seen", "delivered", "duplicates")

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self.delivered = array("q")  # one key per distinct (recipient, key) delivery
        self.duplicates = 0

    def record(self, recipient_index: int, key: int) -> bool:
        """Note one delivery; False (and a duplicate counted) if this recipient already had it."""
        tag = (recipient_index << 64) | key
        if tag in self._seen:
            self.duplicates += 1
            return False
        self._seen.add(tag)
        self.delivered.append(key)
        return True

    def __len__(self) -> int:
        return len(self.delivered)


@dataclass(frozen=True, slots=True)
class Counts:
    """The totals of one run; ``ok`` is the check that decides the exit code."""

    sent: int
    acked: int
    refused: int  # answered with errCode != 0
    unacked: int  # sent, no answer by the end of the grace period
    delivered: int  # acked messages that reached every expected recipient
    deliveries: int  # distinct (message, recipient) deliveries of acked messages
    expected_deliveries: int
    lost: int  # acked messages that missed at least one recipient
    lost_deliveries: int  # the missing (message, recipient) pairs
    duplicates: int
    unexpected: int  # deliveries of messages never acked

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.unacked == 0
            and self.refused == 0
            and self.unexpected == 0
        )

    def problems(self) -> list[str]:
        """One line per failed check, for the report and the error exit."""
        out = []
        if self.lost:
            out.append(f"{self.lost} acked messages lost ({self.lost_deliveries} deliveries missing)")
        if self.duplicates:
            out.append(f"{self.duplicates} duplicate deliveries")
        if self.unacked:
            out.append(f"{self.unacked} messages never acked")
        if self.refused:
            out.append(f"{self.refused} sends refused by the server")
        if self.unexpected:
            out.append(f"{self.unexpected} deliveries of messages that were never acked")
        return out


class Ledger:
    """Joins acks and deliveries from every load process into :class:`Counts`."""

    def __init__(self, fanout: int) -> None:
        if fanout < 1:
            raise ValueError("fanout must be at least 1")
        self._fanout = fanout
        self._acked: set[int] = set()
        self._got: Counter[int] = Counter()
        self.sent = 0
        self.refused = 0
        self.duplicates = 0

    def add_sender(self, sent: int, acked: Iterable[int], refused: int) -> None:
        self.sent += sent
        self._acked.update(acked)
        self.refused += refused

    def add_recipient(self, delivered: Iterable[int], duplicates: int) -> None:
        """``delivered``: distinct (recipient, key) deliveries of one process, as keys."""
        self._got.update(delivered)
        self.duplicates += duplicates

    def counts(self) -> Counts:
        fanout = self._fanout
        got = self._got
        delivered = deliveries = lost = lost_deliveries = 0
        for key in self._acked:
            n = got.get(key, 0)
            if n >= fanout:
                delivered += 1
                deliveries += fanout
            else:
                lost += 1
                lost_deliveries += fanout - n
                deliveries += n
        # A key delivered more often than the fan-out allows is a duplicate that no single process saw
        # (two processes cannot hold the same recipient, so this only happens with a wrong fan-out).
        extra = sum(n - fanout for key, n in got.items() if n > fanout and key in self._acked)
        unexpected = sum(n for key, n in got.items() if key not in self._acked)
        acked = len(self._acked)
        return Counts(
            sent=self.sent,
            acked=acked,
            refused=self.refused,
            unacked=max(0, self.sent - acked - self.refused),
            delivered=delivered,
            deliveries=deliveries,
            expected_deliveries=acked * fanout,
            lost=lost,
            lost_deliveries=lost_deliveries,
            duplicates=self.duplicates + extra,
            unexpected=unexpected,
        )


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Latency summary in milliseconds (``n`` samples; all zero when there were none)."""

    n: int
    p50: float
    p90: float
    p99: float
    max: float


def percentiles(samples_us: Sequence[int] | array[int]) -> Percentiles:
    """Nearest-rank percentiles of microsecond samples, reported in milliseconds."""
    n = len(samples_us)
    if n == 0:
        return Percentiles(0, 0.0, 0.0, 0.0, 0.0)
    ordered = sorted(samples_us)

    def rank(p: float) -> float:
        return ordered[min(n - 1, max(0, math.ceil(p * n) - 1))] / 1000.0

    return Percentiles(n, rank(0.50), rank(0.90), rank(0.99), ordered[-1] / 1000.0)
