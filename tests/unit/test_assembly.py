"""The composition root in cluster mode: every read cache the services hold is one of the process's
registry, under the constant name next to its reader, and kept coherent; the only cache outside it is
the one that is process-local on purpose. A cache added to a service without the registry fails here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

from openim.assembly import build_services
from openim.bus.memory import MemoryBus
from openim.config import Config
from openim.node import Node
from openim.ops.metrics import Metrics
from openim.pipeline.msg import RECEIVE_OPTIONS_BY_OWNER, USERS_BY_ID
from openim.service_set import Services
from openim.services.groups.directory import GROUP_MEMBERS_BY_GROUP, GROUPS_BY_ID
from openim.services.relation_rules import RELATION_LISTS_BY_OWNER
from openim.storage.port import Store
from openim.ttl_cache import CacheRegistry, TtlCache

PROCESS_LOCAL = {"SendRules._rows_ensured"}  # spares this process's upserts only (openim.services.send_rules)


def cluster_services(tmp_path: Path) -> Services:
    """build_services as a cluster process runs it (nothing is opened: the store is never called)."""
    config = Config.model_validate({"bus": {"backend": "redis"}, "data_dir": str(tmp_path)})
    node = Node(config, "n1", ("api", "gateway", "msg", "transfer", "push"), cast(Store, None), MemoryBus(),
                Metrics("n1", ("api",)))  # fmt: skip
    return build_services(node)


def _attributes(obj: object) -> Iterator[tuple[str, Any]]:
    try:
        yield from vars(obj).items()
    except TypeError:  # __slots__
        for name in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, name):
                yield name, getattr(obj, name)


def held_caches(root: object) -> dict[str, TtlCache[Any, Any]]:
    """Every TtlCache reachable from ``root`` through the attributes of our objects, by "Class.attr" (the
    registry's own list is not looked at: what counts is who holds a cache)."""
    found: dict[str, TtlCache[Any, Any]] = {}
    seen: set[int] = set()
    todo: list[object] = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, CacheRegistry):
            continue
        seen.add(id(obj))
        for attr, value in _attributes(obj):
            items = [(f"[{k!r}]", v) for k, v in value.items()] if isinstance(value, dict) else [("", value)]
            for key, item in items:
                if isinstance(item, TtlCache):
                    found[f"{type(obj).__name__}.{attr}{key}"] = item
                elif type(item).__module__.startswith("openim.") and not isinstance(item, type):
                    todo.append(item)
    return found


def test_every_cache_of_the_services_is_in_the_registry_and_coherent(tmp_path: Path) -> None:
    services = cluster_services(tmp_path)
    names = [USERS_BY_ID, RECEIVE_OPTIONS_BY_OWNER, RELATION_LISTS_BY_OWNER, GROUPS_BY_ID, GROUP_MEMBERS_BY_GROUP]
    assert services.caches.names == sorted(names)
    assert services.coherence is not None and services.coherence.cache_names == sorted(names)
    registered = {id(services.caches.named(name)) for name in names}
    held = held_caches(services)
    outside = {where for where, cache in held.items() if id(cache) not in registered}
    assert outside == PROCESS_LOCAL
    assert {id(cache) for cache in held.values()} >= registered  # each held by the reader that fills it
    assert all(services.caches.named(name).on_invalidate is not None for name in names)  # type: ignore[union-attr]


def test_each_owner_drops_the_entry_of_its_cache(tmp_path: Path) -> None:
    """The one method that invalidates each kind of data empties the cache of its name."""
    services = cluster_services(tmp_path)
    owners: dict[str, Callable[[], None]] = {
        USERS_BY_ID: lambda: services.send.forget_user("k"),
        RECEIVE_OPTIONS_BY_OWNER: lambda: services.send.forget_conversation("k", "si_a_k"),
        RELATION_LISTS_BY_OWNER: lambda: services.relations.rules.forget("k"),
        GROUPS_BY_ID: lambda: services.groups.directory.forget("k"),
        GROUP_MEMBERS_BY_GROUP: lambda: services.groups.directory.forget("k"),
    }
    for name, forget in owners.items():
        cache = services.caches.named(name)
        assert cache is not None
        cache.put("k", "cached")
        forget()
        assert cache.get("k") is None, name


def _send_hooks(tmp_path: Path, enable: list[str]) -> object:
    config = Config.model_validate(
        {"data_dir": str(tmp_path), "webhooks": {"url": "http://127.0.0.1:9/cb", "enable": enable}}
    )
    modules = ("api", "msg", "transfer", "push")
    node = Node(config, "n1", modules, cast(Store, None), MemoryBus(), Metrics("n1", ("api",)))
    return build_services(node).send._hooks


def test_the_send_path_takes_callbacks_only_when_a_message_callback_is_enabled(tmp_path: Path) -> None:
    """Other callbacks (users, groups, pushes) must not move message sends off their fast path."""
    assert _send_hooks(tmp_path, ["afterUserRegister", "beforeOnlinePush", "afterSetGroupInfo"]) is None
    assert _send_hooks(tmp_path, ["afterMsgSaveDB"]) is not None
    assert _send_hooks(tmp_path, ["*"]) is not None
