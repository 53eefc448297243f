"""Purges tokens that can never be valid again: every login leaves a row, and without this the tokens
table only grows.

A token row goes when it has expired, or when it was kicked (multi-login policy, force_logout, a ban)
and is older than ``auth.kicked_token_retention``: until then a client presenting it hears 1506
TokenKicked (the JS SDK reports "kicked offline"), afterwards 1507 TokenNotExist. Every
``auth.token_purge_interval`` one process of the cluster does it (a bus lease named ``token-purge``
picks it), with one DELETE; 0 turns the sweeper off.
"""

from __future__ import annotations

import trio

from openim.bus.port import Bus
from openim.clock import now_ms
from openim.config import AuthConfig
from openim.ops.logging import get_log
from openim.storage.port import Store

log = get_log("tokens")

LEASE = "token-purge"

__all__ = ["TokenSweeper"]


class TokenSweeper:
    """A module of processes that issue tokens (the api module)."""

    name = "token-sweeper"

    def __init__(self, store: Store, bus: Bus, auth: AuthConfig, node_id: str) -> None:
        self._store = store
        self._bus = bus
        self._interval = float(auth.token_purge_interval)
        self._retention_ms = int(float(auth.kicked_token_retention) * 1000)
        self._node_id = node_id
        self._scope = trio.CancelScope()
        self.rounds = 0  # purges this process ran (tests and logs)

    async def purge_once(self) -> int:
        """One purge, if this process holds the lease for this interval; returns the rows deleted."""
        if not await self._bus.lease_acquire(LEASE, self._node_id, max(self._interval * 0.9, 0.001)):
            return 0
        now = now_ms()
        removed = await self._store.purge_expired_tokens(now, kicked_before_ms=now - self._retention_ms)
        self.rounds += 1
        if removed:
            log.info("tokens.purged", removed=removed)
        return removed

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        with self._scope:
            while self._interval > 0:
                await trio.sleep(self._interval)
                try:
                    await self.purge_once()
                except Exception as exc:  # the store or bus is down: the next round retries
                    log.warning("tokens.purge_failed", error=f"{type(exc).__name__}: {exc}")
        # Drained (or off): wait for the runtime's cancellation; a module that returns is taken for a crash.
        await trio.sleep_forever()

    async def drain(self) -> None:
        self._scope.cancel()
