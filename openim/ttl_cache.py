"""Small time-bounded caches for hot reads on the send path (users, receive options, relation lists,
groups), and the registry that names them.

Entries expire after ``ttl_s``; the writer that changes the data invalidates at once, through the one
method that owns the cache (``SendService.forget_user``, ``RelationRules.forget``, ``GroupDirectory.forget``).
A cache is named by the read it holds (``users_by_id``: a constant next to the reader), and the process's
caches are created through one :class:`CacheRegistry` (openim.assembly builds it and passes it to the
readers). In a cluster openim.cluster.coherence hooks every cache of the registry, so an invalidation is
also sent, by name, to every other process, which drops the entry within milliseconds; ``ttl_s`` stays
the bound if such a message is lost (Redis down). A cache that is process-local on purpose is a plain
TtlCache, outside the registry.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# Called with (cache name, key) after a local invalidate of any cache of a registry.
InvalidationHook = Callable[[str, Any], None]


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_s: float, max_entries: int = 100_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        # Called after a local invalidate(): the cluster tells the other processes (set by CacheRegistry).
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


class CacheRegistry:
    """The named caches of one process: every cache that must stay coherent across a cluster is made here.

    A name is unique (a second :meth:`cache` of one name is refused: two readers sharing a name would drop
    each other's entries in the other processes) and the same in every process of one version, whatever
    the classes and attributes that hold the caches are called.
    """

    def __init__(self) -> None:
        self._caches: dict[str, TtlCache[Any, Any]] = {}
        self._hook: InvalidationHook | None = None

    def cache(self, name: str, ttl_s: float, *, max_entries: int = 100_000) -> TtlCache[Any, Any]:
        """A new cache named ``name`` (the read it holds); its reader annotates the key and value types."""
        if name in self._caches:
            raise ValueError(f"a cache named {name!r} exists already")
        cache: TtlCache[Any, Any] = TtlCache(ttl_s, max_entries)
        self._caches[name] = cache
        if self._hook is not None:
            cache.on_invalidate = _named_hook(name, self._hook)
        return cache

    @property
    def names(self) -> list[str]:
        return sorted(self._caches)

    def named(self, name: str) -> TtlCache[Any, Any] | None:
        """The cache of that name, or None (another version's cache: its TTL bounds it there)."""
        return self._caches.get(name)

    def on_invalidate(self, hook: InvalidationHook) -> None:
        """Call ``hook(name, key)`` after every local invalidate of every cache here, made before or after
        this call (the cluster's coherence task; one hook per registry)."""
        if self._hook is not None:
            raise ValueError("the caches' invalidation hook is set already")
        self._hook = hook
        for name, cache in self._caches.items():
            cache.on_invalidate = _named_hook(name, hook)


def _named_hook(name: str, hook: InvalidationHook) -> Callable[[Any], None]:
    def invalidated(key: Any) -> None:
        hook(name, key)

    return invalidated
