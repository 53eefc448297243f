"""``openim cluster status``: the live registry, partition owners and discovery, joined into one report.

Read-only and cheap: one registry read (``Bus.list_nodes``), one pipeline of ``GET``s for the leases of
the transfer and push partitions, and the discovery lookup. Nothing is written, so it is safe to run
from any host that reaches the cluster's Redis, as often as a monitor likes.

A node's state:

- ``up``: registered, heartbeat younger than ``cluster.node_ttl``;
- ``missing``: discovery expects it (static node id, or a Kubernetes endpoint) but it is not registered;
- ``unlisted``: registered, but static discovery does not list it (it could not have started with this
  config: another config file is in use somewhere).

The report is ``ok`` when every expected member is up, at least one node is, and every partition of
both queues has an owner among the live nodes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import trio

from openim.bus.port import NodeInfo
from openim.clock import now_ms
from openim.cluster.discovery import Member, expected_members
from openim.config import Config

__all__ = ["ClusterStatus", "NodeStatus", "read_status", "render_table"]

QUEUES = ("transfer", "push")


@dataclass(frozen=True, slots=True)
class NodeStatus:
    node_id: str  # "" for an expected Kubernetes endpoint that no registered node matches
    state: str  # up | missing | unlisted
    modules: tuple[str, ...]
    addresses: Mapping[str, str]
    started_at: int = 0  # ms since epoch
    heartbeat_at: int = 0  # ms since epoch
    connections: int = 0
    partitions: Mapping[str, list[int]] = field(default_factory=dict)  # queue -> partitions owned


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    discovery: str
    redis: str  # the bus URL, password masked
    key_prefix: str
    read_at: int  # ms since epoch
    nodes: list[NodeStatus]
    owners: Mapping[str, list[str]]  # queue -> owner node id per partition ("" = none)
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _masked(url: str) -> str:
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("//")
    user = credentials.split(":", 1)[0]
    return f"{scheme}//{user}:****@{tail}"


def join(
    config: Config,
    nodes: Sequence[NodeInfo],
    expected: Sequence[Member],
    owners: Mapping[str, list[str]],
    now_ms: int,
) -> ClusterStatus:
    """Pure: the report from what was read (tested without Redis)."""
    owned: dict[str, dict[str, list[int]]] = {}
    for queue, per_partition in owners.items():
        for partition, owner in enumerate(per_partition):
            if owner:
                owned.setdefault(owner, {}).setdefault(queue, []).append(partition)
    listed = {m.node_id for m in expected if m.node_id}
    rows: list[NodeStatus] = []
    problems: list[str] = []
    for info in nodes:
        state = "unlisted" if config.cluster.discovery == "static" and info.node_id not in listed else "up"
        rows.append(
            NodeStatus(
                info.node_id, state, tuple(info.modules), dict(info.addresses), info.started_at,
                info.heartbeat_at, info.connections, owned.get(info.node_id, {}),
            )
        )
        if state == "unlisted":
            problems.append(f"node {info.node_id} is registered but not listed in cluster.static_nodes")
    registered = {n.node_id: n for n in nodes}
    for member in expected:
        if member.node_id:
            if member.node_id not in registered:
                rows.append(NodeStatus(member.node_id, "missing", member.modules, dict(member.addresses)))
                problems.append(f"node {member.node_id} is listed but not registered (down?)")
            continue
        # Kubernetes endpoint: some live node must advertise exactly this address for the module.
        module = member.modules[0]
        address = member.addresses[module]
        if not any(n.addresses.get(module) == address for n in nodes):
            rows.append(NodeStatus("", "missing", member.modules, dict(member.addresses)))
            problems.append(f"{module} endpoint {address} has no registered node")
    if not any(r.state == "up" for r in rows):
        problems.append("no node is registered")
    live = {r.node_id for r in rows if r.state != "missing"}
    for queue, per_partition in owners.items():
        orphans = [p for p, owner in enumerate(per_partition) if owner not in live]
        if orphans and any(queue in n.modules for n in nodes):
            problems.append(f"{queue} partitions without a live owner: {_ranges(orphans)}")
    rows.sort(key=lambda r: (r.state != "up", r.node_id, dict(r.addresses).get(next(iter(r.modules), ""), "")))
    return ClusterStatus(
        config.cluster.discovery, _masked(config.bus.redis_url), config.bus.key_prefix, now_ms, rows,
        dict(owners), problems,
    )


async def _lease_owners(config: Config) -> dict[str, list[str]]:
    """Owner of every transfer and push partition lease: one pipeline of GETs."""
    from openim.bus.resp import ConnectionBroken, RedisAddress, RespConnection

    partitions = config.messaging.transfer_partitions
    prefix = config.bus.key_prefix
    commands = [("GET", f"{prefix}lease:{q}:{p}") for q in QUEUES for p in range(partitions)]
    try:
        conn = await RespConnection.connect(RedisAddress.from_url(config.bus.redis_url), timeout=5.0)
    except ConnectionBroken as exc:
        from openim.bus.port import BusUnavailable

        raise BusUnavailable(f"Redis at {config.bus.redis_url}: {exc}") from exc
    try:
        replies = await conn.pipeline(commands)
    finally:
        conn.close()
    out: dict[str, list[str]] = {}
    for i, queue in enumerate(QUEUES):
        chunk = replies[i * partitions : (i + 1) * partitions]
        out[queue] = [r.decode() if isinstance(r, bytes) else "" for r in chunk]
    return out


async def read_status(config: Config) -> ClusterStatus:
    """Read the registry, the leases and discovery; raise BusUnavailable if Redis does not answer."""
    from openim.bus.redis import RedisBus

    bus = RedisBus(
        config.bus.redis_url, node_id=f"status-{os.getpid()}", key_prefix=config.bus.key_prefix,
        command_timeout_s=5.0, pool_size=2,
    )
    try:
        await bus.open()
        nodes = await bus.list_nodes()
    finally:
        await bus.aclose()
    owners = await _lease_owners(config)
    with trio.fail_after(10):
        expected = await expected_members(config)
    return join(config, nodes, expected, owners, now_ms())


def _ranges(numbers: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``0-2,5``."""
    parts: list[str] = []
    start = prev = -2
    for n in sorted(numbers):
        if n != prev + 1:
            if start >= 0:
                parts.append(f"{start}-{prev}" if prev > start else str(start))
            start = n
        prev = n
    if start >= 0:
        parts.append(f"{start}-{prev}" if prev > start else str(start))
    return ",".join(parts)


