"""One load process of ``openim bench``: its own trio loop, its share of the simulated clients.

The parent forks N of these (one per core it may use) so that decoding pushes, the costliest part of
a client, is spread out and the load generator is not what the run measures. Each process:

1. logs its clients in (``connect_concurrency`` handshakes at a time) and says READY;
2. on RUN, sends: closed loop (each sender keeps ``window`` messages in flight, a new one per ack)
   or paced (one pacer spreads ``rate`` msgs/s over the senders, skipping a sender whose window is
   full); the ``connect`` workload sends nothing and only keeps its clients alive;
3. on DRAIN stops sending and keeps receiving; on DONE stops and returns a :class:`WorkerResult`.

Every frame goes through the shared wire codec (:func:`openim.wire.envelope.encode_request` and
:func:`~openim.wire.envelope.decode_response`). The message carries its key in ``clientMsgID`` and
its send time (``time.monotonic_ns()``, one clock for all processes of the machine) in ``ex``, so the
recipient computes the latency from send to delivery on its own. A 2001 push whose operationID is one
of this very client's sends is its echo: not a delivery, not decoded further.
"""

from __future__ import annotations

import random
import resource
import time
from array import array
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any

import trio

from openim.bench.client import BenchConnection, LoginFailed, login_target, new_connection, set_system_nursery
from openim.bench.plan import COUNTER_SLOTS, ClientSpec, Command, Slot, WorkerPlan, WorkerResult
from openim.bench.stats import DeliveryLog, make_key, sender_of
from openim.wire.constants import ContentType, MsgFrom, ReqIdentifier, SessionType
from openim.wire.envelope import EnvelopeError, decode_response, encode_request
from openim.wire.pb import sdkws_pb2

__all__ = ["worker_main"]

_PUBLISH_S = 0.1  # how often the live counters are copied to shared memory
_MAX_ERRORS = 5  # error texts kept per kind (the counts are exact)
_SEND = int(ReqIdentifier.SEND_MSG)
_PUSH = int(ReqIdentifier.PUSH_MSG)
_WEB = 5
_CMID_PREFIX = "bench"
_OP_PREFIX = "b"


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class _Run:
    """State shared by the clients of one process: tallies, logs, the current command."""

    def __init__(self, plan: WorkerPlan, command: Any) -> None:
        self.plan = plan
        self._command = command  # multiprocessing Value('i'): read without the lock, it only grows
        self.running = False  # between RUN and DRAIN: senders may start new messages
        self.stopped = False  # saw DRAIN: no message is sent after this, so `sent` is final
        self.closed_loop = plan.rate <= 0
        self.sent = 0
        self.refused = 0
        self.refusal_errors: list[str] = []
        self.acked = array("q")
        self.ack_latency = array("q")
        self.latency = array("q")
        self.log = DeliveryLog()
        self.echoes = 0
        self.other_pushes = 0
        self.window_full = 0
        self.inflight = 0
        self.first_send_ns = 0
        self.last_event_ns = 0
        self.logins = 0
        self.login_failures = 0
        self.login_errors: list[str] = []
        self.disconnected = 0
        self.errors: list[str] = []
        self.content = ('{"content":"' + "x" * max(0, plan.content_size) + '"}').encode()
        self.rng = random.Random(plan.seed * 7919 + plan.worker)

    def command(self) -> Command:
        return Command(self._command.value)


