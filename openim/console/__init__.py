"""The web console and the demo client, served by the api module next to the OpenIM routes.

``/admin`` is the operators' console (dashboard, users, groups, nodes, config); ``/demo`` is a small chat
client that speaks the OpenIM protocol itself, for accepting a deployment by hand. Their static files live
in ``openim/web``; this package adds the few JSON endpoints the console needs that OpenIM has no route for
(``/admin/api/*``, ``/demo/api/login``) and serves the pages.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from openim.console.admin_api import admin_api_routes
from openim.console.demo_api import demo_api_routes
from openim.console.pages import page_routes
from openim.node import Node
from openim.service_set import Services

__all__ = ["console_routes"]


def console_routes(node: Node, services: Services) -> list[BaseRoute]:
    """Every route of the console and the demo, to be listed before the api module's catch-alls."""
    return [*admin_api_routes(node, services), *demo_api_routes(node, services), *page_routes(node)]
