"""Who should be in the cluster, per ``cluster.discovery``, and what address a process advertises.

Three modes (docs/operations.md, "Discovery modes"):

- ``redis`` (default): the registry in Redis is the member list; nothing is expected beyond it.
- ``static``: ``cluster.static_nodes`` lists every node id with its modules and addresses. A process
  whose node id is not listed refuses to start (:func:`membership_error`, part of the config review), so a
  typo cannot add a stranger; a listed node without a heartbeat shows as missing.
- ``kubernetes``: ``cluster.kubernetes_services`` names a headless Service per module; its DNS A
  records are the pods, so each record is an expected member, matched to the registry by address.

Addresses: a process registers where it can be reached, not where it binds. A bind host of
``0.0.0.0`` or ``::`` is replaced by ``cluster.advertise_host`` if set, else by this host's address as
its hostname resolves (a pod's own IP in Kubernetes).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

import trio

from openim.config import Config
from openim.config_review import membership_refusal

__all__ = ["Member", "advertised_address", "advertised_host", "expected_members", "membership_error"]

_WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})


@dataclass(frozen=True, slots=True)
class Member:
    """One expected member: a node id (static) or only an address (kubernetes, ``node_id`` empty)."""

    node_id: str
    modules: tuple[str, ...]
    addresses: Mapping[str, str] = field(default_factory=dict)  # module -> host:port ("" = no listener)


def advertised_host(config: Config, bind_host: str) -> str:
    """The host part other processes and operators should use to reach a listener bound to ``bind_host``."""
    if bind_host not in _WILDCARDS:
        return bind_host
    if config.cluster.advertise_host:
        return config.cluster.advertise_host
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:  # no resolvable hostname: the bind address is still better than nothing
        return bind_host or "0.0.0.0"


def advertised_address(config: Config, bind_host: str, port: int) -> str:
    host = advertised_host(config, bind_host)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def membership_error(config: Config, node_id: str) -> str:
    """Why this process may not join (empty when it may): in static mode it must be listed. The config review
    (openim.config.review_config) refuses with this text before anything starts."""
    return membership_refusal(config, node_id)


async def _resolve(name: str, port: int) -> list[str]:
    try:
        infos = await trio.socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except OSError:
        return []  # no such Service (yet): every member of it is simply missing
    hosts = sorted({str(info[4][0]) for info in infos})
    return [f"[{h}]:{port}" if ":" in h else f"{h}:{port}" for h in hosts]


async def expected_members(config: Config) -> list[Member]:
    """The members discovery says should exist ([] in redis mode: the registry is the truth there)."""
    cluster = config.cluster
    if cluster.discovery == "static":
        return [
            Member(
                node_id,
                tuple(m for m in modules if m != "ops"),
                {m: a for m, a in modules.items() if a},
            )
            for node_id, modules in sorted(cluster.static_nodes.items())
        ]
    if cluster.discovery == "kubernetes":
        members: list[Member] = []
        for module, target in sorted(cluster.kubernetes_services.items()):
            name, _, port = target.rpartition(":")
            for address in await _resolve(name, int(port)):
                members.append(Member("", (module,), {module: address}))
        return members
    return []
