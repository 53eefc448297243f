"""The named caches of a process (openim.ttl_cache.CacheRegistry): one cache per name, every cache
listed, and the one invalidation hook called for every cache with the cache's name."""

from __future__ import annotations

from typing import Any

import pytest

from openim.ttl_cache import CacheRegistry, TtlCache


def test_a_name_is_one_cache() -> None:
    caches = CacheRegistry()
    caches.cache("users_by_id", 60)
    with pytest.raises(ValueError, match="users_by_id"):
        caches.cache("users_by_id", 5, max_entries=10)


def test_the_registry_lists_what_it_made() -> None:
    caches = CacheRegistry()
    users: TtlCache[str, int] = caches.cache("users_by_id", 60)
    groups: TtlCache[str, int] = caches.cache("groups_by_id", 5, max_entries=2)
    assert caches.names == ["groups_by_id", "users_by_id"]
    assert caches.named("users_by_id") is users
    assert caches.named("groups_by_id") is groups
    assert caches.named("nothing_by_id") is None
    for key in ("g1", "g2", "g3"):
        groups.put(key, 1)
    assert groups.get("g1") is None  # max_entries reached the cache: the oldest went
    assert groups.get("g3") == 1


def test_an_invalidation_calls_the_hook_with_the_cache_name() -> None:
    """The hook reaches the caches made before it was set and those made after; a local-only
    invalidation (one that came from another process) calls nothing."""
    caches = CacheRegistry()
    seen: list[tuple[str, Any]] = []
    before: TtlCache[str, int] = caches.cache("users_by_id", 60)
    caches.on_invalidate(lambda name, key: seen.append((name, key)))
    after: TtlCache[str, int] = caches.cache("groups_by_id", 60)
    before.put("alice", 1)
    before.invalidate("alice")
    after.invalidate("g1")
    after.invalidate_local("g2")
    assert before.get("alice") is None
    assert seen == [("users_by_id", "alice"), ("groups_by_id", "g1")]


def test_one_hook_per_registry() -> None:
    caches = CacheRegistry()
    caches.on_invalidate(lambda name, key: None)
    with pytest.raises(ValueError, match="hook"):
        caches.on_invalidate(lambda name, key: None)
