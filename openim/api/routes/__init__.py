"""OpenIM REST routes, one module per service area. Each holds its handlers (a small class over the
services it calls: shape and access checks, one service call, the answer) and ``register(router, node,
services)``, which only lists the area's routes as RouteSpec rows."""

from __future__ import annotations

from openim.api.framework import Router
from openim.node import Node
from openim.service_set import Services


def register_all(router: Router, node: Node, services: Services) -> None:
    from openim.api.routes import (
        auth,
        client_config,
        conversation,
        friend,
        group,
        jssdk,
        msg,
        notification_accounts,
        object,
        reports,
        third,
        user,
        user_commands,
    )

    areas = (
        auth, user, user_commands, notification_accounts, client_config, friend, group, msg, conversation,
        jssdk, object, third, reports,
    )  # fmt: skip
    for area in areas:
        area.register(router, node, services)
