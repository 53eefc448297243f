"""A HookQueue for tests that make no after-callback delivery: any use of it fails the test."""

from __future__ import annotations

from typing import Any

from openim.hook_queue import HookQueue


class UntouchedQueue:
    """Stands in for the durable queue where nothing is served (before-callbacks, queueing in memory)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the after-callback queue was used ({name}) where nothing is delivered")


def untouched_queue() -> HookQueue:
    queue: Any = UntouchedQueue()
    return queue  # typed as the port: the constructor takes any HookQueue
