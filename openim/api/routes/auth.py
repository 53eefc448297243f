"""/auth/*: admin and user tokens, parsing, forced logout.

SessionService holds who may get which token and ends sessions; this module checks the request shape
and the admin secret (with its per-address throttle, openim.security).
"""

from __future__ import annotations

import hmac

from openim.api.framework import Auth, Caller, Router, RouteSpec, client_ip
from openim.node import Node
from openim.security.guards import Guards
from openim.service_set import Services
from openim.services.sessions import SessionService
from openim.services.tokens import TokenService
from openim.wire.constants import Platform, is_valid_platform
from openim.wire.errors import ErrCode, OpenIMError, args_error
from openim.wire.pb import auth_pb2 as pb


class AuthRoutes:
    """The /auth handlers, over SessionService and TokenService."""

    def __init__(self, sessions: SessionService, tokens: TokenService, guards: Guards, secret: str) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._guards = guards
        self._secret = secret.encode()

    async def admin_token(self, caller: Caller, req: pb.getAdminTokenReq) -> pb.getAdminTokenResp:
        # Compared and judged in one synchronous step: parallel guesses are throttled one by one.
        ok = hmac.compare_digest(req.secret.encode(), self._secret)
        self._guards.check_admin_secret(client_ip(caller.request), ok)
        token = await self._sessions.admin_token(req.userID)
        return pb.getAdminTokenResp(token=token, expireTimeSeconds=self._tokens.expire_seconds)

    async def user_token(self, caller: Caller, req: pb.getUserTokenReq) -> pb.getUserTokenResp:
        if not req.userID:
            raise args_error("userID is empty")
        if req.platformID == Platform.ADMIN:
            raise OpenIMError(ErrCode.NO_PERMISSION, "platformID 10 (Admin) is reserved for admin tokens")
        if not is_valid_platform(req.platformID):
            raise args_error(f"platformID {req.platformID} is invalid")
        token = await self._sessions.user_token(req.userID, req.platformID)
        return pb.getUserTokenResp(token=token, expireTimeSeconds=self._tokens.expire_seconds)

    async def parse_token(self, caller: Caller, req: pb.parseTokenReq) -> pb.parseTokenResp:
        if not req.token:
            raise args_error("token is empty")
        claims = await self._tokens.verify(req.token)
        return pb.parseTokenResp(
            userID=claims.user_id, platformID=claims.platform_id, expireTimeSeconds=claims.expire_at
        )

    async def force_logout(self, caller: Caller, req: pb.forceLogoutReq) -> None:
        if not 1 <= req.platformID <= int(Platform.ADMIN):
            raise args_error(f"platformID {req.platformID} is invalid")
        await self._sessions.force_logout(req.userID, (req.platformID,))


def register(router: Router, node: Node, services: Services) -> None:
    h = AuthRoutes(services.sessions, services.tokens, node.guards, node.config.secret)
    router.add(
        RouteSpec("/auth/get_admin_token", pb.getAdminTokenReq, pb.getAdminTokenResp, h.admin_token, auth=Auth.NONE),
        RouteSpec("/auth/get_user_token", pb.getUserTokenReq, pb.getUserTokenResp, h.user_token, auth=Auth.ADMIN),
        RouteSpec("/auth/parse_token", pb.parseTokenReq, pb.parseTokenResp, h.parse_token, auth=Auth.NONE),
        RouteSpec("/auth/force_logout", pb.forceLogoutReq, pb.forceLogoutResp, h.force_logout, auth=Auth.ADMIN),
    )
