"""One load process of ``openim bench``: its share of the simulated clients, from login to result.

The parent forks N of these (``--procs``). Each process:

1. logs its clients in under trio (``connect_concurrency`` handshakes at a time, openim/bench/client.py)
   and says READY;
2. hands every logged-in socket to the load engine (openim/bench/engine.py): one epoll loop that
   sends (closed loop: each sender keeps ``window`` messages in flight, a new one per ack; or paced:
   ``rate`` msgs/s spread over the senders, skipping a sender whose window is full), classifies what
   arrives by the codec's byte scan, and sends heartbeats; the ``connect`` workload only keeps its
   clients alive;
3. on DRAIN stops sending and keeps receiving; on DONE stops and returns a :class:`WorkerResult`.

The wire format is the codec's (``--sdk``, openim/bench/codec.py). A message carries its key and its
send time (``time.monotonic_ns()``, one clock for all processes of the machine), so the recipient, in
whichever process, computes the latency from send to delivery on its own.
"""

from __future__ import annotations

import socket
import time
from multiprocessing.connection import Connection as Pipe
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any

import trio

from openim.bench.client import LoginFailed, connect
from openim.bench.codec import CodecSetup, LoadCodec
from openim.bench.engine import MAX_ERRORS, Connection, Engine, Tally, cpu_seconds
from openim.bench.plan import ClientSpec, Slot, WorkerPlan, WorkerResult
from openim.bench.sdks import new_codec

__all__ = ["worker_main"]

_LOGIN_TIMEOUT_S = 30.0


class _Logins:
    """The connect phase's outcome: one socket (and the bytes behind its handshake) per logged-in client."""

    def __init__(self) -> None:
        self.done: list[tuple[ClientSpec, socket.socket, bytes]] = []
        self.failures = 0
        self.errors: list[str] = []
        self.start_ns = 0
        self.end_ns = 0


async def _login_all(
    plan: WorkerPlan, codec: LoadCodec[Any, Any], counters: SynchronizedArray[Any]
) -> _Logins:
    out = _Logins()
    limiter = trio.Semaphore(max(1, plan.connect_concurrency))

    def publish() -> None:
        counters[Slot.LOGINS] = len(out.done)
        counters[Slot.LOGIN_FAILURES] = out.failures

    async def one(spec: ClientSpec) -> None:
        async with limiter:
            target = codec.login_target(spec.user_id, spec.token, f"bench{spec.index}")
            try:
                with trio.fail_after(_LOGIN_TIMEOUT_S):
                    sock, leftover = await connect(plan.ws_host, plan.ws_port, target, codec)
            except (LoginFailed, trio.TooSlowError) as exc:
                out.failures += 1
                if len(out.errors) < MAX_ERRORS:
                    out.errors.append(f"{spec.user_id}: {exc or 'login timed out'}")
            else:
                out.done.append((spec, sock, leftover))
        publish()

    out.start_ns = time.monotonic_ns()
    async with trio.open_nursery() as nursery:
        for spec in plan.clients:
            nursery.start_soon(one, spec)
    out.end_ns = time.monotonic_ns()
    publish()
    return out


def _run(plan: WorkerPlan, command: Any, counters: SynchronizedArray[Any]) -> WorkerResult:
    codec = new_codec(plan.sdk, CodecSetup(plan.workload, plan.all_user_ids, plan.group_id, plan.content_size))
    logins = trio.run(_login_all, plan, codec, counters)
    conns = [
        Connection(sock, leftover, spec.index, codec.sender(spec.index, spec.user_id),
                   codec.receiver(spec.index, spec.user_id))
        for spec, sock, leftover in logins.done
    ]
    tally = Tally()
    engine = Engine(plan, codec, conns, command, counters, tally)
    counters[Slot.READY] = 1
    engine.publish()
    try:
        engine.run()
    finally:
        engine.close()
    return WorkerResult(
        worker=plan.worker,
        logins=len(logins.done),
        login_failures=logins.failures,
        login_errors=tuple(logins.errors),
        connect_start_ns=logins.start_ns,
        connect_end_ns=logins.end_ns,
        sent=tally.sent,
        acked_keys=tally.acked.tobytes(),
        refused=tally.refused,
        refusal_errors=tuple(tally.refusal_errors),
        delivered_keys=tally.log.delivered.tobytes(),
        duplicates=tally.log.duplicates,
        latency_us=tally.latency.tobytes(),
        ack_latency_us=tally.ack_latency.tobytes(),
        echoes=tally.echoes,
        other_pushes=tally.other_pushes,
        window_full=tally.window_full,
        first_send_ns=tally.first_send_ns,
        last_event_ns=tally.last_event_ns,
        cpu_run_s=tally.cpu_run_s,
        wall_run_s=tally.wall_run_s,
        cpu_total_s=cpu_seconds(),
        disconnected=tally.disconnected,
        verified=tally.verified,
        errors=tuple(tally.errors),
    )


def worker_main(plan: WorkerPlan, command: Any, counters: SynchronizedArray[Any], result_pipe: Pipe) -> None:
    """Entry point of a forked load process: run, then send the result (or the error) to the parent."""
    try:
        result: WorkerResult | str = _run(plan, command, counters)
    except BaseException as exc:  # the parent must hear about any failure, or it waits for nothing
        result = f"load process {plan.worker} failed: {type(exc).__name__}: {exc}"
    counters[Slot.FINISHED] = 1
    result_pipe.send(result)
    result_pipe.close()
