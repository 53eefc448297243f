"""The load loop of one load process: every connection on one epoll, no task switch per frame.

After the connect phase (openim/bench/client.py, under trio) a load process is this one loop:

    epoll.poll -> for each readable socket: one recv, split into frames (wsframe.split_frames),
    classify each by the codec's byte scan, count it; an ack in the closed loop queues the next send
    -> the pacer's due sends -> the heartbeat's due pings -> one send() per connection with output
    -> the live counters every 0.1 s, the parent's command word every turn.

A connection is a plain object with a socket, an output bytearray and its in-flight map; nothing is
scheduled per frame or per connection. Whatever a turn queues for a connection leaves in one
``send()``; a connection the kernel does not take everything from waits for EPOLLOUT, and its later
output is appended behind.

Cross-check: every ``verify_every``-th received message and every ``verify_every``-th send is also
decoded in full by the codec (:meth:`~openim.bench.codec.LoadCodec.verify`), and any disagreement
with the byte scan is an error that fails the run.

The accounting is the one the report joins (openim/bench/stats.py): keys of acked messages, distinct
(recipient, key) deliveries with their latency, refusals, echoes, other pushes, and the STOPPED flag
published with the final ``sent`` once DRAIN was seen.
"""

from __future__ import annotations

import contextlib
import random
import resource
import select
import socket
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any

from openim.bench.codec import ACK, ECHO, IGNORE, MSG, MSGS, LoadCodec
from openim.bench.plan import COUNTER_SLOTS, Command, Slot, WorkerPlan
from openim.bench.stats import KEY_SEQ_BITS, DeliveryLog
from openim.bench.wsframe import (
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    FrameError,
    client_frame,
    client_header,
    split_frames,
)

__all__ = ["Connection", "Engine", "Tally", "cpu_seconds"]

MAX_ERRORS = 5  # error texts kept per kind (the counts are exact)
_PUBLISH_S = 0.1  # how often the live counters are copied to shared memory
_COMMAND_POLL_S = 0.01  # the longest an idle turn waits before it looks at the command again
_RECV_SIZE = 256 * 1024
_IN = select.EPOLLIN
_IN_OUT = select.EPOLLIN | select.EPOLLOUT
_GONE = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


@dataclass(slots=True)
class Tally:
    """What one load process counts; the worker turns it into a WorkerResult."""

    sent: int = 0
    refused: int = 0
    echoes: int = 0
    other_pushes: int = 0
    window_full: int = 0
    inflight: int = 0
    first_send_ns: int = 0
    last_event_ns: int = 0
    disconnected: int = 0
    verified: int = 0  # messages (received and sent) also decoded in full
    stopped: bool = False
    cpu_run_s: float = 0.0
    wall_run_s: float = 0.0

    acked: array[int] = field(default_factory=lambda: array("q"))  # keys
    ack_latency: array[int] = field(default_factory=lambda: array("q"))  # µs
    latency: array[int] = field(default_factory=lambda: array("q"))  # µs, send to delivery
    log: DeliveryLog = field(default_factory=DeliveryLog)
    refusal_errors: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text)


class Connection:
    """One logged-in client: its socket, its buffers, its window of in-flight sends."""

    __slots__ = (
        "blocked", "closed", "fd", "frag", "frag_op", "index", "inflight", "key_base", "out", "rbuf", "receiver",
        "sender", "seq", "sock",
    )

    def __init__(self, sock: socket.socket, leftover: bytes, index: int, sender: Any, receiver: Any) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.index = index
        self.key_base = index << KEY_SEQ_BITS
        self.sender = sender
        self.receiver = receiver
        self.out = bytearray()
        self.rbuf = leftover  # the bytes of an incomplete frame
        self.frag: list[bytes] = []  # the frames of a fragmented message so far
        self.frag_op = 0
        self.inflight: dict[int, int] = {}  # seq -> send time (monotonic ns)
        self.seq = 0
        self.blocked = False  # waiting for EPOLLOUT: output is appended, sent when writable
        self.closed = False


