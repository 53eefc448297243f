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
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, TextIO
from urllib.parse import urlsplit

from openim.bench.plan import COUNTER_SLOTS, ClientSpec, Command, Slot, WorkerPlan, WorkerResult
from openim.bench.provision import ProvisionError, provision
from openim.bench.report import Report, machine_info
from openim.bench.server_probe import ServerProbe, ServerSample
from openim.bench.stats import Counts, Ledger, percentiles
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
    run = _Run(probe, machine_start, prov.token_seconds, parent_cpu0, warnings, rss_before)
    try:
        return _steer(opts, children, command, progress, run)
    finally:
        progress.done()
        command.value = int(Command.DONE)
        for child in children:
            child.process.join(10)
            if child.process.is_alive():  # a child of ours that does not stop: ends by its own pid
                child.process.kill()
                child.process.join(5)


@dataclass(slots=True)
class _Run:
    """What the parent measures around one run, phase by phase, for the report."""

    probe: ServerProbe
    machine_start: dict[str, Any]
    token_seconds: float
    parent_cpu0: float  # the parent's CPU clock when the load processes were forked
    warnings: list[str]
    rss_before: ServerSample | None  # the server before any login
    rss_after_login: ServerSample | None = None
    rss_end: ServerSample | None = None  # idle RSS (connect), else the end of DRAIN
    server0: ServerSample | None = None  # RUN starts
    server1: ServerSample | None = None  # DRAIN ends
    fanout: int = 1  # deliveries per acked message
    run_start_ns: int = 0
    wall_run: float = 0.0  # RUN start to DRAIN end, seconds
    errors: list[str] = field(default_factory=list)


def _steer(opts: BenchOptions, children: list[_Child], command: Any, progress: _Progress, run: _Run) -> Report:
    """The phases in order (CONNECT -> RUN -> DRAIN -> DONE), then the results of every load process."""
    _await_logins(opts, children, progress, run)
    run.rss_after_login = run.probe.sample()
    _run_load(opts, children, command, progress, run)
    _drain(opts, children, command, progress, run)
    run.wall_run = (time.monotonic_ns() - run.run_start_ns) / 1e9
    if run.rss_end is None:
        run.rss_end = run.server1
    command.value = int(Command.DONE)
    results = _collect_results(children, run.errors)
    return _report(opts, results, run, parent_cpu=time.process_time() - run.parent_cpu0)


def _await_logins(opts: BenchOptions, children: list[_Child], progress: _Progress, run: _Run) -> None:
    """1. Every load process has logged its clients in (or given up on some: the report fails those)."""
    n = opts.users
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
        run.warnings.append(f"{t[Slot.LOGIN_FAILURES]} of {n} logins failed")


def _run_load(opts: BenchOptions, children: list[_Child], command: Any, progress: _Progress, run: _Run) -> None:
    """2. RUN for ``duration`` seconds."""
    run.fanout = max(1, opts.users - 1) if opts.workload == "group" else 1
    run.run_start_ns = time.monotonic_ns()
    run.server0 = run.probe.sample()
    command.value = int(Command.RUN)
    run_end = time.monotonic() + opts.duration
    while (now := time.monotonic()) < run_end:
        t = _totals(children)
        elapsed = opts.duration - (run_end - now)
        rate = t[Slot.ACKED] / elapsed if elapsed > 0 else 0.0
        progress.show(
            "run",
            elapsed / opts.duration,
            f"{elapsed:4.1f}/{opts.duration:g}s sent {t[Slot.SENT]:,} acked {t[Slot.ACKED]:,} "
            f"delivered {t[Slot.DELIVERED]:,} ({rate:,.0f} acks/s)",
        )
        if not _alive(children):
            raise BenchError("a load process died during the run")
        time.sleep(min(_POLL_S, max(0.0, run_end - now)))
    run.rss_end = run.probe.sample() if opts.workload == "connect" else None  # idle RSS, before anything closes


