"""Who is online, as the /user status routes answer it, and the status subscriptions made over REST.

Online status comes from the bus presence map (connections the gateways registered). Status
subscriptions over REST (``subscribe_users_status``) are kept in this process's memory: the SDK
subscribes over WebSocket 2005 instead, so this list only serves admin tools talking to one API
process, and it is empty again after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from openim.bus.port import Bus, PresenceEntry
from openim.storage.messages.records import TokenState
from openim.storage.port import Store
from openim.wire.errors import args_error
from openim.wire.pb import msggateway_pb2, user_pb2

ONLINE: Final = 1
OFFLINE: Final = 0
MAX_SUBSCRIPTIONS: Final = 3000  # per subscriber: bounds the memory one user can make this process hold


class PresenceService:
    def __init__(self, bus: Bus, store: Store) -> None:
        self._bus = bus
        self._store = store
        self._subscriptions: dict[str, set[str]] = {}  # subscriber -> the users whose status he watches

    async def _live(self, user_ids: Sequence[str]) -> dict[str, list[PresenceEntry]]:
        return await self._bus.presence_get(list(user_ids)) if user_ids else {}

    async def status_list(self, user_ids: Sequence[str]) -> list[user_pb2.onlineStatus]:
        """One entry per user, in order: online with the platforms he is connected on, or offline."""
        live = await self._live(user_ids)
        out = []
        for uid in user_ids:
            platforms = sorted({e.platform_id for e in live.get(uid, [])})
            out.append(
                user_pb2.onlineStatus(userID=uid, status=ONLINE if platforms else OFFLINE, platformIDs=platforms)
            )
        return out

    async def online_status(self, user_ids: Sequence[str]) -> msggateway_pb2.GetUsersOnlineStatusResp:
        """One element per requested user. The connection's token and background flag are not part of
        the presence map, so ``token`` is "" and ``isBackground`` false."""
        live = await self._live(user_ids)
        resp = msggateway_pb2.GetUsersOnlineStatusResp()
        for uid in user_ids:
            conns = live.get(uid, [])
            item = resp.successResult.add(userID=uid, status=ONLINE if conns else OFFLINE)
            for e in conns:
                item.detailPlatformStatus.add(platformID=e.platform_id, connID=e.conn_id)
        return resp

    async def online_token_detail(self, user_ids: Sequence[str]) -> msggateway_pb2.GetUsersOnlineTokenDetailResp:
        """Online users only: per online platform, the tokens of that platform still in force."""
        live = await self._live(user_ids)
        resp = msggateway_pb2.GetUsersOnlineTokenDetailResp()
        for uid in user_ids:
            platforms = sorted({e.platform_id for e in live.get(uid, [])})
            if not platforms:
                continue
            item = resp.successResult.add(userID=uid, status=ONLINE)
            records = await self._store.list_tokens(uid)
            for platform in platforms:
                valid = [t.token for t in records if t.platform_id == platform and t.state == TokenState.NORMAL]
                item.singlePlatformToken.add(platformID=platform, token=valid, total=len(valid))
        return resp

    # -- subscriptions ------------------------------------------------------------------------------
    async def subscribe(self, subscriber: str, user_ids: Sequence[str], *, cancel: bool) -> list[user_pb2.onlineStatus]:
        """Watch (or, with ``cancel``, stop watching) these users; a subscription answers their status
        now, a cancellation nothing. At most MAX_SUBSCRIPTIONS per subscriber (1001 beyond)."""
        if cancel:
            watched = self._subscriptions.get(subscriber)
            if watched is not None:
                watched.difference_update(user_ids)
                if not watched:
                    del self._subscriptions[subscriber]
            return []
        watched = self._subscriptions.setdefault(subscriber, set())
        if len(watched | set(user_ids)) > MAX_SUBSCRIPTIONS:
            raise args_error(f"at most {MAX_SUBSCRIPTIONS} subscriptions per user")
        watched.update(user_ids)
        return await self.status_list(user_ids)

    async def subscribed_status(self, subscriber: str) -> list[user_pb2.onlineStatus]:
        """The status of everyone ``subscriber`` watches, by userID."""
        return await self.status_list(sorted(self._subscriptions.get(subscriber, ())))
