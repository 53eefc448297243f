"""An asyncio event loop on a thread of its own, so trio code can use asyncio-only drivers (asyncpg).

Measured (scripts/measure_drivers.py, docs/architecture-storage.md) against trio-asyncio and a
synchronous driver in worker threads, this bridge cost the least: a call is two cross-thread wake-ups
(asyncio's ``call_soon_threadsafe`` one way, trio's ``run_sync_soon`` back), no thread per call, and the
driver runs on a plain asyncio loop exactly as its authors test it. Callers hand over whole units of
work -- a transaction, not a statement -- so the hop is paid once per batch.
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

        def wake(_: object) -> None:
            # RunFinishedError: the trio run ended first, so nobody is waiting any more.
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(finished.set)

        future = asyncio.run_coroutine_threadsafe(work(), loop)
        future.add_done_callback(wake)
        try:
            await finished.wait()
        finally:
            if not finished.is_set():
                future.cancel()
                with trio.CancelScope(shield=True):
                    await finished.wait()
        return future.result()

    async def aclose(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        await trio.to_thread.run_sync(thread.join)
