"""OpenIM's callbacks (webhooks) to a business backend: the catalogue of names, the dispatcher (before:
synchronous, may refuse or modify; after: queued and retried) and the adapters each service calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openim.webhooks.dispatcher import Webhooks


def attach_webhooks(webhooks: Webhooks, **services: Any) -> None:
    """Give the services that fire callbacks their hook objects (nothing when no callback is enabled, so
    the send path pays nothing for a feature that is off)."""
    if not webhooks.active:
        return
    from openim.webhooks.messages import MessageHooks

    send = services.get("send")
    if send is not None:
        send.set_hooks(MessageHooks(webhooks))
    for name in ("relations", "groups"):
        service = services.get(name)
        if service is not None:
            service.webhooks = webhooks
