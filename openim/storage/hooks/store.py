"""SqlStore's after-callback queue methods (a mixin over SqlBase); see openim.storage.hooks.queries."""

from __future__ import annotations

from openim.hook_queue import HookWrites
from openim.storage.hooks import queries as q
from openim.storage.sql.base import SqlBase, reads, writes


class SqlHookStore(SqlBase):
    """Implements openim.storage.hooks.port.HookStore (openim.hook_queue.HookQueue) for SqlStore."""

    async def hook_write(self, writes: HookWrites, *, now_ms: int) -> None:
        if writes:
            await self._write(lambda: q.hook_write(writes, now_ms=now_ms))

    hook_take = writes(q.hook_take)
    hook_release = writes(q.hook_release)
    hook_counts = reads(q.hook_counts)
    hook_dead_letters = reads(q.hook_dead_letters)
    hook_redrive = writes(q.hook_redrive)