def _drain(opts: BenchOptions, children: list[_Child], command: Any, progress: _Progress, run: _Run) -> None:
    """3. DRAIN: wait for every answer and every delivery. A server that is behind still answers, so
    the wait goes on while anything arrives, and ends ``grace`` seconds after the last progress (or
    at the hard cap): what is missing then is lost."""
    command.value = int(Command.DRAIN)
    now = time.monotonic()
    quiet_end, hard_end = now + opts.grace, now + max(opts.grace, DRAIN_CAP_S)
    seen: tuple[int, int] = (-1, -1)
    while opts.workload != "connect" and (now := time.monotonic()) < min(quiet_end, hard_end):
        t = _totals(children)
        answered = t[Slot.ACKED] + t[Slot.REFUSED]
        expected = t[Slot.ACKED] * run.fanout
        progress.show(
            "drain",
            answered / max(1, t[Slot.SENT]),
            f"acked {t[Slot.ACKED]:,}/{t[Slot.SENT]:,} delivered {t[Slot.DELIVERED]:,}/{expected:,}",
        )
        # Only once every load process has stopped sending is its SENT final: a message sent between
        # DRAIN and the process noticing it would otherwise be judged before its ack could arrive.
        all_stopped = t[Slot.STOPPED] >= len(children)
        if all_stopped and answered >= t[Slot.SENT] and t[Slot.DELIVERED] >= expected:
            break
        if (answered, t[Slot.DELIVERED]) != seen:
            seen = (answered, t[Slot.DELIVERED])
            quiet_end = now + opts.grace
        time.sleep(_POLL_S)
    run.server1 = run.probe.sample()


def _collect_results(children: list[_Child], errors: list[str]) -> list[WorkerResult]:
    """4. Each load process's result (a process that sends none, or an error instead, is an error)."""
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
    return [c.result for c in children if c.result is not None]


def _per(cpu_s: float | None, count: int) -> float | None:
    """CPU µs per unit of work; None without a CPU figure or without work."""
    return cpu_s * 1e6 / count if cpu_s is not None and count else None


def _arr(data: bytes) -> array[int]:
    a = array("q")
    a.frombytes(data)
    return a


@dataclass(slots=True)
class _Merged:
    """The load processes' results joined: the ledger's counts, the latency samples, the totals."""

    counts: Counts
    latency: array[int]
    ack_latency: array[int]
    logins: int
    login_s: float  # first connect to last login, over every process
    measured: float  # RUN start to the last ack or delivery
    loadgen_cpu: float
    util_max: float  # the busiest load process's share of a core


def _merge(opts: BenchOptions, results: list[WorkerResult], run: _Run) -> _Merged:
    ledger = Ledger(run.fanout)
    latency = array("q")
    ack_latency = array("q")
    for r in results:
        ledger.add_sender(r.sent, _arr(r.acked_keys), r.refused)
        ledger.add_recipient(_arr(r.delivered_keys), r.duplicates)
        latency.extend(_arr(r.latency_us))
        ack_latency.extend(_arr(r.ack_latency_us))
        run.errors.extend(r.login_errors)
        run.errors.extend(f"refused: {e}" for e in r.refusal_errors)
        run.errors.extend(r.errors)
    starts = [r.connect_start_ns for r in results if r.connect_start_ns]
    ends = [r.connect_end_ns for r in results if r.connect_end_ns]
    last = max((r.last_event_ns for r in results), default=0)
    measured = (last - run.run_start_ns) / 1e9 if last > run.run_start_ns else opts.duration
    return _Merged(
        counts=ledger.counts(),
        latency=latency,
        ack_latency=ack_latency,
        logins=sum(r.logins for r in results),
        login_s=(max(ends) - min(starts)) / 1e9 if starts and ends else 0.0,
        measured=opts.duration if opts.workload == "connect" else measured,
        loadgen_cpu=sum(r.cpu_run_s for r in results),
        util_max=max((r.cpu_run_s / r.wall_run_s for r in results if r.wall_run_s > 0), default=0.0),
    )


