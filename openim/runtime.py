"""The process runtime: modules in one trio nursery, graceful shutdown on SIGTERM/SIGINT, crash = exit.

A module is anything with ``name``, ``serve(task_status)`` and ``drain()``. ``serve`` runs until cancelled
and reports ``task_status.started()`` once it accepts work; ``drain`` stops accepting and finishes what is
in flight. Shutdown fits in ``shutdown_timeout`` as a whole: it drains the modules in reverse start order
until a reserve before the end (``shutdown_reserve``), then cancels what is left, then closes the stores in
the time that remains. A module's shielded sections (a close on the way out) must have short deadlines of
their own, so that the cancel really ends it. A module that raises ends the whole process with one log line
and a non-zero exit code: a supervisor restarts it, and no half-alive process keeps serving.
"""

from __future__ import annotations

import os
import signal
import threading
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import trio

from openim.ops.logging import get_log

log = get_log("runtime")

EXIT_OK = 0
EXIT_CRASH = 1
MIN_CLOSE_S = 0.5  # the stores get at least this to close, even when the cancelled modules took the rest


def _exit_at(done: threading.Event, seconds: float) -> None:
    """The last resort of a stop (a thread, so that it fires while the event loop is busy): if the
    shutdown is not over ``seconds`` after it began, exit now, before a supervisor's SIGKILL would."""
    if not done.wait(seconds):
        log.error("shutdown.overrun", seconds=round(seconds, 3))
        os._exit(EXIT_OK)


def shutdown_reserve(shutdown_timeout: float) -> float:
    """The end of ``shutdown_timeout`` kept from the drains: for the cancelled modules to finish and the
    stores to close (a fifth of it, at most 2 s)."""
    return min(shutdown_timeout / 5, 2.0)


class Module(Protocol):
    name: str

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None: ...

    async def drain(self) -> None: ...


class ModuleCrashed(Exception):
    def __init__(self, module: str, cause: BaseException) -> None:
        super().__init__(f"module {module} crashed: {type(cause).__name__}: {cause}")
        self.module = module


async def _guard(module: Module, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Run one module, turning any escape other than cancellation into ModuleCrashed(name)."""
    try:
        await module.serve(task_status=task_status)
    except trio.Cancelled:
        raise
    except BaseException as exc:  # a module must never take the process down silently
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        if isinstance(exc, BaseExceptionGroup) and exc.split(trio.Cancelled)[1] is None:
            raise  # only cancellations from a nested nursery: shutdown, not a crash
        raise ModuleCrashed(module.name, exc) from exc
    else:
        raise ModuleCrashed(module.name, RuntimeError("returned while the process was running"))


def _first_crash(group: BaseException) -> ModuleCrashed | None:
    if isinstance(group, ModuleCrashed):
        return group
    if isinstance(group, BaseExceptionGroup):
        for exc in group.exceptions:
            found = _first_crash(exc)
            if found is not None:
                return found
    return None


async def run_modules(
    modules: Sequence[Module],
    *,
    shutdown_timeout: float,
    on_started: Callable[[], Awaitable[None]] | None = None,
    close: Callable[[], Awaitable[None]] | None = None,
    stop: trio.Event | None = None,
    exit_when_overrun: bool = False,
) -> int:
    """Run until a signal (or ``stop``), then shut down gracefully; return the process exit code.

    ``exit_when_overrun`` (the server process): a shutdown still running ``MIN_CLOSE_S`` past
    ``shutdown_timeout`` ends the process from a watchdog thread (exit code 0, one error line), whatever
    it is doing: a stop never outlasts its grace by more than that.
    """
    if stop is None:
        stop = trio.Event()
    signal_name = ""

    async def watch_signals(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal signal_name
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            task_status.started()
            async for signum in signals:
                signal_name = signal.Signals(signum).name
                stop.set()
                return

    code = EXIT_OK
    deadline: float | None = None  # when the shutdown must be over
    overrun = threading.Event()
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(watch_signals)
            for module in modules:
                await nursery.start(_guard, module)
            if on_started is not None:
                await on_started()
            await stop.wait()
            log.info("shutdown.begin", signal=signal_name or "requested", timeout_s=shutdown_timeout)
            deadline = trio.current_time() + shutdown_timeout
            if exit_when_overrun:
                limit = shutdown_timeout + MIN_CLOSE_S
                threading.Thread(target=_exit_at, args=(overrun, limit), name="shutdown-watchdog", daemon=True).start()
            with trio.move_on_at(deadline - shutdown_reserve(shutdown_timeout)) as scope:
                for module in reversed(modules):
                    await module.drain()
            if scope.cancelled_caught:
                log.warning("shutdown.timeout", timeout_s=shutdown_timeout)
            nursery.cancel_scope.cancel()
    except BaseException as exc:
        crash = _first_crash(exc)
        if crash is None:
            raise
        cause = crash.__cause__
        log.error(
            "module.crashed",
            module=crash.module,
            error=f"{type(cause).__name__}: {cause}" if cause else str(crash),
        )
        if cause is not None:
            log.debug("module.crashed.traceback", trace="".join(traceback.format_exception(cause)))
        code = EXIT_CRASH
    finally:
        try:
            if close is not None:
                # What is left of the grace (at least MIN_CLOSE_S); without a shutdown (a crash), the timeout.
                left = max(shutdown_timeout, 1.0)
                if deadline is not None:
                    left = max(deadline - trio.current_time(), MIN_CLOSE_S)
                with trio.CancelScope(shield=True), trio.move_on_after(left):
                    await close()
        finally:
            overrun.set()
    if code == EXIT_OK:
        log.info("shutdown.done")
    return code