def _age(ms: int) -> str:
    seconds = max(ms, 0) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


def render_table(status: ClusterStatus) -> str:
    """The human report: one line per node, then partitions and problems."""
    header = ("NODE", "STATE", "MODULES", "ADDRESSES", "HEARTBEAT", "UPTIME", "CONNS", "PARTITIONS")
    rows: list[tuple[str, ...]] = [header]
    for n in status.nodes:
        seen = n.heartbeat_at > 0
        rows.append(
            (
                n.node_id or "?",
                n.state,
                ",".join(n.modules) or "-",
                " ".join(f"{m}={a}" for m, a in sorted(n.addresses.items())) or "-",
                f"{_age(status.read_at - n.heartbeat_at)} ago" if seen else "-",
                _age(status.read_at - n.started_at) if n.started_at else "-",
                str(n.connections) if seen else "-",
                " ".join(f"{q}:{_ranges(p)}" for q, p in sorted(n.partitions.items())) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        f"cluster: {sum(1 for n in status.nodes if n.state == 'up')} node(s) up, discovery {status.discovery}, "
        f"bus {status.redis} prefix {status.key_prefix!r}",
        "",
    ]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append("")
    for queue, owners in sorted(status.owners.items()):
        held = sum(1 for o in owners if o)
        lines.append(f"{queue} partitions: {held}/{len(owners)} owned")
    lines.append(f"connections: {sum(n.connections for n in status.nodes)}")
    if status.problems:
        lines.append("")
        lines += [f"problem: {p}" for p in status.problems]
    else:
        lines.append("status: ok")
    return "\n".join(lines)
