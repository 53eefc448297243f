"""Assemble one process from config: ports, services, and the chosen modules, then run them.

Every process, whatever its modules, runs its inbox (node-addressed messages) and a registry heartbeat,
and answers /healthz, /readyz and /metrics: on the API port when it runs the api module, otherwise on
the ops listener.

The msg stage (validation, permissions, dedupe) is a library: it runs inside whichever process receives
a send (gateway or api), so ``--module msg`` adds no task of its own; transfer and push are queue
consumers and can live anywhere.
"""

from __future__ import annotations

import gc

import trio

from openim.assembly import Services, build_services
from openim.bus import make_bus
from openim.clock import now_ms
from openim.cluster.discovery import advertised_address, membership_error
from openim.config import LoadedConfig
from openim.node import Node, default_node_id
from openim.ops.health import Probe, ops_routes
from openim.ops.http_server import HttpModule
from openim.ops.logging import get_log, setup_logging
from openim.ops.metrics import Metrics
from openim.runtime import EXIT_CRASH, Module, run_modules
from openim.storage import make_store
from openim.storage.port import StoreError
from openim.version import build_info, compiled_modules
from openim.wire import pb_backend

log = get_log("app")


class RegistryHeartbeat:
    """Keeps this process listed in the node registry (``openim cluster status`` reads it)."""

    name = "registry"

    def __init__(self, node: Node) -> None:
        self._node = node
        self._ttl = float(node.config.cluster.node_ttl)
        self._stopped = False

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        from openim.bus.port import BusUnavailable, NodeInfo

        started = now_ms()
        first = True
        while not self._stopped:
            info = NodeInfo(
                node_id=self._node.node_id,
                modules=self._node.modules,
                addresses=dict(self._node.addresses),
                started_at=started,
                connections=self._node.connections,
            )
            try:
                await self._node.bus.register_node(info, self._ttl)
            except BusUnavailable as exc:
                log.warning("registry.unavailable", error=str(exc.__cause__ or exc))
            if first:
                task_status.started()
                first = False
            await trio.sleep(self._ttl / 3)
        # Drained (unregistered): stay until the runtime cancels us; a module that returns is a crash.
        await trio.sleep_forever()

    async def drain(self) -> None:
        self._stopped = True
        try:
            with trio.move_on_after(1):
                await self._node.bus.unregister_node(self._node.node_id)
        except Exception:  # leaving the registry early is a courtesy; the TTL removes us anyway
            pass


def build_modules(node: Node, services: Services) -> list[Module]:
    """Instantiate the chosen modules in start order: consumers first, listeners last."""
    probes: list[Probe] = [("store", node.store.ping), ("bus", node.bus.ping)]
    modules: list[Module] = [services.inbox, RegistryHeartbeat(node)]
    if services.coherence is not None:
        modules.append(services.coherence)  # cluster: cache invalidations to and from the other processes
    if services.webhooks.active:
        modules.append(services.webhooks)  # after-callback workers, for every module that fires callbacks
    gateway = None
    if "gateway" in node.modules:
        from openim.gateway.module import gateway_module

        gateway = gateway_module(node, services)
        node.addresses["gateway"] = advertised_address(node.config, node.config.gateway.host, node.config.gateway.port)
    pipeline = services.pipeline
    modules.append(pipeline.replies)  # remote sends' answers and their time-outs
    offline = None
    if "push" in node.modules and node.config.offline_push.provider != "none":
        from openim.offline_push.sender import OfflinePusher

        # Started before the push stage: a misconfigured provider stops the process at start.
        offline = OfflinePusher(node.config.offline_push, services.devices, webhooks=services.webhooks)
    push_stage = None
    if "push" in node.modules:
        from openim.pipeline.push import PushStage

        push_stage = PushStage(bus=node.bus, pushes=pipeline.pushes, node_id=node.node_id, metrics=node.metrics,
                               audience=services.groups.directory.push_audience, offline=offline, local=gateway,
                               all_local=pipeline.in_process)
    if "transfer" in node.modules:
        from openim.pipeline.transfer import TransferStage

        # One process: the stored batch is fanned out by the transfer task itself, right after its
        # answers, so a connection's replies, echoes and pushes of one batch leave in one write.
        fan_out = push_stage.fan_out if pipeline.in_process and push_stage is not None else None
        modules.append(
            TransferStage(store=node.store, sends=pipeline.sends, pushes=pipeline.pushes, replies=pipeline.replies,
                          node_id=node.node_id, metrics=node.metrics, fan_out=fan_out)
        )
    if offline is not None:
        modules.append(offline)
    if push_stage is not None:
        modules.append(push_stage)
    if gateway is not None:
        modules.append(gateway)
    if "api" in node.modules:
        from openim.api.app import api_module
        from openim.console import console_routes
        from openim.objects import UploadSweeper
        from openim.services.token_sweeper import TokenSweeper

        modules.append(UploadSweeper(services.objects))  # checks the object backend at start, then sweeps
        modules.append(TokenSweeper(node.store, node.bus, node.config.auth, node.node_id))
        # /admin (operators' console), /demo (web client), /ui (their assets) share the API's port.
        modules.append(api_module(node, services, probes, console_routes(node, services)))
        node.addresses["api"] = advertised_address(node.config, node.config.api.host, node.config.api.port)
    else:
        from starlette.applications import Starlette

        ops = node.config.ops
        modules.append(HttpModule("ops", Starlette(routes=ops_routes(node.metrics, probes)), ops.host, ops.port))
        node.addresses["ops"] = advertised_address(node.config, ops.host, ops.port)
    return modules


