"""The receiving end of the Redis bus's node channels (``P node:{node_id}``, openim.bus.redis): a SUBSCRIBE
needs a connection to itself, so each subscription holds one outside the command pool's sharing and
reconnects it by itself."""

from __future__ import annotations

import trio

from openim.bus.resp import ConnectionBroken, RedisError, RespConnection, RespPool
from openim.ops.logging import get_log

log = get_log("bus")


class Subscription:
    """Iterates what is published to one channel, on a connection of its own.

    If that connection drops, the iterator reconnects and resubscribes by itself (with backoff) and goes on:
    what was published meanwhile is lost, which push tolerates (sync is the guarantee).
    """

    def __init__(self, pool: RespPool, channel: str, name: str, command_timeout_s: float) -> None:
        self._pool = pool
        self._channel = channel
        self._name = name
        self._command_timeout = command_timeout_s
        self._conn: RespConnection | None = None
        self._closed = False

    async def connect(self) -> None:
        """Connect and wait for the server's confirmation, so nothing published after this is missed."""
        conn = await self._pool.new_connection(name=self._name)
        try:
            with trio.fail_after(self._command_timeout):
                await conn.send([("SUBSCRIBE", self._channel)])
                while True:
                    reply = await conn.read_reply()
                    if isinstance(reply, RedisError):
                        raise reply
                    if isinstance(reply, list) and reply and reply[0] == b"subscribe":
                        break
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _reconnect(self) -> None:
        delay = 0.05
        while not self._closed:
            try:
                await self.connect()
            except (ConnectionBroken, RedisError, trio.TooSlowError) as exc:
                log.warning("bus.subscribe.retry", channel=self._channel, error=repr(exc), delay_s=delay)
                await trio.sleep(delay)
                delay = min(delay * 2, 2.0)
            else:
                log.info("bus.subscribe.resumed", channel=self._channel)
                return

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> bytes:
        while True:
            conn = self._conn
            if self._closed:
                raise StopAsyncIteration
            if conn is None:
                await self._reconnect()
                continue
            try:
                reply = await conn.read_reply()
            except ConnectionBroken as exc:
                if self._closed:
                    raise StopAsyncIteration from None
                log.warning("bus.subscribe.lost", channel=self._channel, error=repr(exc.__cause__ or exc))
                conn.close()
                self._conn = None
                continue
            # ["message", channel, payload]; confirmations and pongs are skipped.
            if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
                payload: bytes = reply[2]
                return payload
