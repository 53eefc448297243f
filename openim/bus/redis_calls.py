"""The command side of the Redis bus: its connection pools, one pipeline per call, and the calls of one
scheduler tick sharing one round trip.

Every call is one pipeline on a pooled connection (openim.bus.resp), so a batch costs one round trip. Failures
of the connection or the server become :class:`BusUnavailable` with the cause attached; the broken connection
is dropped and the next call opens a fresh one. Calls that are safe to repeat are retried once on a fresh
connection first; INCR, XADD and PUBLISH are not, because the first attempt may have been applied.

Also here: the shapes of replies that the adapter's parts share (hash replies in RESP2 and RESP3, TTLs in ms).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import trio

from openim.bus.port import BusUnavailable
from openim.bus.resp import Command, ConnectionBroken, RedisAddress, RedisError, RespPool


def ttl_ms(ttl_s: float) -> int:
    return max(1, math.ceil(ttl_s * 1000))


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def hash_fields(reply: Any) -> Iterable[tuple[Any, Any]]:
    """Field/value pairs of a hash reply: a flat list in RESP2, a map in RESP3."""
    if not reply:
        return ()
    if isinstance(reply, dict):
        return reply.items()
    flat = iter(reply)
    return zip(flat, flat, strict=True)  # (reply[0], reply[1]), (reply[2], reply[3]), ...


class _Call:
    """One caller's commands in a shared pipeline, and what came back for it."""

    __slots__ = ("commands", "done", "error", "replies", "retry")

    def __init__(self, commands: Sequence[Command], retry: bool) -> None:
        self.commands = commands
        self.retry = retry
        self.replies: list[Any] = []
        self.error: BusUnavailable | None = None
        self.done = trio.Event()


class RedisCalls:
    """The pools of one bus and :meth:`run`, the one way its parts talk to Redis."""

    def __init__(self, address: RedisAddress, *, node_id: str, command_timeout_s: float, pool_size: int) -> None:
        self.address = address
        self.command_timeout = command_timeout_s
        self.pool = RespPool(
            address, max_size=pool_size, connect_timeout=command_timeout_s, name=f"openim-{node_id}-cmd"
        )
        # Blocking reads (XREADGROUP BLOCK) hold a connection for their whole wait: a pool of their own, so
        # they never starve ordinary commands.
        self._blocking_pool = RespPool(
            address,
            max_size=pool_size,
            connect_timeout=command_timeout_s,
            name=f"openim-{node_id}-take",
        )
        self._queued: list[_Call] = []  # calls of this tick waiting for their shared round trip
        self._flush_pending = False  # a caller of this tick will send them

    def close(self) -> None:
        self.pool.close()
        self._blocking_pool.close()

    async def run(
        self, commands: Sequence[Command], *, retry: bool = True, check: bool = True, blocking_s: float = 0.0
    ) -> list[Any]:
        """One pipeline, one round trip. ``check`` raises on any error reply, else errors stay in place.

        Non-blocking calls made by different tasks in the same scheduler tick share the round trip: the
        first caller of a tick lets the others queue theirs, then sends them all in one write on one
        connection and hands each caller its own replies (see :class:`_Call`). Under load this turns the
        gateway's one ``XADD`` per message, or the transfer and push partitions' acks, replies and
        publishes, into one pipeline per tick.
        """
        if blocking_s:
            replies = await self._roundtrip(self._blocking_pool, commands, retry, blocking_s)
        else:
            call = _Call(commands, retry)
            self._queued.append(call)
            if self._flush_pending:
                await call.done.wait()
            else:
                self._flush_pending = True
                # Let the other tasks that run in this tick queue their calls (not cancellable: the calls
                # queued behind ours rely on this task to send them).
                await trio.lowlevel.cancel_shielded_checkpoint()
                batch, self._queued = self._queued, []
                self._flush_pending = False
                with trio.CancelScope(shield=True):
                    await self._flush(batch)
            if call.error is not None:
                raise call.error
            replies = call.replies
        if check:
            for reply in replies:
                if isinstance(reply, RedisError):
                    raise BusUnavailable(f"Redis refused a command: {reply}") from reply
        return replies

    async def _roundtrip(
        self, pool: RespPool, commands: Sequence[Command], retry: bool, blocking_s: float
    ) -> list[Any]:
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                with trio.fail_after(self.command_timeout + blocking_s):
                    async with pool.connection() as conn:
                        return await conn.pipeline(commands)
            except (ConnectionBroken, trio.TooSlowError) as exc:
                if attempt + 1 < attempts:
                    continue
                raise BusUnavailable(f"Redis at {self.address.host}:{self.address.port}: {exc}") from exc
        raise AssertionError("unreachable")

    async def _flush(self, batch: list[_Call]) -> None:
        """Send the calls of one tick in one pipeline; wake every caller, whatever happens.

        If the connection breaks, the calls that may be repeated are retried together on a fresh one, the
        others (XADD, PUBLISH, INCR: the first attempt may have been applied) fail with BusUnavailable.
        """
        try:
            if len(batch) == 1:
                call = batch[0]
                try:
                    call.replies = await self._roundtrip(self.pool, call.commands, call.retry, 0.0)
                except BusUnavailable as exc:
                    call.error = exc
                return
            commands = [c for call in batch for c in call.commands]
            try:
                replies = await self._roundtrip(self.pool, commands, False, 0.0)
            except BusUnavailable as exc:
                again = [call for call in batch if call.retry]
                for call in batch:
                    if not call.retry:
                        call.error = exc
                if again:
                    try:
                        replies = await self._roundtrip(
                            self.pool, [c for call in again for c in call.commands], False, 0.0
                        )
                    except BusUnavailable as exc2:
                        for call in again:
                            call.error = exc2
                        return
                    batch = again
                else:
                    return
            start = 0
            for call in batch:
                end = start + len(call.commands)
                call.replies = replies[start:end]
                start = end
        except Exception as exc:  # never leave a caller waiting
            for call in batch:
                if call.error is None and not call.replies:
                    call.error = BusUnavailable(f"Redis call failed: {exc!r}")
                    call.error.__cause__ = exc
        finally:
            for call in batch:
                call.done.set()