class _SimClient:
    """One simulated user on one connection: sends with a window, counts what it receives."""

    __slots__ = ("conn", "index", "inflight", "run", "seq", "token", "user_id")

    def __init__(self, spec: ClientSpec, run: _Run) -> None:
        self.index = spec.index
        self.user_id = spec.user_id
        self.token = spec.token
        self.run = run
        self.conn: BenchConnection = new_connection(run.plan.client_kind)
        self.seq = 0
        self.inflight: dict[str, tuple[int, int]] = {}  # msgIncr -> (key, send ns)

    # --- sending --------------------------------------------------------------------------

    def send_one(self) -> None:
        run = self.run
        plan = run.plan
        self.seq += 1
        key = make_key(self.index, self.seq)
        hex_key = f"{key:x}"
        now = time.monotonic_ns()
        msg = sdkws_pb2.MsgData(
            sendID=self.user_id,
            clientMsgID=_CMID_PREFIX + hex_key,
            senderPlatformID=_WEB,
            msgFrom=int(MsgFrom.USER),
            contentType=int(ContentType.TEXT),
            content=run.content,
            createTime=time.time_ns() // 1_000_000,
            ex=str(now),
        )
        if plan.workload == "group":
            msg.groupID = plan.group_id
            msg.sessionType = int(SessionType.READ_GROUP)
        else:
            n = len(plan.all_user_ids)
            peer = run.rng.randrange(n - 1)
            if peer >= self.index:
                peer += 1
            msg.recvID = plan.all_user_ids[peer]
            msg.sessionType = int(SessionType.SINGLE)
        msg_incr = str(self.seq)
        self.inflight[msg_incr] = (key, now)
        run.inflight += 1
        run.sent += 1
        if not run.first_send_ns:
            run.first_send_ns = now
        self.conn.send(encode_request(_SEND, msg_incr, self.user_id, _OP_PREFIX + hex_key, msg.SerializeToString()))

    # --- receiving ------------------------------------------------------------------------

    def on_frame(self, frame: str | bytes) -> None:
        if isinstance(frame, str):
            return  # pong (the handshake text was consumed by connect())
        run = self.run
        try:
            resp = decode_response(frame)
        except EnvelopeError as exc:
            if len(run.errors) < _MAX_ERRORS:
                run.errors.append(f"bad frame: {exc}")
            return
        rid = resp.req_identifier
        if rid == _SEND:
            self._on_ack(resp.msg_incr, resp.err_code, resp.err_msg)
        elif rid == _PUSH:
            self._on_push(resp.operation_id, resp.data)

    def _on_ack(self, msg_incr: str, err_code: int, err_msg: str) -> None:
        run = self.run
        entry = self.inflight.pop(msg_incr, None)
        if entry is None:
            run.other_pushes += 1
            return
        key, sent_ns = entry
        now = time.monotonic_ns()
        run.inflight -= 1
        run.last_event_ns = now
        if err_code:
            run.refused += 1
            if len(run.refusal_errors) < _MAX_ERRORS:
                run.refusal_errors.append(f"{err_code} {err_msg}")
        else:
            run.acked.append(key)
            run.ack_latency.append((now - sent_ns) // 1000)
        if run.running and run.closed_loop:
            self.send_one()

    def _on_push(self, operation_id: str, data: bytes | None) -> None:
        run = self.run
        if operation_id.startswith(_OP_PREFIX):
            try:
                if sender_of(int(operation_id[1:], 16)) == self.index:
                    run.echoes += 1  # our own message coming back to the sending connection
                    return
            except ValueError:
                pass
        if not data:
            run.other_pushes += 1
            return
        push = sdkws_pb2.PushMessages.FromString(data)
        plan = run.plan
        group = plan.workload == "group"
        now = time.monotonic_ns()
        for pulled in push.msgs.values():
            for msg in pulled.Msgs:
                cmid = msg.clientMsgID
                if not cmid.startswith(_CMID_PREFIX) or msg.sendID == self.user_id:
                    run.other_pushes += 1
                    continue
                if (msg.groupID != plan.group_id) if group else (msg.recvID != self.user_id):
                    run.other_pushes += 1  # misaddressed: not counted as a delivery
                    continue
                try:
                    key = int(cmid[len(_CMID_PREFIX) :], 16)
                    sent_ns = int(msg.ex)
                except ValueError:
                    run.other_pushes += 1
                    continue
                if run.log.record(self.index, key):
                    run.latency.append((now - sent_ns) // 1000)
                run.last_event_ns = now
        if push.notificationMsgs:
            run.other_pushes += 1


def _publish(run: _Run, counters: SynchronizedArray[Any]) -> None:
    values = [0] * COUNTER_SLOTS
    values[Slot.LOGINS] = run.logins
    values[Slot.LOGIN_FAILURES] = run.login_failures
    values[Slot.SENT] = run.sent
    values[Slot.ACKED] = len(run.acked)
    values[Slot.REFUSED] = run.refused
    values[Slot.DELIVERED] = len(run.log)
    values[Slot.DUPLICATES] = run.log.duplicates
    values[Slot.INFLIGHT] = run.inflight
    values[Slot.READY] = counters[Slot.READY]
    values[Slot.FINISHED] = counters[Slot.FINISHED]
    values[Slot.STOPPED] = 1 if run.stopped else 0
    counters[:] = values


async def _wait_for(run: _Run, command: Command) -> None:
    while run.command() < command:
        await trio.sleep(0.01)


async def _client_task(client: _SimClient, limiter: trio.Semaphore, ready: Callable[[], None]) -> None:
    run = client.run
    plan = run.plan
    async with limiter:
        try:
            with trio.fail_after(30):
                await client.conn.connect(
                    plan.ws_host, plan.ws_port, login_target(client.user_id, client.token, f"bench{client.index}")
                )
        except (LoginFailed, trio.TooSlowError) as exc:
            run.login_failures += 1
            if len(run.login_errors) < _MAX_ERRORS:
                run.login_errors.append(f"{client.user_id}: {exc or 'login timed out'}")
            ready()
            return
    run.logins += 1
    ready()
    await client.conn.run(client.on_frame)
    if run.command() < Command.DONE:
        run.disconnected += 1


async def _heartbeat(clients: list[_SimClient], period: float) -> None:
    """A text ping per client per period, spread evenly, as the JS SDK does every 10 s."""
    from openim.wire.envelope import PING_TEXT

    if not clients or period <= 0:
        return
    step = period / len(clients)
    while True:
        for client in clients:
            await trio.sleep(step)
            client.conn.send(PING_TEXT)


async def _pace(run: _Run, senders: list[_SimClient]) -> None:
    """Issue ``rate`` msgs/s over the senders, evenly in time, for as long as RUN lasts."""
    rate = run.plan.rate
    window = run.plan.window
    rng = run.rng
    start = time.monotonic()
    issued = 0
    while run.running:
        due = int((time.monotonic() - start) * rate) - issued
        for _ in range(due):
            client = senders[rng.randrange(len(senders))]
            if len(client.inflight) >= window:
                run.window_full += 1
            else:
                client.send_one()
        issued += max(0, due)
        await trio.sleep(min(0.001, 1.0 / rate))


async def _worker(plan: WorkerPlan, command: Any, counters: SynchronizedArray[Any]) -> WorkerResult:
    run = _Run(plan, command)
    clients = [_SimClient(spec, run) for spec in plan.clients]
    senders = [c for c in clients if c.index in plan.senders]
    pending = len(clients)
    all_ready = trio.Event()

    def ready() -> None:
        nonlocal pending
        pending -= 1
        if pending == 0:
            all_ready.set()

    if not clients:
        all_ready.set()
    cpu_run0 = 0.0
    wall_run0 = 0.0
    cpu_run = wall_run = 0.0
    connect_start = connect_end = 0
    async with trio.open_nursery() as nursery:
        set_system_nursery(nursery)

        async def publisher() -> None:
            while True:
                _publish(run, counters)
                await trio.sleep(_PUBLISH_S)

        nursery.start_soon(publisher)
        limiter = trio.Semaphore(max(1, plan.connect_concurrency))
        connect_start = time.monotonic_ns()
        for client in clients:
            nursery.start_soon(_client_task, client, limiter, ready)
        await all_ready.wait()
        connect_end = time.monotonic_ns()
        counters[Slot.READY] = 1
        _publish(run, counters)
        nursery.start_soon(_heartbeat, clients, plan.heartbeat_s)
        await _wait_for(run, Command.RUN)
        cpu_run0, wall_run0 = _cpu_s(), time.monotonic()
        if plan.workload != "connect" and senders and run.command() < Command.DRAIN:
            run.running = True
            if run.closed_loop:
                for client in senders:
                    for _ in range(plan.window):
                        client.send_one()
            else:
                nursery.start_soon(_pace, run, senders)
        await _wait_for(run, Command.DRAIN)
        run.running = False
        run.stopped = True
        # Final `sent` and STOPPED in one write: the parent judges completeness only after this.
        _publish(run, counters)
        await _wait_for(run, Command.DONE)
        cpu_run, wall_run = _cpu_s() - cpu_run0, time.monotonic() - wall_run0
        _publish(run, counters)
        nursery.cancel_scope.cancel()
    for client in clients:
        client.conn.close()
    return WorkerResult(
        worker=plan.worker,
        logins=run.logins,
        login_failures=run.login_failures,
        login_errors=tuple(run.login_errors),
        connect_start_ns=connect_start,
        connect_end_ns=connect_end,
        sent=run.sent,
        acked_keys=run.acked.tobytes(),
        refused=run.refused,
        refusal_errors=tuple(run.refusal_errors),
        delivered_keys=run.log.delivered.tobytes(),
        duplicates=run.log.duplicates,
        latency_us=run.latency.tobytes(),
        ack_latency_us=run.ack_latency.tobytes(),
        echoes=run.echoes,
        other_pushes=run.other_pushes,
        window_full=run.window_full,
        first_send_ns=run.first_send_ns,
        last_event_ns=run.last_event_ns,
        cpu_run_s=cpu_run,
        wall_run_s=wall_run,
        cpu_total_s=_cpu_s(),
        disconnected=run.disconnected,
        errors=tuple(run.errors),
    )


def worker_main(plan: WorkerPlan, command: Any, counters: SynchronizedArray[Any], result_pipe: Connection) -> None:
    """Entry point of a forked load process: run, then send the result (or the error) to the parent."""
    try:
        result: WorkerResult | str = trio.run(_worker, plan, command, counters)
    except BaseException as exc:  # the parent must hear about any failure, or it waits for nothing
        result = f"load process {plan.worker} failed: {type(exc).__name__}: {exc}"
    counters[Slot.FINISHED] = 1
    result_pipe.send(result)
    result_pipe.close()
