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

from openim.assembly import build_modules, build_services
from openim.bus import make_bus
from openim.config_load import LoadedConfig
from openim.config_review import Finding
from openim.node import Node
from openim.ops.logging import get_log, setup_logging
from openim.ops.metrics import Metrics
from openim.runtime import EXIT_CRASH, run_modules
from openim.storage import make_store
from openim.storage.port import StoreError
from openim.version import build_info, compiled_modules
from openim.wire import pb_backend

log = get_log("app")


async def _serve(
    loaded: LoadedConfig, module_names: tuple[str, ...], node_id: str, warnings: tuple[Finding, ...]
) -> int:
    cfg = loaded.config
    metrics = Metrics(node_id, module_names)
    store = make_store(cfg)
    bus = make_bus(cfg, node_id)
    node = Node(cfg, node_id, module_names, store, bus, metrics, config_warnings=tuple(str(w) for w in warnings))
    info = build_info()
    log.info(
        "starting",
        version=info.version,
        commit=info.commit,
        node_id=node_id,
        modules=list(module_names),
        config=loaded.source,
        storage=cfg.storage.backend,
        bus=cfg.bus.backend,
        protobuf=pb_backend(),
    )
    for warning in warnings:  # each its own event: the repeat filter keys on the event
        log.warning(f"config.warning.{warning.key}", warning=str(warning))
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
        modules, shutdown_timeout=cfg.shutdown_timeout, on_started=ready, close=lambda: _close(node),
        exit_when_overrun=True,
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


def serve_forever(
    loaded: LoadedConfig, module_names: tuple[str, ...], *, node_id: str, warnings: tuple[Finding, ...] = ()
) -> int:
    """Entry point of `openim serve`, once the config review let it start (``warnings``: what the review
    found worth saying; logged at start and shown in /admin). Returns the exit code."""
    setup_logging(loaded.config.log.level, loaded.config.log.format, float(loaded.config.log.repeat_window))
    try:
        return trio.run(_serve, loaded, module_names, node_id, warnings)
    except KeyboardInterrupt:
        return 0
