"""The cluster's pieces, without the failure theatre: start-up refusals of a real process, the status
report's join of registry + leases + discovery, partition balance and cache coherence over one bus.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import trio
from openim_cluster_harness import ROOT

from openim.bus.memory import MemoryBus
from openim.bus.port import NodeInfo
from openim.cluster.coherence import CacheCoherence
from openim.cluster.discovery import Member, expected_members, membership_error
from openim.cluster.status import join, render_table
from openim.config import Config
from openim.internode.inbox import NodeInbox
from openim.pipeline.partitions import PartitionConsumers
from openim.ttl_cache import CacheRegistry, TtlCache

CLUSTER_YAML = """\
secret: {secret}
storage: {{backend: postgres, postgres_dsn: "postgresql://127.0.0.1:1/none"}}
bus: {{backend: redis, redis_url: "redis://127.0.0.1:1/0"}}
cluster: {cluster}
"""


def _serve(tmp_path: Path, *, secret: str, cluster: str, node_id: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.yaml"
    config.write_text(CLUSTER_YAML.format(secret=secret, cluster=cluster), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "OPENIM_NODE_ID": node_id}
    return subprocess.run(
        [sys.executable, "-m", "openim", "serve", "-c", str(config)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_cluster_mode_refuses_the_example_secret(tmp_path: Path) -> None:
    proc = _serve(tmp_path, secret="openIM123", cluster="{}", node_id="n1")
    assert proc.returncode == 2
    assert "cluster mode refuses the example secret" in proc.stderr


def test_static_discovery_refuses_an_unlisted_node(tmp_path: Path) -> None:
    proc = _serve(tmp_path, secret="a-real-secret-0123456789", cluster="{discovery: static, static_nodes: "
                  "{gw-1: {gateway: '10.0.0.1:10001'}}}", node_id="gw-9")  # fmt: skip
    assert proc.returncode == 2  # a config refusal (openim.config.review_config), as `openim config check` says
    assert "config error: OPENIM_NODE_ID: node_id: cluster.static_nodes does not list node_id 'gw-9'" in proc.stderr


def _cfg(**cluster: object) -> Config:
    return Config.model_validate(
        {"bus": {"backend": "redis"}, "cluster": cluster, "messaging": {"transfer_partitions": 4}}
    )


def _node(node_id: str, modules: tuple[str, ...], **addresses: str) -> NodeInfo:
    return NodeInfo(node_id, modules, addresses, started_at=1_000, heartbeat_at=9_000, connections=3)


def test_status_joins_static_members_with_the_registry() -> None:
    static = {
        "gw-1": {"gateway": "10.0.0.1:10001", "api": "10.0.0.1:10002"},
        "mq-1": {"transfer": "", "push": "", "ops": "10.0.0.2:10090"},
    }
    cfg = _cfg(discovery="static", static_nodes=static)
    expected = trio.run(expected_members, cfg)
    assert expected[1] == Member("mq-1", ("transfer", "push"), {"ops": "10.0.0.2:10090"})
    nodes = [_node("gw-1", ("api", "gateway")), _node("stray", ("transfer",))]
    owners = {"transfer": ["stray", "stray", "", "gone"], "push": ["", "", "", ""]}
    status = join(cfg, nodes, expected, owners, now_ms=10_000)
    states = {n.node_id: n.state for n in status.nodes}
    assert states == {"gw-1": "up", "stray": "unlisted", "mq-1": "missing"}
    assert not status.ok
    assert any("mq-1 is listed but not registered" in p for p in status.problems)
    assert any("transfer partitions without a live owner: 2-3" in p for p in status.problems)
    by_id = {n.node_id: n for n in status.nodes}
    assert dict(by_id["stray"].partitions) == {"transfer": [0, 1]}
    assert [n.node_id for n in status.nodes] == ["gw-1", "mq-1", "stray"]  # up first, then by id
    table = render_table(status)
    assert "problem: node mq-1 is listed but not registered" in table and "1.0s ago" in table
    assert membership_error(cfg, "gw-1") == ""
    assert "does not list" in membership_error(cfg, "gw-2")


def test_status_matches_kubernetes_endpoints_by_address() -> None:
    cfg = _cfg(discovery="kubernetes", kubernetes_services={"gateway": "127.0.0.1:10001", "api": "127.0.0.1:10002"})
    expected = trio.run(expected_members, cfg)
    assert {(m.modules, dict(m.addresses)["gateway" if "gateway" in m.modules else "api"]) for m in expected} == {
        (("gateway",), "127.0.0.1:10001"), (("api",), "127.0.0.1:10002")}  # fmt: skip
    nodes = [_node("pod-a", ("gateway",), gateway="127.0.0.1:10001")]
    status = join(cfg, nodes, expected, {"transfer": ["x"] * 4, "push": ["x"] * 4}, now_ms=10_000)
    assert [(n.node_id, n.state) for n in status.nodes] == [("pod-a", "up"), ("", "missing")]
    assert status.problems == ["api endpoint 127.0.0.1:10002 has no registered node"]


def test_config_rejects_an_incomplete_discovery() -> None:
    for cluster in ({"discovery": "static"}, {"discovery": "kubernetes"},
                    {"kubernetes_services": {"gateway": "no-port"}}, {"static_nodes": {"a|b": {}}}):  # fmt: skip
        with pytest.raises(ValueError):
            Config.model_validate({"cluster": cluster})


def test_partitions_are_shared_fairly_and_move_when_an_owner_stops() -> None:
    """Two consumers of one queue on one bus: 4 + 4 of 8 partitions; one stops, the other takes all 8."""

    async def run() -> None:
        bus = MemoryBus()
        await bus.open()

        async def nothing(partition: int, items: object) -> None:
            return None

        consumers = {
            owner: PartitionConsumers(
                bus=bus, topic="transfer", partitions=8, owner=owner, max_items=10, handle=nothing, lease_ttl_s=0.3
            )
            for owner in ("n1", "n2")
        }
        for owner in consumers:
            await bus.register_node(NodeInfo(owner, ("transfer",)), 30)
        async with trio.open_nursery() as nursery:
            for c in consumers.values():
                nursery.start_soon(c.run)
            with trio.fail_after(15):
                while sorted(len(c.owned) for c in consumers.values()) != [4, 4]:
                    await trio.sleep(0.05)
            assert not consumers["n1"].owned & consumers["n2"].owned
            consumers["n2"].stop()
            await bus.unregister_node("n2")
            with trio.fail_after(15):
                while len(consumers["n1"].owned) != 8:
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()

    trio.run(run)


def test_cache_invalidations_reach_the_other_processes() -> None:
    """What one process invalidates is dropped by the others (over the bus, by node inbox)."""

    class Service:
        def __init__(self, caches: CacheRegistry) -> None:
            self.cache: TtlCache[str, int] = caches.cache("service_cache", 60)

    async def run() -> None:
        bus = MemoryBus()
        await bus.open()
        registries = {name: CacheRegistry() for name in ("n1", "n2", "n3")}
        services = {name: Service(caches) for name, caches in registries.items()}
        async with trio.open_nursery() as nursery:
            for name, service in services.items():
                inbox = NodeInbox(bus, name)
                coherence = CacheCoherence(bus, name, inbox, registries[name])
                assert coherence.cache_names == ["service_cache"]
                await nursery.start(inbox.serve)
                await nursery.start(coherence.serve)
                await bus.register_node(NodeInfo(name, ("api",)), 30)
                service.cache.put("alice", 1)
                service.cache.put("bob", 2)
            services["n1"].cache.invalidate("alice")
            with trio.fail_after(5):
                while any(s.cache.get("alice") is not None for s in services.values()):
                    await trio.sleep(0.01)
            assert all(s.cache.get("bob") == 2 for s in services.values())
            nursery.cancel_scope.cancel()

    trio.run(run)


def test_caches_of_services_without_a_dict_are_watched_too() -> None:
    """A service with ``__slots__`` (and a mypyc-compiled one, as in the binary: its attributes are
    descriptors on the type, there is no ``__dict__``) has its caches watched: they are made through the
    registry, so nothing looks at the service's attributes (a property is never called)."""

    class Slotted:
        __slots__ = ("cache", "name", "unset")

        def __init__(self, caches: CacheRegistry) -> None:
            self.cache: TtlCache[str, int] = caches.cache("slotted_cache", 60)
            self.name = "x"

        @property
        def exploding(self) -> TtlCache[str, int]:
            raise AssertionError("a property was evaluated")

    caches = CacheRegistry()
    coherence = CacheCoherence(MemoryBus(), "n1", NodeInbox(MemoryBus(), "n1"), caches)
    Slotted(caches)
    assert coherence.cache_names == ["slotted_cache"]
