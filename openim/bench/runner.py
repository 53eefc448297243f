"""The parent of ``openim bench``: set up over REST, fork the load processes, watch, join, judge.

The parent does no load itself. It provisions users (and the group), forks one load process per
core it may use (``--procs``), each with its own trio loop and a round-robin share of the clients,
and then only steers them through one shared command word (CONNECT -> RUN -> DRAIN -> DONE) while
it draws the progress bar from their shared counters. DRAIN ends early once every sent message has
been answered and every acked one delivered; otherwise ``grace`` seconds after the last ack or
delivery arrived (a slow server is waited for while it makes progress), and whatever is still missing
then is counted as lost.

Fork rather than spawn: the children need nothing but the plan they inherit, start in milliseconds,
and a frozen one-file executable forks without the re-exec dance that spawn needs. The parent forks
before it starts any thread or event loop of its own (the set-up trio loop has finished by then).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import time
import uuid
from array import array
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TextIO
from urllib.parse import urlsplit

from openim.bench.plan import COUNTER_SLOTS, ClientSpec, Command, Slot, WorkerPlan, WorkerResult
from openim.bench.provision import ProvisionError, provision
from openim.bench.report import Report, machine_info
from openim.bench.server_probe import ServerProbe, ServerSample
from openim.bench.stats import Ledger, percentiles
from openim.bench.worker import worker_main

__all__ = ["BenchError", "BenchOptions", "run_bench"]

SATURATED = 0.90  # a load process busier than this measures itself, not the server
DRAIN_CAP_S = 120.0  # the longest wait for a server that keeps answering after the load stopped
_POLL_S = 0.05


class BenchError(Exception):
    """The run could not be carried out (server unreachable, set-up refused, logins failed)."""


@dataclass(frozen=True, slots=True)
class BenchOptions:
    workload: str  # direct | group | connect
    api_url: str
    ws_url: str
    secret: str
    users: int  # direct: users; group: members; connect: connections
    duration: float
    senders: int = 0  # group: members that post (0 = all)
    rate: float = 0.0
    window: int = 8
    procs: int = 0  # 0 = one per CPU this process may run on
    grace: float = 5.0
    sdk: str = "js"
    verify_every: int = 64
    content_size: int = 32
    connect_concurrency: int = 256
    token_pool: int = 32
    server_pid: int | None = None
    progress: bool = True
    seed: int = 0


@dataclass(slots=True)
class _Child:
    process: Any  # multiprocessing.Process from the fork context
    counters: Any  # shared array('q') of Slot values
    pipe: Connection
    result: WorkerResult | None = None


def _raise_fd_limit(needed: int) -> str | None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if needed + 64 > soft:
        return f"open-file limit {soft} is below the {needed} connections of one load process (raise ulimit -n)"
    return None


def _ws_address(ws_url: str) -> tuple[str, int]:
    parts = urlsplit(ws_url)
    if parts.scheme not in ("ws", "") or not parts.hostname:
        raise BenchError(f"--ws must look like ws://host:port, got {ws_url!r}")
    return parts.hostname, parts.port or 10001


def _plans(opts: BenchOptions, user_ids: tuple[str, ...], tokens: tuple[str, ...], group_id: str) -> list[WorkerPlan]:
    host, port = _ws_address(opts.ws_url)
    n = len(user_ids)
    procs = opts.procs or len(os.sched_getaffinity(0))
    procs = max(1, min(procs, n))
    if opts.workload == "direct":
        senders = frozenset(range(n))
    elif opts.workload == "group":
        senders = frozenset(range(min(n, opts.senders) if opts.senders > 0 else n))
    else:
        senders = frozenset()
    # Spread the senders evenly: client i goes to process i % procs, and the rate with the senders.
    per_proc_senders = [sum(1 for i in senders if i % procs == w) for w in range(procs)]
    plans = []
    for w in range(procs):
        share = per_proc_senders[w] / len(senders) if senders else 0.0
        plans.append(
            WorkerPlan(
                worker=w,
                workload=opts.workload,
                ws_host=host,
                ws_port=port,
                clients=tuple(ClientSpec(i, user_ids[i], tokens[i]) for i in range(w, n, procs)),
                all_user_ids=user_ids,
                senders=frozenset(i for i in senders if i % procs == w),
                group_id=group_id,
                rate=opts.rate * share,
                window=opts.window,
                connect_concurrency=opts.connect_concurrency,
                sdk=opts.sdk,
                verify_every=opts.verify_every,
                content_size=opts.content_size,
                seed=opts.seed,
            )
        )
    return plans


class _Progress:
    """One line on stderr, redrawn in place: phase, a bar over the run time, live counters."""

    def __init__(self, enabled: bool, stream: TextIO = sys.stderr) -> None:
        self._enabled = enabled
        self._stream = stream
        self._last = 0.0
        self._width = 0

    def show(self, phase: str, fraction: float, text: str, *, force: bool = False) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        filled = int(max(0.0, min(1.0, fraction)) * 24)
        line = f"\r{phase:<7} [{'#' * filled}{'.' * (24 - filled)}] {text}"
        self._width = max(self._width, len(line))
        self._stream.write(line.ljust(self._width))
        self._stream.flush()

    def done(self) -> None:
        if self._enabled and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()


def _totals(children: list[_Child]) -> list[int]:
    total = [0] * COUNTER_SLOTS
    for child in children:
        values = child.counters[:]
        for i in range(COUNTER_SLOTS):
            total[i] += values[i]
    return total


def _alive(children: list[_Child]) -> bool:
    return all(c.process.is_alive() or c.counters[Slot.FINISHED] for c in children)


def run_bench(opts: BenchOptions) -> Report:
    """Carry out one run and return its report; :class:`BenchError` if it could not run at all."""
    if opts.users < (2 if opts.workload != "connect" else 1):
        raise BenchError("need at least 2 users (1 connection for connect)")
    machine_start = machine_info()
    probe = ServerProbe(opts.api_url, opts.server_pid)
    prefix = f"bench{uuid.uuid4().hex[:8]}_"
    try:
        prov = provision(
            opts.api_url, opts.secret, opts.users, prefix, group=opts.workload == "group", pool=opts.token_pool
        )
    except ProvisionError as exc:
        raise BenchError(f"set-up failed: {exc}") from exc
    plans = _plans(opts, prov.user_ids, prov.tokens, prov.group_id)
    warnings: list[str] = []
    fd_warning = _raise_fd_limit(max(len(p.clients) for p in plans))
    if fd_warning:
        warnings.append(fd_warning)
    rss_before = probe.sample()
    progress = _Progress(opts.progress)

    ctx = multiprocessing.get_context("fork")
    command = ctx.Value("i", int(Command.CONNECT), lock=False)
    children: list[_Child] = []
    parent_cpu0 = time.process_time()
    for plan in plans:
        counters = ctx.Array("q", COUNTER_SLOTS, lock=False)
        recv_end, send_end = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=worker_main, args=(plan, command, counters, send_end), name=f"openim-bench-{plan.worker}"
        )
        proc.start()
        send_end.close()
        children.append(_Child(proc, counters, recv_end))
    try:
        return _steer(opts, children, command, probe, progress, rss_before, prov.token_seconds, warnings,
                      machine_start, parent_cpu0)
    finally:
        progress.done()
        command.value = int(Command.DONE)
        for child in children:
            child.process.join(10)
            if child.process.is_alive():  # a child of ours that does not stop: ends by its own pid
                child.process.kill()
                child.process.join(5)


def _steer(
    opts: BenchOptions,
    children: list[_Child],
    command: Any,
    probe: ServerProbe,
    progress: _Progress,
    rss_before: ServerSample | None,
    token_seconds: float,
    warnings: list[str],
    machine_start: dict[str, Any],
    parent_cpu0: float,
) -> Report:
    n = opts.users
    # 1. logins
    login_deadline = time.monotonic() + 60 + n / 200
    while True:
        t = _totals(children)
        done = t[Slot.LOGINS] + t[Slot.LOGIN_FAILURES]
        progress.show("login", done / n, f"{t[Slot.LOGINS]:,}/{n:,} logged in, {t[Slot.LOGIN_FAILURES]} failed")
        if all(c.counters[Slot.READY] for c in children):
            break
        if not _alive(children):
            raise BenchError("a load process died during the logins")
        if time.monotonic() > login_deadline:
            raise BenchError(f"logins did not finish: {done}/{n} after {login_deadline:.0f} s")
        time.sleep(_POLL_S)
    if t[Slot.LOGIN_FAILURES]:
        # The run goes on with the clients that did log in; the report fails it.
        warnings.append(f"{t[Slot.LOGIN_FAILURES]} of {n} logins failed")
    rss_after_login = probe.sample()

    # 2. the run
    fanout = max(1, n - 1) if opts.workload == "group" else 1
    run_start_ns = time.monotonic_ns()
    server0 = probe.sample()
    command.value = int(Command.RUN)
    run_end = time.monotonic() + opts.duration
    while (now := time.monotonic()) < run_end:
        t = _totals(children)
        elapsed = opts.duration - (run_end - now)
        rate = t[Slot.ACKED] / elapsed if elapsed > 0 else 0.0
        progress.show(
            "run", elapsed / opts.duration,
            f"{elapsed:4.1f}/{opts.duration:g}s sent {t[Slot.SENT]:,} acked {t[Slot.ACKED]:,} "
            f"delivered {t[Slot.DELIVERED]:,} ({rate:,.0f} acks/s)",
        )
        if not _alive(children):
            raise BenchError("a load process died during the run")
        time.sleep(min(_POLL_S, max(0.0, run_end - now)))
    rss_end = probe.sample() if opts.workload == "connect" else None  # idle RSS, before anything closes

    # 3. drain: wait for every answer and every delivery. A server that is behind still answers, so
    # the wait goes on while anything arrives, and ends `grace` seconds after the last progress (or
    # at the hard cap): what is missing then is lost.
    command.value = int(Command.DRAIN)
    now = time.monotonic()
    quiet_end, hard_end = now + opts.grace, now + max(opts.grace, DRAIN_CAP_S)
    seen: tuple[int, int] = (-1, -1)
    while opts.workload != "connect" and (now := time.monotonic()) < min(quiet_end, hard_end):
        t = _totals(children)
        answered = t[Slot.ACKED] + t[Slot.REFUSED]
        expected = t[Slot.ACKED] * fanout
        progress.show("drain", answered / max(1, t[Slot.SENT]),
                      f"acked {t[Slot.ACKED]:,}/{t[Slot.SENT]:,} delivered {t[Slot.DELIVERED]:,}/{expected:,}")
        # Only once every load process has stopped sending is its SENT final: a message sent between
        # DRAIN and the process noticing it would otherwise be judged before its ack could arrive.
        all_stopped = t[Slot.STOPPED] >= len(children)
        if all_stopped and answered >= t[Slot.SENT] and t[Slot.DELIVERED] >= expected:
            break
        if (answered, t[Slot.DELIVERED]) != seen:
            seen = (answered, t[Slot.DELIVERED])
            quiet_end = now + opts.grace
        time.sleep(_POLL_S)
    server1 = probe.sample()
    wall_run = (time.monotonic_ns() - run_start_ns) / 1e9
    if rss_end is None:
        rss_end = server1
    command.value = int(Command.DONE)

    # 4. results
    errors: list[str] = []
    deadline = time.monotonic() + 60
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        if child.pipe.poll(remaining):
            got = child.pipe.recv()
            if isinstance(got, WorkerResult):
                child.result = got
            else:
                errors.append(str(got))
        else:
            errors.append(f"load process {child.process.name} sent no result")
    results = [c.result for c in children if c.result is not None]
    parent_cpu = time.process_time() - parent_cpu0
    return _report(opts, results, fanout, run_start_ns, wall_run, rss_before, rss_after_login, rss_end,
                   server0, server1, probe, token_seconds, warnings, errors, machine_start, parent_cpu)


def _per(cpu_s: float | None, count: int) -> float | None:
    """CPU µs per unit of work; None without a CPU figure or without work."""
    return cpu_s * 1e6 / count if cpu_s is not None and count else None


def _arr(data: bytes) -> array[int]:
    a = array("q")
    a.frombytes(data)
    return a


def _report(
    opts: BenchOptions,
    results: list[WorkerResult],
    fanout: int,
    run_start_ns: int,
    wall_run: float,
    rss_before: ServerSample | None,
    rss_after_login: ServerSample | None,
    rss_end: ServerSample | None,
    server0: ServerSample | None,
    server1: ServerSample | None,
    probe: ServerProbe,
    token_seconds: float,
    warnings: list[str],
    errors: list[str],
    machine_start: dict[str, Any],
    parent_cpu: float,
) -> Report:
    ledger = Ledger(fanout)
    latency = array("q")
    ack_latency = array("q")
    for r in results:
        ledger.add_sender(r.sent, _arr(r.acked_keys), r.refused)
        ledger.add_recipient(_arr(r.delivered_keys), r.duplicates)
        latency.extend(_arr(r.latency_us))
        ack_latency.extend(_arr(r.ack_latency_us))
        errors.extend(r.login_errors)
        errors.extend(f"refused: {e}" for e in r.refusal_errors)
        errors.extend(r.errors)
    counts = ledger.counts()
    logins = sum(r.logins for r in results)
    login_failures = sum(r.login_failures for r in results)
    starts = [r.connect_start_ns for r in results if r.connect_start_ns]
    ends = [r.connect_end_ns for r in results if r.connect_end_ns]
    login_s = (max(ends) - min(starts)) / 1e9 if starts and ends else 0.0
    last = max((r.last_event_ns for r in results), default=0)
    measured = (last - run_start_ns) / 1e9 if last > run_start_ns else opts.duration
    if opts.workload == "connect":
        measured = opts.duration
    loadgen_cpu = sum(r.cpu_run_s for r in results)
    util_max = max((r.cpu_run_s / r.wall_run_s for r in results if r.wall_run_s > 0), default=0.0)
    if util_max >= SATURATED:
        warnings.append(
            f"load generator saturated: its busiest process used {util_max * 100:.0f}% of a core; the figures "
            "measure the load generator as much as the server (add --procs / cores, or lower the load)"
        )
    window_full = sum(r.window_full for r in results)
    if opts.rate > 0 and window_full:
        warnings.append(f"{window_full:,} paced sends skipped: their client's window was full (the server is behind)")
    if opts.rate > 0 and counts.sent < 0.95 * opts.rate * opts.duration:
        warnings.append(f"sent {counts.sent:,}, below the target {opts.rate * opts.duration:,.0f}")
    disconnected = sum(r.disconnected for r in results)
    if disconnected:
        errors.append(f"{disconnected} connections closed by the server during the run")
    rss_per_conn = None
    if rss_before and rss_end and logins:
        rss_per_conn = (rss_end.rss_bytes - rss_before.rss_bytes) / logins
    server_cpu = server1.cpu_seconds - server0.cpu_seconds if server0 and server1 else None
    settings: dict[str, Any] = {"users" if opts.workload != "connect" else "connections": opts.users}
    if opts.workload == "group":
        settings["senders"] = opts.senders or opts.users
    if opts.workload != "connect":
        settings["rate"] = opts.rate or "max"
        settings["window"] = opts.window
    settings.update(duration=opts.duration, procs=len(results), sdk=opts.sdk)
    login_cpu = (
        rss_after_login.cpu_seconds - rss_before.cpu_seconds if rss_before and rss_after_login else None
    )
    return Report(
        workload=opts.workload,
        settings=settings,
        counts=counts,
        latency=percentiles(latency),
        ack_latency=percentiles(ack_latency),
        send_seconds=opts.duration,
        measured_seconds=measured,
        msgs_per_s=counts.delivered / measured if measured > 0 else 0.0,
        deliveries_per_s=counts.deliveries / measured if measured > 0 else 0.0,
        sent_per_s=counts.sent / opts.duration if opts.duration > 0 else 0.0,
        logins=logins,
        login_failures=login_failures,
        logins_per_s=logins / login_s if login_s > 0 else 0.0,
        tokens_per_s=opts.users / token_seconds if token_seconds > 0 else 0.0,
        server_source=probe.source,
        server_rss_before_login=rss_before.rss_bytes if rss_before else None,
        server_rss_after_login=rss_after_login.rss_bytes if rss_after_login else None,
        server_rss_end=rss_end.rss_bytes if rss_end else None,
        rss_per_connection=rss_per_conn,
        server_cpu_s=server_cpu,
        server_cpu_util=server_cpu / wall_run if server_cpu is not None and wall_run > 0 else None,
        server_cpu_us_per_message=_per(server_cpu, counts.acked),
        server_cpu_us_per_delivery=_per(server_cpu, counts.deliveries),
        server_cpu_us_per_login=_per(login_cpu, logins),
        loadgen_cpu_s=loadgen_cpu + parent_cpu,
        loadgen_cpu_us_per_message=_per(loadgen_cpu if results else None, counts.acked),
        loadgen_cpu_us_per_delivery=_per(loadgen_cpu if results else None, counts.deliveries),
        loadgen_util_max=util_max,
        loadgen_procs=len(results),
        echoes=sum(r.echoes for r in results),
        other_pushes=sum(r.other_pushes for r in results),
        window_full=window_full,
        disconnected=disconnected,
        verified=sum(r.verified for r in results),
        machine_start=machine_start,
        machine_end=machine_info(),
        warnings=warnings,
        errors=errors,
    )
