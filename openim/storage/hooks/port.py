"""The Store port, after-callbacks: the Store is the HookQueue of the embedded mode (openim.hook_queue).

Conventions of openim.storage.port apply; the operations are those of openim.hook_queue.HookQueue.
"""

from __future__ import annotations

from typing import Protocol

from openim.hook_queue import HookQueue


class HookStore(HookQueue, Protocol):
    """The table ``webhook_queue`` as a HookQueue (openim.storage.schema.hooks)."""
