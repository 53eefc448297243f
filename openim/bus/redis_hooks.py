"""The durable queue of after-callbacks in a cluster: openim.hook_queue.HookQueue over Redis streams.

Keys (``P`` is ``bus.key_prefix``):

    P hooks          stream, field "e" = the entry as JSON; consumer group "openim-hooks"; every process
                     that fires callbacks reads it, so any process delivers what any other queued
    P hooks:delayed  zset, member = an entry waiting for its retry (JSON), score = when it is due (ms)
    P hooks:dead     stream, field "e" = a dead letter (attempts exhausted) with its last error

An entry is taken with XREADGROUP (so it is pending for the taker) and leaves the stream only when the
taker reports it delivered (XACK + XDEL), retried (moved to the zset) or dead (moved to the dead stream).
An entry pending longer than the lease (its taker died or hangs) is claimed by the next take of any process
(XAUTOCLAIM). A restarted process (the same node id, hence the same consumer name) first reads its own
pending entries again (XREADGROUP from id 0). Due retries go back to the stream in one Lua script, so two
processes never both move one. Every write puts the entry where it goes before it removes it from where it
was: a crash in between leaves a duplicate (delivered twice), never a loss: at-least-once.

Unlike the rest of the bus, these keys are data: they need Redis persistence (AOF; docs/operations.md,
"Webhooks") to survive a restart of Redis itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Final

from openim.bus.port import BusUnavailable
from openim.bus.redis_calls import RedisCalls, hash_fields, text
from openim.bus.resp import Command, RedisError
from openim.hook_queue import HookCounts, HookEntry, HookWrites

_GROUP: Final = "openim-hooks"
_FIELD: Final = b"e"
_REDRIVE_BATCH: Final = 500

# Move the due retries (at most ARGV[2]) from the zset back to the stream; the number moved.
_MOVE_DUE: Final = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'e', member)
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""
_MOVE_DUE_SHA: Final = hashlib.sha1(_MOVE_DUE.encode()).hexdigest()


def _encode(entry: HookEntry, *, attempts: int | None = None) -> str:
    # "i" keeps two retries of equal content distinct members of the zset.
    return json.dumps(
        {
            "i": entry.entry_id,
            "h": entry.hook,
            "o": entry.operation_id,
            "b": entry.body,
            "a": entry.attempts if attempts is None else attempts,
            "e": entry.last_error,
            "t": entry.created_at,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _decode(entry_id: str, raw: Any) -> HookEntry:
    data = json.loads(raw)
    return HookEntry(entry_id, data["h"], data["o"], data["b"], int(data["a"]), data["e"], int(data["t"]))


def _entries(raw: Any) -> list[HookEntry]:
    """Stream entries ``[[id, [field, value, ...]], ...]`` (deleted entries arrive as nil: skipped)."""
    found: list[HookEntry] = []
    for item in raw or ():
        if not item or item[1] is None:
            continue
        entry_id, fields = item
        for name, value in hash_fields(fields):
            if name == _FIELD:
                found.append(_decode(text(entry_id), value))
                break
    return found


def _read(reply: Any) -> list[HookEntry]:
    """XREADGROUP's reply (nil when nothing; ``[[key, entries]]`` in RESP2, ``{key: entries}`` in RESP3)."""
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else (entries for _, entries in reply)
    return [entry for entries in streams for entry in _entries(entries)]


