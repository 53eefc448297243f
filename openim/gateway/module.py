"""Assembly of the gateway module from a process's Node and Services (called by openim.app)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openim.gateway.server import Gateway
from openim.node import Node

if TYPE_CHECKING:
    from openim.service_set import Services

__all__ = ["gateway_module"]


def gateway_module(node: Node, services: Services) -> Gateway:
    """The ``gateway`` module: a WebSocket listener on ``config.gateway`` whose inbox handlers are
    registered at once, so deliveries published before the listener is up are not lost as unknown."""
    hooks = None
    if services.webhooks.active:
        from openim.webhooks.sessions import SessionHooks

        hooks = SessionHooks(services.webhooks)
    gateway = Gateway(
        node=node,
        tokens=services.tokens,
        sync=services.sync,
        sender=services.send,
        session_hooks=hooks,
        forget_push_token=services.devices.forget,
    )
    gateway.register_inbox(services.inbox)
    return gateway
