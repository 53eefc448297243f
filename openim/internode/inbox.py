"""This process's mailbox on the Bus: one subscription, dispatched by payload kind.

Stages address a process by node id (send replies go back to the process that waits for them, pushes go
to the gateway holding the recipient). Handlers are synchronous and must not block: they hand work to a
task or a connection's outbound queue.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from openim.bus.port import Bus
from openim.ops.logging import get_log

log = get_log("inbox")

Handler = Callable[[bytes], None]


class NodeInbox:
    name = "inbox"

    def __init__(self, bus: Bus, node_id: str) -> None:
        self._bus = bus
        self._node_id = node_id
        self._handlers: dict[bytes, Handler] = {}

    def register(self, kind: bytes, handler: Handler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for kind {kind!r} is registered already")
        self._handlers[kind] = handler

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with self._bus.subscribe(self._node_id) as payloads:
            task_status.started()
            async for payload in payloads:
                handler = self._handlers.get(payload[:1])
                if handler is None:
                    log.warning("inbox.unknown_kind", kind=payload[:1].decode("latin-1"))
                    continue
                try:
                    handler(payload[1:])
                except Exception:  # one bad payload must not stop delivery of the rest
                    log.error("inbox.handler_failed", kind=payload[:1].decode("latin-1"), exc_info=True)

    async def drain(self) -> None:
        return None
