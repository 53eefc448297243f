"""A small time-bounded cache for hot reads on the send path (user receive options, recipients' state).

Entries expire after ``ttl_s``; writers in this process invalidate at once. In a cluster an invalidation
is also sent to every other process (openim.cluster.coherence sets ``on_invalidate``), which drops the
entry within milliseconds; ``ttl_s`` stays the bound if such a message is lost (Redis down).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_MISSING = object()


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_s: float, max_entries: int = 100_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        # Called after a local invalidate(): the cluster tells the other processes (set by openim.cluster).
        self.on_invalidate: Callable[[K], None] | None = None

    def get(self, key: K) -> V | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            del self._data[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = (time.monotonic() + self._ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    def invalidate(self, key: K) -> None:
        """Drop ``key`` here and, in a cluster, in every other process."""
        self._data.pop(key, None)
        if self.on_invalidate is not None:
            self.on_invalidate(key)

    def invalidate_local(self, key: K) -> None:
        """Drop ``key`` here only (an invalidation that came from another process)."""
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()
