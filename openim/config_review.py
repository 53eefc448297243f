"""What a loaded config may run with: the one review behind `openim config check`, `openim serve` and
`openim supervise` (its refusals end each of them with exit 2 and the same lines), and the warnings a
running server logs at start and shows in /admin.

Kept apart from openim.config, which loads and types a config; this judges one.
"""

from __future__ import annotations

from dataclasses import dataclass

from openim.config import EXAMPLE_SECRET, LISTENERS, MODULES, Config
from openim.config_load import LoadedConfig


@dataclass(frozen=True)
class Finding:
    """One refusal or warning: ``str()`` is one line naming where the value came from, the key and why."""

    origin: str  # the file, the environment variable, or "built-in defaults"
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.key}: {self.reason}" if self.key else f"{self.origin}: {self.reason}"


@dataclass(frozen=True)
class Review:
    refusals: tuple[Finding, ...]  # the config must not run: every command that would run it exits 2
    warnings: tuple[Finding, ...]  # it runs, but an operator should know (logged at start, shown in /admin)

    @property
    def ok(self) -> bool:
        return not self.refusals


SECRET_FIX = "run `openim init` (a config with a random secret), or set `secret:` in the config or OPENIM_SECRET"


def supervised_modules(config: Config) -> tuple[str, ...]:
    """The module set of the openim program(s) under `openim supervise`, in start order."""
    names = [part.strip() for part in config.supervise.modules.split(",") if part.strip()]
    return MODULES if names == ["all"] else tuple(m for m in MODULES if m in names)


def membership_refusal(config: Config, node_id: str | None = None) -> str:
    """Why a process may not join the cluster (empty when it may): with static discovery it must be listed.

    ``node_id``: the id the process runs under (`openim serve` with ``node_id`` set). None judges the config as
    `openim config check` and `openim supervise` see it: an empty ``node_id`` (the default, <hostname>-<hex>,
    is never listed) is refused; with ``supervise.processes`` > 1 the processes are ``<node_id>-0`` ...
    ``<node_id>-N``, and those are what must be listed.
    """
    nodes = config.cluster.static_nodes
    if config.cluster.discovery != "static":
        return ""
    listed = ", ".join(sorted(nodes))
    if node_id is not None:
        if node_id in nodes:
            return ""
        return f"cluster.static_nodes does not list node_id {node_id!r} (listed: {listed}); set node_id"
    if not config.node_id:
        return f"discovery static needs node_id set to one of cluster.static_nodes (listed: {listed})"
    supervised = [f"{config.node_id}-{n}" for n in range(config.supervise.processes)]
    if config.node_id in nodes or (len(supervised) > 1 and all(one in nodes for one in supervised)):
        return ""
    return f"cluster.static_nodes does not list node_id {config.node_id!r} (listed: {listed}); set node_id"


def review_config(loaded: LoadedConfig, *, node_id: str | None = None) -> Review:
    """The refusals and warnings of a loaded config: the one check behind `openim config check`, `openim serve`
    and `openim supervise` (and the warnings /admin shows). ``node_id``: see :func:`membership_refusal`."""
    config = loaded.config
    refusals: list[Finding] = []
    warnings: list[Finding] = []
    example = config.secret == EXAMPLE_SECRET
    if example and config.is_cluster:
        refusals.append(
            Finding(
                loaded.origin("secret"),
                "secret",
                f"cluster mode refuses the example secret; set a secret of your own: {SECRET_FIX}",
            )
        )
    if config.is_cluster:
        why = membership_refusal(config, node_id)
        if why:
            refusals.append(Finding(loaded.origin("node_id"), "node_id", why))
    else:
        # One process of every module is the only shape the embedded mode (SQLite + in-process bus) can take.
        if config.supervise.processes > 1:
            refusals.append(
                Finding(
                    loaded.origin("supervise.processes"),
                    "supervise.processes",
                    "more than one openim process needs cluster mode (storage.backend postgres and bus.backend "
                    "redis); the embedded store and bus live in one process",
                )
            )
        if supervised_modules(config) != MODULES:
            refusals.append(
                Finding(
                    loaded.origin("supervise.modules"),
                    "supervise.modules",
                    "a subset of the modules needs cluster mode (storage.backend postgres and bus.backend redis); "
                    "the embedded mode runs every module in one process",
                )
            )
    if example and not config.is_cluster:
        exposed = [
            f"{section}.host {host}"
            for section in LISTENERS
            if (host := getattr(config, section).host) not in ("localhost", "::1") and not host.startswith("127.")
        ]
        if exposed:
            where = f", and {' and '.join(exposed)} takes connections from the network; set a secret of your own"
        elif loaded.narrowed:
            where = ", so it listens on 127.0.0.1 only; to open it to the network, set a secret of your own"
        else:
            where = "; it listens on this machine only: before opening it, set a secret of your own"
        warnings.append(
            Finding(
                loaded.origin("secret"),
                "secret",
                f"the public example value {EXAMPLE_SECRET!r} lets anyone who reaches the server sign in as its "
                f"admin and forge any user's token{where}: {SECRET_FIX}",
            )
        )
    return Review(tuple(refusals), tuple(warnings))