def _judge_load(opts: BenchOptions, results: list[WorkerResult], merged: _Merged, run: _Run) -> None:
    """Warnings about the load generator and the pacing; errors for connections the server closed."""
    if merged.util_max >= SATURATED:
        run.warnings.append(
            f"load generator saturated: its busiest process used {merged.util_max * 100:.0f}% of a core; the figures "
            "measure the load generator as much as the server (add --procs / cores, or lower the load)"
        )
    window_full = sum(r.window_full for r in results)
    if opts.rate > 0 and window_full:
        run.warnings.append(
            f"{window_full:,} paced sends skipped: their client's window was full (the server is behind)"
        )
    if opts.rate > 0 and merged.counts.sent < 0.95 * opts.rate * opts.duration:
        run.warnings.append(f"sent {merged.counts.sent:,}, below the target {opts.rate * opts.duration:,.0f}")
    disconnected = sum(r.disconnected for r in results)
    if disconnected:
        run.errors.append(f"{disconnected} connections closed by the server during the run")


def _settings(opts: BenchOptions, procs: int) -> dict[str, Any]:
    """The run's settings as the report shows them."""
    settings: dict[str, Any] = {"users" if opts.workload != "connect" else "connections": opts.users}
    if opts.workload == "group":
        settings["senders"] = opts.senders or opts.users
    if opts.workload != "connect":
        settings["rate"] = opts.rate or "max"
        settings["window"] = opts.window
    settings.update(duration=opts.duration, procs=procs, sdk=opts.sdk)
    return settings


def _report(opts: BenchOptions, results: list[WorkerResult], run: _Run, *, parent_cpu: float) -> Report:
    m = _merge(opts, results, run)
    _judge_load(opts, results, m, run)
    counts, logins, measured = m.counts, m.logins, m.measured
    before, after_login, end = run.rss_before, run.rss_after_login, run.rss_end
    server_cpu = run.server1.cpu_seconds - run.server0.cpu_seconds if run.server0 and run.server1 else None
    login_cpu = after_login.cpu_seconds - before.cpu_seconds if before and after_login else None
    loadgen_cpu = m.loadgen_cpu if results else None
    return Report(
        workload=opts.workload,
        settings=_settings(opts, len(results)),
        counts=counts,
        latency=percentiles(m.latency),
        ack_latency=percentiles(m.ack_latency),
        send_seconds=opts.duration,
        measured_seconds=measured,
        msgs_per_s=counts.delivered / measured if measured > 0 else 0.0,
        deliveries_per_s=counts.deliveries / measured if measured > 0 else 0.0,
        sent_per_s=counts.sent / opts.duration if opts.duration > 0 else 0.0,
        logins=logins,
        login_failures=sum(r.login_failures for r in results),
        logins_per_s=logins / m.login_s if m.login_s > 0 else 0.0,
        tokens_per_s=opts.users / run.token_seconds if run.token_seconds > 0 else 0.0,
        server_source=run.probe.source,
        server_rss_before_login=before.rss_bytes if before else None,
        server_rss_after_login=after_login.rss_bytes if after_login else None,
        server_rss_end=end.rss_bytes if end else None,
        rss_per_connection=(end.rss_bytes - before.rss_bytes) / logins if before and end and logins else None,
        server_cpu_s=server_cpu,
        server_cpu_util=server_cpu / run.wall_run if server_cpu is not None and run.wall_run > 0 else None,
        server_cpu_us_per_message=_per(server_cpu, counts.acked),
        server_cpu_us_per_delivery=_per(server_cpu, counts.deliveries),
        server_cpu_us_per_login=_per(login_cpu, logins),
        loadgen_cpu_s=m.loadgen_cpu + parent_cpu,
        loadgen_cpu_us_per_message=_per(loadgen_cpu, counts.acked),
        loadgen_cpu_us_per_delivery=_per(loadgen_cpu, counts.deliveries),
        loadgen_util_max=m.util_max,
        loadgen_procs=len(results),
        echoes=sum(r.echoes for r in results),
        other_pushes=sum(r.other_pushes for r in results),
        window_full=sum(r.window_full for r in results),
        disconnected=sum(r.disconnected for r in results),
        verified=sum(r.verified for r in results),
        machine_start=run.machine_start,
        machine_end=machine_info(),
        warnings=run.warnings,
        errors=run.errors,
    )
