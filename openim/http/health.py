"""/healthz (the process is alive), /readyz (its stores answer), /metrics (Prometheus text)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openim.ops.metrics import Metrics

Probe = tuple[str, Callable[[], Awaitable[None]]]
PROBE_TIMEOUT_S = 2.0


def ops_routes(metrics: Metrics, probes: Sequence[Probe]) -> list[Route]:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        results: dict[str, str] = {}
        for name, probe in probes:
            try:
                with trio.fail_after(PROBE_TIMEOUT_S):
                    await probe()
                results[name] = "ok"
            except Exception as exc:  # any failure means not ready; say which and why
                results[name] = f"{type(exc).__name__}: {exc}"[:200]
        ready = all(v == "ok" for v in results.values())
        return JSONResponse({"status": "ready" if ready else "unready", "checks": results},
                            status_code=200 if ready else 503)

    async def prometheus(_: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
