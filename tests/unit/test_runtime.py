"""openim.runtime.run_modules: start order, graceful shutdown, crash = exit 1, bounded drains, signals."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

import pytest
import trio
import trio.testing

from openim import runtime
from openim.runtime import EXIT_CRASH, EXIT_OK, run_modules, shutdown_reserve

pytestmark = pytest.mark.timeout(30)


class FakeModule:
    """A module that records what happens to it; it can crash, return early, hang in drain or own tasks."""

    def __init__(
        self,
        name: str,
        events: list[tuple[str, str]],
        *,
        crash_before_start: bool = False,
        crash_after: float | None = None,
        return_after: float | None = None,
        drain_hangs: bool = False,
        child_tasks: int = 0,
    ) -> None:
        self.name = name
        self.events = events
        self.crash_before_start = crash_before_start
        self.crash_after = crash_after
        self.return_after = return_after
        self.drain_hangs = drain_hangs
        self.child_tasks = child_tasks

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        if self.crash_before_start:
            raise RuntimeError(f"{self.name} cannot bind")
        self.events.append(("started", self.name))
        task_status.started()
        try:
            if self.crash_after is not None:
                await trio.sleep(self.crash_after)
                raise RuntimeError(f"{self.name} broke")
            if self.return_after is not None:
                await trio.sleep(self.return_after)
                return
            if self.child_tasks:
                # Like a module with its own nursery (one task per partition): cancellation arrives as a
                # group of Cancelled from that nursery.
                async with trio.open_nursery() as nursery:
                    for _ in range(self.child_tasks):
                        nursery.start_soon(trio.sleep_forever)
            await trio.sleep_forever()
        finally:
            self.events.append(("stopped", self.name))

    async def drain(self) -> None:
        self.events.append(("drain", self.name))
        if self.drain_hangs:
            await trio.sleep_forever()


class Closer:
    def __init__(self, events: list[tuple[str, str]]) -> None:
        self.events = events
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        self.events.append(("close", "stores"))


def _events_named(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == event]


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return dict(getattr(record, "openim_fields", {}) or {})


@pytest.fixture(autouse=True)
def _capture_openim_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="openim")


@pytest.mark.trio
async def test_stop_drains_in_reverse_start_order_then_closes_and_exits_0(caplog: pytest.LogCaptureFixture) -> None:
    events: list[tuple[str, str]] = []
    modules = [FakeModule(n, events) for n in ("inbox", "transfer", "gateway", "api")]
    stop = trio.Event()
    close = Closer(events)

    async def started() -> None:
        events.append(("ready", "-"))
        stop.set()

    code = await run_modules(modules, shutdown_timeout=5, on_started=started, close=close, stop=stop)

    assert code == EXIT_OK
    assert [e for e in events if e[0] == "started"] == [("started", n) for n in ("inbox", "transfer", "gateway", "api")]
    assert events.index(("ready", "-")) > events.index(("started", "api"))  # ready only once all started
    assert [e for e in events if e[0] == "drain"] == [("drain", n) for n in ("api", "gateway", "transfer", "inbox")]
    assert close.calls == 1
    assert events[-1] == ("close", "stores")  # after every module stopped
    assert {e[1] for e in events if e[0] == "stopped"} == {"inbox", "transfer", "gateway", "api"}
    assert _events_named(caplog, "shutdown.done")
    assert not _events_named(caplog, "module.crashed")


@pytest.mark.trio
async def test_a_module_that_raises_ends_the_process_with_exit_1_and_one_log_line(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    events: list[tuple[str, str]] = []
    modules = [FakeModule("inbox", events), FakeModule("push", events, crash_after=1.0), FakeModule("api", events)]
    close = Closer(events)

    code = await run_modules(modules, shutdown_timeout=5, close=close)

    assert code == EXIT_CRASH
    crashed = _events_named(caplog, "module.crashed")
    assert len(crashed) == 1, [r.getMessage() for r in caplog.records]
    assert crashed[0].levelno == logging.ERROR
    assert _fields(crashed[0])["module"] == "push"
    assert "RuntimeError" in _fields(crashed[0])["error"] and "push broke" in _fields(crashed[0])["error"]
    assert {e[1] for e in events if e[0] == "stopped"} == {"inbox", "push", "api"}  # the others were cancelled
    assert close.calls == 1  # stores are closed on a crash too
    assert not _events_named(caplog, "shutdown.done")


@pytest.mark.trio
async def test_a_module_that_fails_to_start_is_a_crash_and_later_modules_never_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[tuple[str, str]] = []
    modules = [
        FakeModule("inbox", events),
        FakeModule("gateway", events, crash_before_start=True),
        FakeModule("api", events),
    ]
    close = Closer(events)
    started: list[bool] = []

    async def on_started() -> None:
        started.append(True)

    code = await run_modules(modules, shutdown_timeout=5, on_started=on_started, close=close)

    assert code == EXIT_CRASH
    crashed = _events_named(caplog, "module.crashed")
    assert len(crashed) == 1 and _fields(crashed[0])["module"] == "gateway"
    assert "cannot bind" in _fields(crashed[0])["error"]
    assert ("started", "api") not in events
    assert not started
    assert close.calls == 1


@pytest.mark.trio
async def test_a_module_that_returns_while_running_counts_as_a_crash(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    events: list[tuple[str, str]] = []
    code = await run_modules([FakeModule("push", events, return_after=2.0)], shutdown_timeout=5)
    assert code == EXIT_CRASH
    crashed = _events_named(caplog, "module.crashed")
    assert len(crashed) == 1 and _fields(crashed[0])["module"] == "push"


@pytest.mark.trio
async def test_a_drain_that_hangs_is_cut_off_at_the_shutdown_timeout(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    events: list[tuple[str, str]] = []
    modules = [FakeModule("transfer", events, drain_hangs=True), FakeModule("api", events)]
    stop = trio.Event()
    close = Closer(events)
    stopped_at: list[float] = []

    async def started() -> None:
        stopped_at.append(trio.current_time())
        stop.set()

    code = await run_modules(modules, shutdown_timeout=3.0, on_started=started, close=close, stop=stop)
    took = trio.current_time() - stopped_at[0]

    assert code == EXIT_OK
    # Cut off before the end of the timeout, keeping the reserve for the cancel and the close; not forever.
    assert 3.0 - shutdown_reserve(3.0) <= took <= 3.0, took
    assert [e for e in events if e[0] == "drain"] == [("drain", "api"), ("drain", "transfer")]
    assert _events_named(caplog, "shutdown.timeout")
    assert {e[1] for e in events if e[0] == "stopped"} == {"transfer", "api"}
    assert close.calls == 1


@pytest.mark.trio
async def test_the_whole_stop_fits_in_the_shutdown_timeout_even_when_drain_and_close_hang(
    autojump_clock: trio.testing.MockClock,
) -> None:
    events: list[tuple[str, str]] = []
    stop = trio.Event()
    stopped_at: list[float] = []

    async def started() -> None:
        stopped_at.append(trio.current_time())
        stop.set()

    async def close_hangs() -> None:
        events.append(("close", "stores"))
        await trio.sleep_forever()

    modules = [FakeModule("gateway", events, drain_hangs=True)]
    code = await run_modules(modules, shutdown_timeout=10.0, on_started=started, close=close_hangs, stop=stop)
    took = trio.current_time() - stopped_at[0]

    assert code == EXIT_OK
    assert took == pytest.approx(10.0), took  # drain cut at 10 - reserve, the close at the deadline
    assert ("close", "stores") in events


@pytest.mark.trio
async def test_a_module_with_its_own_nursery_is_cancelled_cleanly_at_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Cancellation out of a module's own nursery arrives as a group of Cancelled: that is a normal stop,
    not a crash (the transfer and push stages run one task per partition)."""
    events: list[tuple[str, str]] = []
    modules = [FakeModule("transfer", events, child_tasks=8), FakeModule("api", events)]
    stop = trio.Event()

    async def started() -> None:
        stop.set()

    code = await run_modules(modules, shutdown_timeout=2.0, on_started=started, stop=stop)

    assert not _events_named(caplog, "module.crashed"), [_fields(r) for r in _events_named(caplog, "module.crashed")]
    assert code == EXIT_OK


@pytest.mark.trio
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_sigterm_and_sigint_start_a_graceful_shutdown(
    caplog: pytest.LogCaptureFixture, signum: signal.Signals
) -> None:
    events: list[tuple[str, str]] = []
    modules = [FakeModule("inbox", events), FakeModule("api", events)]

    async def started() -> None:
        os.kill(os.getpid(), signum)  # the receiver is installed before any module starts

    code = await run_modules(modules, shutdown_timeout=2.0, on_started=started)

    assert code == EXIT_OK
    begin = _events_named(caplog, "shutdown.begin")
    assert len(begin) == 1 and _fields(begin[0])["signal"] == signum.name
    assert [e for e in events if e[0] == "drain"] == [("drain", "api"), ("drain", "inbox")]


def test_the_watchdog_exits_only_when_the_shutdown_overruns(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr(runtime.os, "_exit", exits.append)
    over = threading.Event()
    runtime._exit_at(over, 0.01)  # not done in time: the process exits 0
    assert exits == [EXIT_OK]
    over.set()
    runtime._exit_at(over, 0.01)  # done: nothing happens
    assert exits == [EXIT_OK]