class RedisHookQueue:
    """HookQueue over the bus's Redis (RedisBus.hook_queue builds it on the bus's connection pools)."""

    def __init__(self, calls: RedisCalls, *, key_prefix: str) -> None:
        self._calls = calls
        self._stream = f"{key_prefix}hooks"
        self._delayed = f"{key_prefix}hooks:delayed"
        self._dead = f"{key_prefix}hooks:dead"
        self._group_ready = False
        # After hook_release: where the re-read of our own pending entries stands (None: done).
        self._own_cursor: str | None = None

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        # From id 0: entries queued before any process read the stream are delivered too.
        (reply,) = await self._calls.run([("XGROUP", "CREATE", self._stream, _GROUP, "0", "MKSTREAM")], check=False)
        if isinstance(reply, RedisError) and reply.code != "BUSYGROUP":
            raise BusUnavailable(f"cannot create consumer group on {self._stream}: {reply}") from reply
        self._group_ready = True

    # -- HookQueue ------------------------------------------------------------------------------------

    async def hook_write(self, writes: HookWrites, *, now_ms: int) -> None:
        if not writes:
            return
        commands: list[Command] = [("XADD", self._stream, "*", _FIELD, _encode(e)) for e in writes.new]
        done: list[str] = []
        for retry in writes.retries:
            commands.append(("ZADD", self._delayed, retry.due_at, _encode(retry.entry)))
            done.append(retry.entry.entry_id)
        for entry in writes.dead:
            commands.append(("XADD", self._dead, "*", _FIELD, _encode(entry)))
            done.append(entry.entry_id)
        done.extend(e.entry_id for e in writes.delivered)
        if done:
            # After the entries are where they go: a crash in between duplicates, never loses.
            commands.append(("XACK", self._stream, _GROUP, *done))
            commands.append(("XDEL", self._stream, *done))
        if writes.delivered or writes.retries or writes.dead:
            await self._ensure_group()
        replies = await self._calls.run(commands, retry=False, check=False)
        errors = [r for r in replies if isinstance(r, RedisError) and r.code != "NOGROUP"]
        if errors:
            raise BusUnavailable(f"Redis refused a hook queue write: {errors[0]}") from errors[0]

    async def hook_take(self, consumer: str, *, max_items: int, now_ms: int, lease_ms: int) -> list[HookEntry]:
        for _ in range(2):  # a second pass only if the group vanished (FLUSHALL, key deleted)
            await self._ensure_group()
            try:
                return await self._take(consumer, max_items, now_ms, lease_ms)
            except RedisError as exc:
                if exc.code != "NOGROUP":
                    raise BusUnavailable(f"Redis refused a hook queue read: {exc}") from exc
                self._group_ready = False
        raise BusUnavailable(f"consumer group on {self._stream} keeps disappearing")

    async def _take(self, consumer: str, max_items: int, now_ms: int, lease_ms: int) -> list[HookEntry]:
        if self._own_cursor is not None:
            # Our previous incarnation's pending entries, from the oldest on.
            (reply,) = await self._calls.run(
                [("XREADGROUP", "GROUP", _GROUP, consumer, "COUNT", max_items, "STREAMS", self._stream,
                  self._own_cursor)],
                check=False,
            )
            if isinstance(reply, RedisError):
                raise reply
            own = _read(reply)
            if own:
                self._own_cursor = own[-1].entry_id
                return own
            self._own_cursor = None
        await self._move_due(now_ms, max_items)
        (claimed,) = await self._calls.run(
            [("XAUTOCLAIM", self._stream, _GROUP, consumer, lease_ms, "0-0", "COUNT", max_items)], check=False
        )
        if isinstance(claimed, RedisError):
            raise claimed
        taken = _entries(claimed[1])
        if len(taken) < max_items:
            (reply,) = await self._calls.run(
                [("XREADGROUP", "GROUP", _GROUP, consumer, "COUNT", max_items - len(taken), "STREAMS",
                  self._stream, ">")],
                check=False,
            )
            if isinstance(reply, RedisError):
                raise reply
            taken += _read(reply)
        return taken

    async def _move_due(self, now_ms: int, max_items: int) -> None:
        args = (2, self._delayed, self._stream, now_ms, max_items)
        (reply,) = await self._calls.run([("EVALSHA", _MOVE_DUE_SHA, *args)], check=False)
        if isinstance(reply, RedisError) and reply.code == "NOSCRIPT":
            (reply,) = await self._calls.run([("EVAL", _MOVE_DUE, *args)], check=False)
        if isinstance(reply, RedisError):
            raise BusUnavailable(f"Redis refused the hook retry script: {reply}") from reply

    async def hook_release(self, consumer: str) -> None:
        self._own_cursor = "0"

    async def hook_counts(self) -> HookCounts:
        streamed, delayed, dead = await self._calls.run(
            [("XLEN", self._stream), ("ZCARD", self._delayed), ("XLEN", self._dead)]
        )
        return HookCounts(queued=int(streamed) + int(delayed), dead=int(dead))

    async def hook_dead_letters(self, *, limit: int) -> list[HookEntry]:
        (reply,) = await self._calls.run([("XRANGE", self._dead, "-", "+", "COUNT", limit)])
        return _entries(reply)

    async def hook_redrive(self, entry_ids: Sequence[str] | None, *, now_ms: int) -> int:
        moved = 0
        while True:
            if entry_ids is None:
                (reply,) = await self._calls.run([("XRANGE", self._dead, "-", "+", "COUNT", _REDRIVE_BATCH)])
                letters = _entries(reply)
            else:
                replies = await self._calls.run([("XRANGE", self._dead, i, i) for i in dict.fromkeys(entry_ids)])
                letters = [e for r in replies for e in _entries(r)]
            if not letters:
                return moved
            commands: list[Command] = [
                ("XADD", self._stream, "*", _FIELD, _encode(e, attempts=0)) for e in letters
            ]
            commands.append(("XDEL", self._dead, *(e.entry_id for e in letters)))
            await self._calls.run(commands, retry=False)
            moved += len(letters)
            if entry_ids is not None:
                return moved
