"""The api module: the OpenIM REST routes, the ops endpoints and whatever else the process serves on the
same port (the web console: ``extra_routes``, given by openim.app, so this package does not import it)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from openim.api.framework import Router, not_found, options_preflight
from openim.api.openapi import openapi_route
from openim.http.health import Probe, ops_routes
from openim.http.server import HttpModule
from openim.node import Node
from openim.service_set import Services


def build_router(node: Node, services: Services) -> Router:
    from openim.api import routes

    router = Router(services.tokens, node.metrics, node.config.api.max_body_size)
    routes.register_all(router, node, services)
    return router


def build_app(
    node: Node, services: Services, probes: list[Probe], extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    router = build_router(node, services)
    docs = [openapi_route(router, services.tokens)] if node.config.api.openapi else []
    all_routes = [
        *ops_routes(node.metrics, probes),
        *docs,
        *router.starlette_routes(),
        *extra_routes,
        Route("/{path:path}", options_preflight, methods=["OPTIONS"]),
    ]
    return Starlette(routes=all_routes, exception_handlers={404: not_found, 405: not_found})


def api_module(
    node: Node, services: Services, probes: list[Probe], extra_routes: Sequence[BaseRoute] = ()
) -> HttpModule:
    cfg = node.config.api
    return HttpModule(
        "api", build_app(node, services, probes, extra_routes), cfg.host, cfg.port, max_body=cfg.max_body_size,
        max_connections=cfg.max_connections, max_connections_per_ip=cfg.max_connections_per_ip,
        header_timeout=float(cfg.header_timeout), body_timeout=float(cfg.body_timeout),
        exempt_ips=node.guards.exempt_ips, on_refused=node.guards.refused,
    )
