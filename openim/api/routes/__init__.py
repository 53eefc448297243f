"""OpenIM REST routes, one module per service area; each exposes ``register(router, node, services)``."""

from __future__ import annotations

from openim.api.framework import Router
from openim.node import Node
from openim.service_set import Services


def register_all(router: Router, node: Node, services: Services) -> None:
    from openim.api.routes import auth, conversation, friend, group, jssdk, msg, object, third, user

    for area in (auth, user, friend, group, msg, conversation, jssdk, object, third):
        area.register(router, node, services)
