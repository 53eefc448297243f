"""The message gateway of one process: handshakes, the local sessions, and their place in the cluster.

It owns what ties a connection to the rest of the system:

- the handshake (as OpenIM's ws_server.go answers it): argument errors and the connection limit answer with
  HTTP 200 + JSON and no upgrade; token errors upgrade and send ONE text frame when the client asked
  for it (``isMsgResp``: a browser cannot read a refused upgrade) and answer HTTP 200 otherwise; a
  success sends the ``errCode 0`` text frame before anything else, because the JS SDK is not
  "connected" until it sees it;
- presence: each session is one entry on the bus (user, node, platform, connection) with a TTL,
  refreshed for all local sessions in one call every ttl/3, so a node that dies leaves by expiry;
- multi-login (6.8): a new login ends the same user's sessions on the platforms the policy names,
  here and, through a Kick payload, on the other gateway nodes; a session with the same token is never
  kicked (fast reconnects, tabs sharing a token);
- the inbox: deliveries (2001 frames already encoded once by the push stage, in JSON: written untouched
  to JSON connections, re-encoded once per delivery for each other codec, e.g. gob for Go clients),
  kicks, and online-status changes for 2005 watchers;
- online status: when a user's set of platforms on this node changes, a batching task looks up the
  user's platforms over the whole cluster, pushes 2005 to local watchers, and sends one StatusChange
  per batch to every other gateway node (which push to theirs).

Drain (rolling restart, stop): stop listening, remove presence in one call, send every session its 1001
"going away" close frame at once without waiting per connection (the SDK reconnects, possibly
elsewhere), wait at most the transport's ``close_timeout`` in all for the peers' answers, then close the
sockets of the rest. Nothing in it waits per connection, so it takes the same bounded time at any
connection count.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Final, Protocol

import trio

from openim.bus.port import Bus, BusUnavailable, PresenceEntry
from openim.config import GatewayConfig
from openim.gateway.handshake import HandshakeRefused, check_claims, parse_conn_args
from openim.gateway.outbox import Outbox, Pinger
from openim.gateway.reactor import ReadReactor
from openim.gateway.registry import LocalSessions
from openim.gateway.requests import Dispatcher, MessageSender, SyncReader, status_push_frame
from openim.gateway.session import Session, SessionLimits
from openim.gateway.transport import (
    CLOSE_GOING_AWAY,
    CLOSE_POLICY_VIOLATION,
    TransportClosed,
    TransportLimits,
    Upgrade,
)
from openim.gateway.transport import serve as serve_trio_websocket
from openim.gateway.transport_wsproto import serve as serve_wsproto
from openim.internode.inbox import NodeInbox
from openim.internode.payloads import (
    KIND_DELIVER,
    KIND_DELIVERIES,
    KIND_KICK,
    KIND_STATUS,
    Delivery,
    Kick,
    StatusChange,
    decode_deliveries,
)
from openim.internode.peers import Peers
from openim.node import Node
from openim.ops.logging import get_log
from openim.services.tokens import Claims
from openim.wire.codec import JSON, FrameCodec
from openim.wire.constants import Platform
from openim.wire.envelope import HANDSHAKE_OK_TEXT
from openim.wire.errors import ErrCode, OpenIMError

if TYPE_CHECKING:
    from openim.webhooks.sessions import SessionHooks

__all__ = ["Gateway", "TokenChecker"]

log = get_log("gateway")

GATEWAY_MODULE: Final = "gateway"
WEB_PING_INTERVAL_S: Final = 27.0  # OpenIM pings Web (5) connections at 9/10 of its 30 s read deadline
BUS_CALL_TIMEOUT_S: Final = 5.0  # a bus call on a connection's way out must not hold it forever
ABORT_WAIT_S: Final = 1.0  # after the sockets of a drain's stragglers are closed: their sessions log and leave
# What ending one session costs (closing its socket, its log line; about 0.2 ms on a loaded machine, with
# room): a drain stops waiting for answers early enough to end the rest before the process's grace is over.
END_COST_S: Final = 0.0005
JSON_CONTENT_TYPE: Final = "application/json; charset=utf-8"


def frame_for(codec: FrameCodec, json_frame: bytes, encoded: dict[FrameCodec, bytes]) -> bytes:
    """``json_frame`` as ``codec`` writes it, re-encoded at most once per codec (``encoded`` is the
    cache of one fan-out): a push to many Go clients costs one gob encoding, not one per recipient."""
    if codec is JSON:
        return json_frame
    frame = encoded.get(codec)
    if frame is None:
        frame = encoded[codec] = codec.from_json_frame(json_frame)
    return frame


class TokenChecker(Protocol):
    """The part of TokenService the gateway uses."""

    async def verify(self, token: str) -> Claims: ...

    def platforms_to_kick(self, user_id: str, platform_id: int) -> list[int]: ...

    async def kick(
        self, user_id: str, platform_ids: Sequence[int], *, except_token: str = "", issued_before_ms: int | None = None
    ) -> list[str]: ...

    def is_admin(self, user_id: str) -> bool: ...


class Gateway:
    """The ``gateway`` module: serve() listens until cancelled, drain() shuts it down gracefully."""

    name = "gateway"

    def __init__(
        self,
        *,
        node: Node,
        tokens: TokenChecker,
        sync: SyncReader,
        sender: MessageSender,
        web_ping_interval: float = WEB_PING_INTERVAL_S,
        session_hooks: SessionHooks | None = None,
        forget_push_token: Callable[[str, int], Awaitable[None]] | None = None,
    ) -> None:
        self._node = node
        self._cfg: GatewayConfig = node.config.gateway
        self._bus: Bus = node.bus
        self._metrics = node.metrics
        self._tokens = tokens
        self._session_hooks = session_hooks  # afterUserOnline/Offline/KickOff callbacks (openim.webhooks)
        self._local = LocalSessions()
        self._outbox = Outbox()  # connections with frames queued since the last flush
        self._pinger = Pinger()  # protocol pings of Web connections, one task for all
        # Our own frames on raw sockets: every connection is read from one epoll by one task.
        self._reactor = ReadReactor() if self._cfg.transport == "wsproto" else None
        self._dispatcher = Dispatcher(
            sync=sync, sender=sender, online=self, subscriptions=self._local, metrics=node.metrics,
            forget_push_token=forget_push_token, guards=node.guards,
        )
        self._transport_limits = TransportLimits(
            max_frame_size=int(self._cfg.max_frame_size), handshake_timeout=float(self._cfg.handshake_timeout),
            max_connections_per_ip=self._cfg.max_connections_per_ip, max_handshakes=self._cfg.max_handshakes,
            max_handshakes_per_ip=self._cfg.max_handshakes_per_ip, exempt_ips=node.guards.exempt_ips,
        )
        self._guards = node.guards
        self._limits = SessionLimits(idle_timeout=float(self._cfg.idle_timeout))
        self._web_limits = SessionLimits(idle_timeout=float(self._cfg.idle_timeout), ping_interval=web_ping_interval)
        self._conn_ids = itertools.count(1)
        self._pending = 0  # handshakes in progress (count toward max_connections)
        self._listen_scope = trio.CancelScope()
        self._draining = False
        self._status_dirty: set[str] = set()
        self._status_wakeup = trio.Event()
        self._peers = Peers(self._bus, node.node_id, log, module=GATEWAY_MODULE)  # the other gateways
        self.port = 0  # the bound port once serving (useful with port 0)
        self._node_id_prefix = node.node_id + "/"

    # -- wiring -----------------------------------------------------------------------------------------
    def register_inbox(self, inbox: NodeInbox) -> None:
        """Receive the node-addressed payloads meant for the gateway."""
        inbox.register(KIND_DELIVER, self.on_deliver)
        inbox.register(KIND_DELIVERIES, self.on_deliveries)
        inbox.register(KIND_KICK, self.on_kick)
        inbox.register(KIND_STATUS, self.on_status)

    @property
    def sessions(self) -> LocalSessions:
        return self._local

    # -- module protocol ------------------------------------------------------------------------------
    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._outbox.run)
            nursery.start_soon(self._pinger.run)
            if self._reactor is not None:
                nursery.start_soon(self._reactor.run)
            nursery.start_soon(self._refresh_presence_loop)
            nursery.start_soon(self._status_loop)
            self.port = await nursery.start(self._listen, nursery)
            log.info("gateway.listening", host=self._cfg.host, port=self.port)
            task_status.started()

    async def _listen(self, handler_nursery: trio.Nursery, *, task_status: trio.TaskStatus[int]) -> None:
        serve = serve_wsproto if self._cfg.transport == "wsproto" else serve_trio_websocket
        with self._listen_scope:
            await serve(
                self._on_upgrade,
                host=self._cfg.host,
                port=int(self._cfg.port),
                limits=self._transport_limits,
                handler_nursery=handler_nursery,
                on_refused=self._guards.refused,
                task_status=task_status,
            )

    async def drain(self) -> None:
        """Stop accepting, take every session out of presence, send each its 1001 close frame, wait
        (bounded, in all) for the answers, then close the rest. Cancelled (the process's grace is over),
        it still ends every session, none waiting any more, before it returns."""
        self._draining = True
        self._listen_scope.cancel()
        sessions = list(self._local)
        log.info("gateway.draining", connections=len(sessions))
        try:
            if sessions:
                try:
                    with trio.move_on_after(BUS_CALL_TIMEOUT_S):
                        await self._bus.presence_remove([self._entry(s) for s in sessions])
                except BusUnavailable as exc:
                    log.warning("presence.remove_failed", error=str(exc.__cause__ or exc))
            for session in sessions:
                session.go_away(CLOSE_GOING_AWAY, "going away")
            # The runtime runs drain() under the process's grace: its deadline is the effective one here.
            grace = trio.current_effective_deadline()
            until = trio.current_time() + self._transport_limits.close_timeout
            while (count := len(self._local)) and trio.current_time() < min(until, grace - count * END_COST_S):
                await trio.sleep(0.02)
        finally:
            left = list(self._local)
            if left:
                log.info("gateway.drain_abort", connections=len(left))
                for session in left:
                    session.abort(CLOSE_GOING_AWAY, "going away")
        with trio.move_on_after(ABORT_WAIT_S):
            while len(self._local):
                await trio.sleep(0.02)

    # -- handshake --------------------------------------------------------------------------------------
    async def _on_upgrade(self, upgrade: Upgrade) -> None:
        try:
            await self._handle_upgrade(upgrade)
        except Exception:
            # The edge: a bug in one connection's handling must not take the listener (and with it
            # every other connection) down. Cancellation is not an Exception and passes.
            log.error("conn.crashed", remote=upgrade.remote, exc_info=True)

    async def _handle_upgrade(self, upgrade: Upgrade) -> None:
        if self._draining:
            await self._respond(upgrade, HandshakeRefused(ErrCode.CONN_OVER_MAX_NUM_LIMIT, "server is shutting down"))
            return
        if len(self._local) + self._pending >= self._cfg.max_connections:
            await self._respond(upgrade, HandshakeRefused(ErrCode.CONN_OVER_MAX_NUM_LIMIT, "too many connections"))
            return
        self._pending += 1
        try:
            session = await self._open_session(upgrade)
        finally:
            self._pending -= 1
        if session is not None:
            await self._run_session(session)

    async def _open_session(self, upgrade: Upgrade) -> Session | None:
        try:
            args = parse_conn_args(upgrade.target, upgrade.headers)
        except HandshakeRefused as bad_args:
            await self._respond(upgrade, bad_args)
            return None
        refusal: HandshakeRefused | None = None
        ip = upgrade.remote.rpartition(":")[0]
        try:
            # Login rates (openim.security): the address before the token check (it costs a lookup),
            # the user after it (so a stranger cannot use up someone else's logins).
            self._guards.check_login("", ip, ErrCode.CONN_OVER_MAX_NUM_LIMIT)
            with trio.fail_after(float(self._cfg.handshake_timeout)):
                claims = await self._tokens.verify(args.token)
            check_claims(args, claims.user_id, claims.platform_id)
            self._guards.check_login(claims.user_id, "", ErrCode.CONN_OVER_MAX_NUM_LIMIT)
        except HandshakeRefused as exc:
            refusal = exc
        except OpenIMError as err:
            refusal = HandshakeRefused(err.code, err.detail)
        except trio.TooSlowError:
            refusal = HandshakeRefused(ErrCode.SERVER_INTERNAL, "token check timed out")
        except Exception:  # a store or bus failure refuses this login, it must not end the listener
            log.error("handshake.failed", user_id=args.user_id, remote=upgrade.remote, exc_info=True)
            refusal = HandshakeRefused(ErrCode.SERVER_INTERNAL, "token check failed")
        try:
            if refusal is not None:
                if args.is_msg_resp:
                    # The browser cannot read a refused upgrade: upgrade, say why, close.
                    self._count_refusal(upgrade, refusal, args.user_id)
                    conn = await upgrade.accept()
                    await conn.send(refusal.body_text())
                    await conn.close(CLOSE_POLICY_VIOLATION, "handshake refused")
                else:
                    await self._respond(upgrade, refusal, args.user_id)
                return None
            conn = await upgrade.accept()
        except TransportClosed:
            return None
        platform = args.platform_id
        session = Session(
            conn,
            conn_id=str(next(self._conn_ids)),
            user_id=args.user_id,
            platform_id=platform,
            token=args.token,
            token_issued_ms=claims.issued_ms,
            is_admin=self._tokens.is_admin(args.user_id),
            dispatcher=self._dispatcher,
            metrics=self._metrics,
            limits=self._web_limits if platform == Platform.WEB else self._limits,
            outbox=self._outbox,
            codec=args.codec,
            pinger=self._pinger,
            reactor=self._reactor,
        )
        if args.is_msg_resp:
            # First in the outbound queue, so it precedes any push; it is WRITTEN only once the session
            # runs, i.e. after the login is registered (presence, kicks): a client told "connected" is
            # already reachable and visible online.
            session.push(HANDSHAKE_OK_TEXT)
        return session

    async def _respond(self, upgrade: Upgrade, refusal: HandshakeRefused, user_id: str = "") -> None:
        """HTTP 200 with the JSON error and no upgrade, as the Go gateway answers."""
        self._count_refusal(upgrade, refusal, user_id)
        with contextlib.suppress(TransportClosed):  # the client left; nothing to answer
            await upgrade.respond(200, refusal.body_text().encode(), JSON_CONTENT_TYPE)

    def _count_refusal(self, upgrade: Upgrade, refusal: HandshakeRefused, user_id: str) -> None:
        self._metrics.handshake_errors.labels(code=str(int(refusal.code))).inc()
        log.info(
            "handshake.refused",
            code=int(refusal.code),
            detail=refusal.detail,
            user_id=user_id,
            remote=upgrade.remote,
        )

    # -- a session's time in the registry -------------------------------------------------------------
    async def _run_session(self, session: Session) -> None:
        new_platform = self._local.add(session)
        self._gauges()
        self._metrics.logins.inc()
        log.info(
            "conn.opened",
            user_id=session.user_id,
            platform_id=session.platform_id,
            conn_id=session.conn_id,
            remote=session.remote,
            codec=session.codec.name,
        )
        try:
            await self._login(session, new_platform)
            if self._session_hooks is not None:
                self._session_hooks.online(session.user_id, session.platform_id, session.conn_id,
                                           background=session.background, operation_id=f"conn-{session.conn_id}")
            if self._draining:
                session.end(CLOSE_GOING_AWAY, "going away")
            await session.run()
        finally:
            gone = self._local.remove(session)
            self._gauges()
            if not self._draining:
                with trio.CancelScope(shield=True), trio.move_on_after(BUS_CALL_TIMEOUT_S):
                    try:
                        await self._bus.presence_remove([self._entry(session)])
                    except BusUnavailable as exc:
                        log.warning("presence.remove_failed", error=str(exc.__cause__ or exc))
            if gone:
                self._mark_status(session.user_id)
            if self._session_hooks is not None:
                self._session_hooks.offline(session.user_id, session.platform_id, session.conn_id,
                                            background=session.background, kicked=session.close_reason == "kicked",
                                            operation_id=f"conn-{session.conn_id}")

    async def _login(self, session: Session, new_platform: bool) -> None:
        user, token = session.user_id, session.token
        platforms = self._tokens.platforms_to_kick(user, session.platform_id)
        if platforms:
            # Newest login wins: this session ends the older ones, and is itself ended when a newer login
            # already holds one of those platforms (it connected first but was issued later). No
            # checkpoint since LocalSessions.add, so of two local logins the second to get here sees both.
            kick = Kick(user, tuple(platforms), token, session.token_issued_ms)
            rivals = [
                o for o in self._local.of_user(user)
                if o is not session and o.platform_id in platforms and o.token != token
            ]
            if any(not kick.ends(user, o.platform_id, o.token, o.token_issued_ms) for o in rivals):
                session.kick()
                return
            for other in rivals:
                other.kick()
            try:
                await self._tokens.kick(user, platforms, except_token=token, issued_before_ms=session.token_issued_ms)
            except Exception as exc:  # the sessions are kicked already; the token marks are best effort
                log.warning("login.kick_failed", user_id=user, error=f"{type(exc).__name__}: {exc}")
            await self._peers.publish([kick.encode()])
        try:
            await self._bus.presence_add([self._entry(session)], float(self._cfg.presence_ttl))
        except BusUnavailable as exc:
            # The session works (send, sync); pushes reach it once the refresh puts it back.
            log.warning("presence.add_failed", user_id=user, error=str(exc.__cause__ or exc))
        if new_platform:
            self._mark_status(user)

    def _entry(self, session: Session) -> PresenceEntry:
        return PresenceEntry(session.user_id, self._node.node_id, session.platform_id, session.conn_id)

    def _gauges(self) -> None:
        count = len(self._local)
        self._node.connections = count
        self._metrics.connections.set(count)
        self._metrics.online_users.set(self._local.user_count)

    async def _refresh_presence_loop(self) -> None:
        ttl = float(self._cfg.presence_ttl)
        while True:
            await trio.sleep(max(ttl / 3, 0.1))
            entries = [self._entry(s) for s in self._local]
            if not entries:
                continue
            try:
                await self._bus.presence_refresh(entries, ttl)
            except BusUnavailable as exc:
                log.warning("presence.refresh_failed", count=len(entries), error=str(exc.__cause__ or exc))

    # -- inbox handlers (synchronous: they only queue frames) ------------------------------------------
    def on_deliver(self, body: bytes) -> None:
        """A push frame from another process's push stage for some users' local connections."""
        delivery = Delivery.decode(body)
        self.deliver(delivery.frame, delivery.user_ids, delivery.exclude_conn)

    def on_deliveries(self, body: bytes) -> None:
        """The frames of one push batch from another process's push stage, in order."""
        deliver = self.deliver
        for d in decode_deliveries(body):
            deliver(d.frame, d.user_ids, d.exclude_conn)

    def deliver(self, json_frame: bytes, user_ids: Sequence[str], exclude_conn: str) -> int:
        """Queue ``json_frame`` (re-encoded once per other codec) on every local connection of
        ``user_ids`` except ``exclude_conn`` ("<node>/<conn>"), which gets its echo after its 1003 reply
        instead. The push stage of this process calls it directly (openim.pipeline.push.LocalDelivery)."""
        prefix = self._node_id_prefix
        exclude = exclude_conn[len(prefix) :] if exclude_conn.startswith(prefix) else None
        written = 0
        encoded: dict[FrameCodec, bytes] = {}
        of_user = self._local.of_user
        for user_id in user_ids:
            for session in of_user(user_id):
                if session.conn_id == exclude:
                    continue  # it gets its echo from its own 1003 reply path, after the reply
                if session.platform_id == Platform.IOS and session.background:
                    continue  # OpenIM counts a backgrounded iOS app as offline
                codec = session.codec
                frame = frame_for(codec, json_frame, encoded) if codec is not JSON else json_frame
                if session.push(frame):
                    written += 1
        if written:
            self._metrics.pushes.inc(written)
        return written

    def presence(self, user_ids: Sequence[str]) -> dict[str, list[PresenceEntry]]:
        """This process's connections of each user (the whole truth when the bus is in-process)."""
        out: dict[str, list[PresenceEntry]] = {}
        for user_id in user_ids:
            sessions = self._local.of_user(user_id)
            if sessions:
                out[user_id] = [self._entry(s) for s in sessions]
        return out

    def on_kick(self, body: bytes) -> None:
        """End a user's sessions on some platforms, except those using the surviving token."""
        kick = Kick.decode(body)
        for session in self._local.of_user(kick.user_id):
            if kick.ends(session.user_id, session.platform_id, session.token, session.token_issued_ms):
                session.kick()

    def on_status(self, body: bytes) -> None:
        """Another gateway saw a user's platforms change: tell our watchers."""
        change = StatusChange.decode(body)
        self._deliver_status(change.user_id, change.platform_ids)

    # -- online status ----------------------------------------------------------------------------------
    async def online_platforms(self, user_ids: Sequence[str]) -> dict[str, list[int]]:
        """Each user's online platforms across the cluster (absent: offline); one bus round trip."""
        presence = await self._bus.presence_get(list(user_ids))
        return {uid: sorted({e.platform_id for e in entries}) for uid, entries in presence.items() if entries}

    def _mark_status(self, user_id: str) -> None:
        self._status_dirty.add(user_id)
        self._status_wakeup.set()

    async def _status_loop(self) -> None:
        # Changes that pile up while one batch is looked up go out together in the next.
        while True:
            await self._status_wakeup.wait()
            self._status_wakeup = trio.Event()
            users = sorted(self._status_dirty)
            self._status_dirty.clear()
            try:
                online = await self.online_platforms(users)
            except BusUnavailable as exc:
                log.warning("status.lookup_failed", users=len(users), error=str(exc.__cause__ or exc))
                continue
            payloads: list[bytes] = []
            for user_id in users:
                platforms = tuple(online.get(user_id, ()))
                self._deliver_status(user_id, platforms)
                payloads.append(StatusChange(user_id, platforms).encode())
            await self._peers.publish(payloads)

    def _deliver_status(self, user_id: str, platform_ids: Sequence[int]) -> None:
        watchers = self._local.watchers(user_id)
        if not watchers:
            return
        frame = status_push_frame(user_id, platform_ids)  # once for all watchers (and once per codec)
        encoded: dict[FrameCodec, bytes] = {}
        written = sum(1 for w in watchers if w.push(frame_for(w.codec, frame, encoded)))
        if written:
            self._metrics.pushes.inc(written)

