"""Logins and their end: who may get an admin or a user token, forced logouts, and the operators' bans.

The token mechanics (issuing, verifying, the multi-login policy, kicked states) are TokenService's; this
service holds the rules around them (/auth/get_admin_token, get_user_token, force_logout, and the web
console's bans) and tells the gateways which live sessions end: a kick is published to every gateway
process (kicks are rare, so a broadcast is fine, unlike message pushes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from openim.bus.port import Bus
from openim.clock import now_ms
from openim.internode.payloads import Kick
from openim.internode.peers import module_nodes
from openim.security.guards import Guards
from openim.services.tokens import TokenService
from openim.services.users import UserService
from openim.storage.messages.records import BanRecord
from openim.storage.port import Store
from openim.wire.constants import Platform
from openim.wire.errors import ErrCode, OpenIMError, args_error

APP_NOTIFICATION_LEVEL: Final = 3  # notification/robot accounts never get user tokens
USER_PLATFORMS: Final = tuple(int(p) for p in Platform if p != Platform.ADMIN)


class SessionService:
    def __init__(
        self,
        tokens: TokenService,
        users: UserService,
        store: Store,
        bus: Bus,
        guards: Guards,
        *,
        node_id: str,
        local_gateway: bool,
    ) -> None:
        self._tokens = tokens
        self._users = users
        self._store = store
        self._bus = bus
        self._guards = guards
        self._node_id = node_id
        self._local_gateway = local_gateway  # this process runs a gateway: its kicks go to itself too

    async def admin_token(self, user_id: str) -> str:
        """A token for a configured admin account (the caller has proved the secret)."""
        if not self._tokens.is_admin(user_id):
            raise args_error(f"userID {user_id} is not an admin user")
        await self._users.get_one(user_id)
        return await self._tokens.issue(user_id, Platform.ADMIN)

    async def user_token(self, user_id: str, platform_id: int) -> str:
        """A user's token for a valid user platform: not for admins, nor for notification and robot
        accounts; logins are rate-limited per user (openim.security)."""
        if self._tokens.is_admin(user_id):
            raise OpenIMError(ErrCode.NO_PERMISSION, "don't get Admin token")
        user = await self._users.get_one(user_id)
        if user.app_manager_level >= APP_NOTIFICATION_LEVEL:
            raise args_error("notification and robot accounts cannot log in")
        self._guards.check_login(user_id)
        return await self.issue_user_token(user_id, platform_id)

    async def issue_user_token(self, user_id: str, platform_id: int) -> str:
        """Issue the token; sessions the multi-login policy just retired are told so now, not at their
        next reconnect."""
        token = await self._tokens.issue(user_id, platform_id)
        kicked = self._tokens.platforms_to_kick(user_id, platform_id)
        if kicked:
            issued = self._tokens.issued_ms(token)
            await self._broadcast(Kick(user_id, tuple(kicked), except_token=token, issued_before_ms=issued))
        return token

    async def force_logout(self, user_id: str, platform_ids: Sequence[int] = USER_PLATFORMS) -> None:
        """End an existing user's sessions on these platforms (every user platform by default)."""
        await self._users.get_one(user_id)
        await self._logout(user_id, platform_ids)

    async def _logout(self, user_id: str, platform_ids: Sequence[int]) -> None:
        await self._tokens.kick(user_id, platform_ids)
        await self._broadcast(Kick(user_id, tuple(platform_ids)))

    async def _broadcast(self, kick: Kick) -> None:
        """Tell every gateway process (the registry's, and this one when it runs a gateway)."""
        payload = kick.encode()
        targets = set(await module_nodes(self._bus, "gateway"))
        if self._local_gateway:
            targets.add(self._node_id)
        for target in targets:
            await self._bus.publish(target, [payload])

    # -- bans (web console) -------------------------------------------------------------------------
    async def block(self, user_id: str, reason: str, operator: str) -> None:
        """Ban an existing user (never an app admin) and log him out everywhere: a banned user gets no
        token (TokenService.issue)."""
        if self._tokens.is_admin(user_id):
            raise OpenIMError(ErrCode.NO_PERMISSION, "an app admin cannot be blocked")
        await self._users.get_one(user_id)
        await self._store.save_ban(BanRecord(user_id, reason, operator, now_ms()))
        await self._logout(user_id, USER_PLATFORMS)

    async def unblock(self, user_id: str) -> bool:
        """Lift a ban; False if there was none."""
        return await self._store.delete_ban(user_id)

    async def bans(self, user_ids: Sequence[str]) -> list[BanRecord]:
        """The bans among ``user_ids``, in request order."""
        return await self._store.get_bans(user_ids)
