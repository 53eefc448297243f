"""The trio -> asyncio bridge: results, exceptions and cancellation cross it intact."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio

from openim.storage.sql.asyncio_thread import AsyncioThread

pytestmark = pytest.mark.trio


async def test_runs_on_the_loop_thread_and_returns() -> None:
    bridge = AsyncioThread("test-bridge")
    bridge.start()
    try:

        async def where() -> str:
            await asyncio.sleep(0)
            asyncio.get_running_loop()  # raises unless on a running asyncio loop
            return threading.current_thread().name

        assert await bridge.run(where) == "test-bridge"

        async def fail() -> None:
            raise KeyError("boom")

        with pytest.raises(KeyError):
            await bridge.run(fail)
    finally:
        await bridge.aclose()
    assert not bridge.running


async def test_cancelling_the_trio_side_cancels_and_awaits_the_asyncio_task() -> None:
    bridge = AsyncioThread()
    bridge.start()
    events: list[str] = []
    try:

        async def slow() -> None:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                await asyncio.sleep(0.05)  # cleanup still runs before the trio side returns
                events.append("cleaned up")
                raise

        with trio.move_on_after(0.1):
            await bridge.run(slow)
        assert events == ["cleaned up"]
    finally:
        await bridge.aclose()


async def test_a_closed_bridge_refuses_work() -> None:
    bridge = AsyncioThread()

    async def nothing() -> None:
        return None

    with pytest.raises(trio.ClosedResourceError):
        await bridge.run(nothing)