async def _serve(loaded: LoadedConfig, module_names: tuple[str, ...]) -> int:
    cfg = loaded.config
    node_id = cfg.node_id or default_node_id()
    refusal = membership_error(cfg, node_id) if cfg.is_cluster else ""
    if refusal:
        log.error("startup.failed", error=refusal)
        return EXIT_CRASH
    metrics = Metrics(node_id, module_names)
    store = make_store(cfg)
    bus = make_bus(cfg, node_id)
    node = Node(cfg, node_id, module_names, store, bus, metrics)
    info = build_info()
    log.info(
        "starting", version=info.version, commit=info.commit, node_id=node_id, modules=list(module_names),
        config=loaded.source, storage=cfg.storage.backend, bus=cfg.bus.backend, protobuf=pb_backend(),
    )
    if pb_backend() != "upb":
        log.warning("protobuf.slow_backend", backend=pb_backend(), hint="install the protobuf wheel (upb)")
    try:
        await store.open()
        await bus.open()
        services = build_services(node)
        await services.users.ensure_admins()
    except (StoreError, OSError, Exception) as exc:  # startup failure: one clear line, exit non-zero
        log.error("startup.failed", error=f"{type(exc).__name__}: {exc}")
        with trio.CancelScope(shield=True):
            await _close(node)
        return EXIT_CRASH
    modules = build_modules(node, services)
    tune_gc()

    async def ready() -> None:
        # compiled: how many of our modules run as compiled extensions (the binary's send path; 0 from source)
        log.info("ready", node_id=node_id, addresses=node.addresses, compiled=len(compiled_modules()))

    return await run_modules(
        modules, shutdown_timeout=cfg.shutdown_timeout, on_started=ready, close=lambda: _close(node)
    )


# Allocations between two young-generation collections (CPython's default is 700). The send path
# allocates a few dozen short-lived objects per message; at the default, collections ran every few
# messages and their scans of the survivors cost ~12 µs per message (measured with openim bench).
GC_GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Move everything alive after start-up (modules, config, caches' skeletons) out of the collector's
    sight and collect the young generation less often. Cycles are still collected; only the cadence
    changes."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


async def _close(node: Node) -> None:
    for closer in (node.bus.aclose, node.store.aclose):
        try:
            await closer()
        except Exception as exc:  # closing is best effort at exit; report and go on
            log.warning("close.failed", error=f"{type(exc).__name__}: {exc}")


def serve_forever(loaded: LoadedConfig, module_names: tuple[str, ...]) -> int:
    """Entry point of `openim serve`: returns the exit code."""
    setup_logging(loaded.config.log.level, loaded.config.log.format, float(loaded.config.log.repeat_window))
    try:
        return trio.run(_serve, loaded, module_names)
    except KeyboardInterrupt:
        return 0
