"""An asyncio event loop on a thread of its own, so trio code can use asyncio-only drivers (asyncpg).

Measured against trio-asyncio and a synchronous driver in worker threads (scripts/measure_drivers.py;
docs/architecture.md, "Driving asyncpg from trio: measured"), this bridge cost the least: a call is
two cross-thread wake-ups (asyncio's ``call_soon_threadsafe`` one way, trio's ``run_sync_soon`` back),
no thread per call, and the driver runs on a plain asyncio loop exactly as its authors test it. Callers
hand over whole units of work -- a transaction, not a statement -- so the hop is paid once per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import trio

T = TypeVar("T")


class AsyncioThread:
    """Owns one asyncio loop running forever on a daemon thread until :meth:`aclose`."""

    def __init__(self, name: str = "openim-asyncio") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        """Start the loop and return once it runs (blocking for a moment: call it at startup)."""
        if self._loop is not None:
            return
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=serve, name=self._name, daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread = loop, thread

    async def run(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``work()`` on the loop and return its result (or raise its exception) in trio.

        If the calling trio task is cancelled, the asyncio task is cancelled too and this waits (shielded)
        until it has really finished, so a connection is never left mid-transaction behind our back.
        """
        loop = self._loop
        if loop is None:
            raise trio.ClosedResourceError("the asyncio thread is not running")
        token = trio.lowlevel.current_trio_token()
        finished = trio.Event()
        tasks: list[asyncio.Task[T]] = []

        def wake(_: object) -> None:
            # RunFinishedError: the trio run ended first, so nobody is waiting any more.
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(finished.set)

        async def on_loop() -> T:
            # work() itself is called on the loop's thread: some APIs (asyncpg.create_pool) look the
            # running loop up already when called, not when awaited.
            return await work()

        def start() -> None:  # on the loop's thread
            task = loop.create_task(on_loop())
            # A task's done callback runs only once it has really finished, cleanup included (unlike
            # the future of run_coroutine_threadsafe, which reports "cancelled" at once).
            task.add_done_callback(wake)
            tasks.append(task)

        try:
            loop.call_soon_threadsafe(start)
        except RuntimeError as exc:  # the loop was closed under us
            raise trio.ClosedResourceError("the asyncio thread is not running") from exc
        try:
            await finished.wait()
        finally:
            if not finished.is_set():
                # Scheduled after start(), and the loop runs callbacks in order: the task exists by then.
                loop.call_soon_threadsafe(lambda: tasks[0].cancel())
                with trio.CancelScope(shield=True):
                    await finished.wait()
                if not tasks[0].cancelled():
                    tasks[0].exception()  # retrieved: asyncio would otherwise log it as lost
        return tasks[0].result()

    async def aclose(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return

        async def cancel_leftovers() -> None:
            # Whatever still runs (a caller that lost the race with close) is cancelled and finishes,
            # so every trio caller waiting on it is woken instead of hanging on a stopped loop.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            loop.stop()

        loop.call_soon_threadsafe(lambda: loop.create_task(cancel_leftovers()))
        await trio.to_thread.run_sync(thread.join)