class Engine:
    """Drives the connections of one load process through RUN, DRAIN and DONE (see the module doc)."""

    def __init__(
        self,
        plan: WorkerPlan,
        codec: LoadCodec[Any, Any],
        connections: list[Connection],
        command: Any,
        counters: SynchronizedArray[Any],
        tally: Tally,
    ) -> None:
        self.plan = plan
        self.codec = codec
        self.conns = connections
        self.by_fd = {c.fd: c for c in connections}
        self.senders = [c for c in connections if c.index in plan.senders]
        self._command = command  # multiprocessing Value('i'): read without the lock, it only grows
        self._counters = counters
        self.t = tally
        self.running = False
        self.closed_loop = plan.rate <= 0
        self.direct = plan.workload == "direct"
        self.n_users = len(plan.all_user_ids)
        self.rng = random.Random(plan.seed * 7919 + plan.worker)
        self.verify_every = max(1, plan.verify_every)
        self.received = 0
        self.built = 0
        self.dirty: list[Connection] = []
        self.ep = select.epoll()
        for c in connections:
            self.ep.register(c.fd, _IN)
        hb = codec.heartbeat()
        self._heartbeat = client_frame(*hb) if hb is not None else b""
        self._send_op = codec.send_opcode
        self._headers: dict[int, bytes] = {}  # frame header by payload length: sends differ by a few bytes

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> None:
        """From READY to DONE; returns when the parent says DONE."""
        t = self.t
        seen = Command.CONNECT
        cpu0 = wall0 = 0.0
        now = time.monotonic()
        next_publish = now
        hb_step = self.plan.heartbeat_s / len(self.conns) if self.conns and self.plan.heartbeat_s > 0 else 0.0
        next_hb = now + hb_step if hb_step and self._heartbeat else float("inf")
        hb_i = 0
        pace_start = 0.0
        issued = 0
        rate = self.plan.rate
        pacing = False
        poll = self.ep.poll
        by_fd = self.by_fd
        read = self._read
        for c in self.conns:  # bytes that arrived behind the handshake frame
            if c.rbuf:
                self._frames(c, b"")
        while True:
            cmd = self._command.value
            if cmd != seen:
                if seen < Command.RUN <= cmd:
                    cpu0, wall0 = cpu_seconds(), time.monotonic()
                    if self.plan.workload != "connect" and self.senders and cmd < Command.DRAIN:
                        self.running = True
                        if self.closed_loop:
                            ns = time.monotonic_ns()
                            for c in self.senders:
                                for _ in range(self.plan.window):
                                    self._send(c, ns)
                        else:
                            pacing, pace_start = True, time.monotonic()
                if seen < Command.DRAIN <= cmd:
                    self.running = pacing = False
                    t.stopped = True
                    self.publish()  # the final `sent` and STOPPED in one write
                if cmd >= Command.DONE:
                    t.cpu_run_s, t.wall_run_s = cpu_seconds() - cpu0, time.monotonic() - wall0
                    self.publish()
                    return
                seen = Command(cmd)
            timeout = min(0.001, 1.0 / rate) if pacing else _COMMAND_POLL_S
            if self.dirty:
                timeout = 0
            for fd, ev in poll(timeout):
                c = by_fd[fd]
                if ev & select.EPOLLOUT:
                    self._writable(c)
                if ev & _GONE:
                    read(c)
            now = time.monotonic()
            if pacing:
                due = int((now - pace_start) * rate) - issued
                if due > 0:
                    issued += due
                    self._pace(due)
            while now >= next_hb:
                c = self.conns[hb_i % len(self.conns)]
                hb_i += 1
                next_hb += hb_step
                if not c.closed:
                    self._queue(c, self._heartbeat)
            if self.dirty:
                self._flush()
            if now >= next_publish:
                next_publish = now + _PUBLISH_S
                self.publish()

    def close(self) -> None:
        for c in self.conns:
            if not c.closed:
                c.closed = True
                c.sock.close()
        self.ep.close()

    def publish(self) -> None:
        t = self.t
        counters = self._counters
        values = [0] * COUNTER_SLOTS
        values[Slot.LOGINS] = counters[Slot.LOGINS]
        values[Slot.LOGIN_FAILURES] = counters[Slot.LOGIN_FAILURES]
        values[Slot.SENT] = t.sent
        values[Slot.ACKED] = len(t.acked)
        values[Slot.REFUSED] = t.refused
        values[Slot.DELIVERED] = len(t.log)
        values[Slot.DUPLICATES] = t.log.duplicates
        values[Slot.INFLIGHT] = t.inflight
        values[Slot.READY] = counters[Slot.READY]
        values[Slot.FINISHED] = counters[Slot.FINISHED]
        values[Slot.STOPPED] = 1 if t.stopped else 0
        counters[:] = values

    # -- sending -----------------------------------------------------------------------------------
    def _send(self, c: Connection, now_ns: int) -> None:
        t = self.t
        c.seq += 1
        seq = c.seq
        if self.direct:
            peer = int(self.rng.random() * (self.n_users - 1))
            if peer >= c.index:
                peer += 1
        else:
            peer = 0
        payload = self.codec.build_send(c.sender, seq, peer, now_ns)
        c.inflight[seq] = now_ns
        t.inflight += 1
        t.sent += 1
        if not t.first_send_ns:
            t.first_send_ns = now_ns
        self.built += 1
        if self.built % self.verify_every == 0:
            t.verified += 1
            problem = self.codec.verify_send(payload, c.sender, seq, peer, now_ns)
            if problem:
                t.error(f"cross-check of a send failed: {problem}")
        if not c.closed:
            if not c.out and not c.blocked:
                self.dirty.append(c)
            n = len(payload)
            header = self._headers.get(n)
            if header is None:
                header = self._headers[n] = client_header(self._send_op, n)
            c.out += header
            c.out += payload

    def _pace(self, due: int) -> None:
        senders = self.senders
        window = self.plan.window
        rnd = self.rng.random
        n = len(senders)
        ns = time.monotonic_ns()
        for _ in range(due):
            c = senders[int(rnd() * n)]
            if len(c.inflight) >= window:
                self.t.window_full += 1
            else:
                self._send(c, ns)

    def _queue(self, c: Connection, frame: bytes) -> None:
        if not c.out and not c.blocked:
            self.dirty.append(c)
        c.out += frame

    def _flush(self) -> None:
        for c in self.dirty:
            if c.closed or c.blocked or not c.out:
                continue
            try:
                n = c.sock.send(c.out)
            except BlockingIOError:
                n = 0
            except OSError:
                self._lost(c)
                continue
            if n == len(c.out):
                c.out.clear()
            else:
                del c.out[:n]
                c.blocked = True
                self.ep.modify(c.fd, _IN_OUT)
        self.dirty.clear()

    def _writable(self, c: Connection) -> None:
        if c.closed:
            return
        try:
            n = c.sock.send(c.out) if c.out else 0
        except BlockingIOError:
            return
        except OSError:
            self._lost(c)
            return
        del c.out[:n]
        if not c.out:
            c.blocked = False
            self.ep.modify(c.fd, _IN)

    # -- receiving ---------------------------------------------------------------------------------
    def _read(self, c: Connection) -> None:
        if c.closed:
            return
        try:
            data = c.sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lost(c)
            return
        self._frames(c, data)

    def _frames(self, c: Connection, data: bytes) -> None:
        if c.rbuf:
            data = c.rbuf + data
        try:
            frames, c.rbuf = split_frames(data)
        except FrameError as exc:
            self.t.error(str(exc))
            self._lost(c)
            return
        t = self.t
        codec = self.codec
        for first, payload in frames:
            op = first & 0x0F
            if op >= 8:  # control frames are never fragmented
                if op == OP_PING:
                    self._queue(c, client_frame(OP_PONG, payload))
                elif op == OP_CLOSE:
                    self._lost(c)
                    return
                continue
            if not first & 0x80 or op == OP_CONTINUATION:
                if op != OP_CONTINUATION:
                    c.frag_op = op
                c.frag.append(payload)
                if not first & 0x80:
                    continue
                op, payload = c.frag_op, b"".join(c.frag)
                c.frag.clear()
            scanned = codec.scan(op, payload, c.receiver)
            self.received += 1
            if self.received % self.verify_every == 0:
                t.verified += 1
                problem = codec.verify(op, payload, c.receiver, scanned)
                if problem:
                    t.error(f"cross-check of a received frame failed: {problem}")
            kind = scanned[0]
            if kind == MSG:
                self._delivery(c, scanned[1], scanned[2], scanned[3])
            elif kind == ACK:
                self._ack(c, scanned[1], scanned[2], scanned[3])
            elif kind == ECHO:
                t.echoes += 1
            elif kind == MSGS:
                for key, sent_ns, to_me in scanned[1]:
                    self._delivery(c, key, sent_ns, to_me)
                t.other_pushes += scanned[2]
            elif kind != IGNORE:
                t.other_pushes += 1

    def _ack(self, c: Connection, seq: int, err_code: int, err_msg: str) -> None:
        t = self.t
        sent_ns = c.inflight.pop(seq, None)
        if sent_ns is None:
            t.other_pushes += 1
            return
        now = time.monotonic_ns()
        t.inflight -= 1
        t.last_event_ns = now
        if err_code:
            t.refused += 1
            if len(t.refusal_errors) < MAX_ERRORS:
                t.refusal_errors.append(f"{err_code} {err_msg}")
        else:
            t.acked.append(c.key_base | seq)
            t.ack_latency.append((now - sent_ns) // 1000)
        if self.running and self.closed_loop:
            self._send(c, now)

    def _delivery(self, c: Connection, key: int, sent_ns: int, to_me: bool) -> None:
        t = self.t
        if not to_me or key >> KEY_SEQ_BITS == c.index:
            t.other_pushes += 1  # misaddressed, or our own message not as the echo: not a delivery
            return
        now = time.monotonic_ns()
        if t.log.record(c.index, key):
            t.latency.append((now - sent_ns) // 1000)
        t.last_event_ns = now

    def _lost(self, c: Connection) -> None:
        if c.closed:
            return
        c.closed = True
        with contextlib.suppress(OSError, ValueError):
            self.ep.unregister(c.fd)
        c.sock.close()
        if self._command.value < Command.DONE:
            self.t.disconnected += 1
