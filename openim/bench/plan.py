"""What the parent hands each load process, what it gets back, and the live counters between them.

Everything here crosses a process boundary: plain frozen dataclasses (pickled once at start and once
at the end) and one shared array of int64 counters per load process, written by that process every
tenth of a second and read by the parent for the progress bar and the end-of-drain test. Arrays of
keys and samples travel as ``array.tobytes()``, which pickles a million entries in milliseconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "COUNTER_SLOTS",
    "ClientSpec",
    "Command",
    "Slot",
    "WorkerPlan",
    "WorkerResult",
]


class Command(enum.IntEnum):
    """The parent's word to every load process, in one shared int; it only moves forward."""

    CONNECT = 0  # log the clients in, then wait
    RUN = 1  # send (direct, group) or stay idle (connect)
    DRAIN = 2  # send nothing new; keep receiving acks and pushes
    DONE = 3  # stop, report


class Slot(enum.IntEnum):
    """Index of each live counter in a load process's shared array."""

    LOGINS = 0
    LOGIN_FAILURES = 1
    SENT = 2
    ACKED = 3
    REFUSED = 4
    DELIVERED = 5
    DUPLICATES = 6
    INFLIGHT = 7
    READY = 8  # 1 once every client of the process has finished its login attempt
    FINISHED = 9  # 1 once the result is on its way
    STOPPED = 10  # 1 once the process has seen DRAIN and sends no more (published with its final SENT)


COUNTER_SLOTS = len(Slot)


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """One simulated user: its global index (the key space), its userID and its token."""

    index: int
    user_id: str
    token: str


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    """One load process's share of the run."""

    worker: int
    workload: str  # direct | group | connect
    ws_host: str
    ws_port: int
    clients: tuple[ClientSpec, ...]
    all_user_ids: tuple[str, ...]  # by global index: the direct workload picks peers from all of them
    senders: frozenset[int]  # global indices that send (direct: all; group: the chosen posters)
    group_id: str = ""
    rate: float = 0.0  # this process's share of the target msgs/s; 0 = as fast as the window allows
    window: int = 8  # in-flight (sent, not acked) messages per sending client
    connect_concurrency: int = 256  # logins in flight at once in this process
    sdk: str = "js"  # the wire format (openim/bench/codec.py)
    verify_every: int = 64  # also decode every N-th message in full and compare with the byte scan
    content_size: int = 32  # bytes of text in each message
    heartbeat_s: float = 10.0  # the JS SDK's text ping period; keeps idle clients under the read deadline
    seed: int = 0


@dataclass(frozen=True, slots=True)
class WorkerResult:
    """What one load process measured. Byte fields are ``array('q')`` dumps."""

    worker: int
    logins: int
    login_failures: int
    login_errors: tuple[str, ...]
    connect_start_ns: int
    connect_end_ns: int
    sent: int
    acked_keys: bytes
    refused: int
    refusal_errors: tuple[str, ...]
    delivered_keys: bytes
    duplicates: int
    latency_us: bytes
    ack_latency_us: bytes
    echoes: int
    other_pushes: int
    window_full: int  # paced sends skipped because the chosen client's window was full
    first_send_ns: int
    last_event_ns: int
    cpu_run_s: float  # CPU of this process from RUN to DONE
    wall_run_s: float
    cpu_total_s: float
    disconnected: int  # clients whose connection the server closed during the run
    verified: int = 0  # messages also decoded in full as a cross-check of the byte scan
    errors: tuple[str, ...] = field(default_factory=tuple)
