"""/auth/*: admin and user tokens, parsing, forced logout."""

from __future__ import annotations

import hmac

from openim.api.framework import Auth, Caller, Router, client_ip
from openim.internode.payloads import Kick
from openim.node import Node
from openim.service_set import Services
from openim.wire.constants import Platform, is_valid_platform
from openim.wire.errors import ErrCode, OpenIMError, args_error
from openim.wire.pb import auth_pb2

APP_NOTIFICATION_LEVEL = 3  # notification/robot accounts never get user tokens


def register(router: Router, node: Node, services: Services) -> None:
    tokens, users = services.tokens, services.users

    async def admin_token(caller: Caller, req: auth_pb2.getAdminTokenReq) -> auth_pb2.getAdminTokenResp:
        # Compared and judged in one synchronous step: parallel guesses are throttled one by one.
        ok = hmac.compare_digest(req.secret.encode(), node.config.secret.encode())
        node.guards.check_admin_secret(client_ip(caller.request), ok)
        if not tokens.is_admin(req.userID):
            raise args_error(f"userID {req.userID} is not an admin user")
        await users.get_one(req.userID)
        token = await tokens.issue(req.userID, Platform.ADMIN)
        return auth_pb2.getAdminTokenResp(token=token, expireTimeSeconds=tokens.expire_seconds)

    router.route("/auth/get_admin_token", auth_pb2.getAdminTokenReq, auth_pb2.getAdminTokenResp, auth=Auth.NONE)(
        admin_token
    )

    @router.route("/auth/get_user_token", auth_pb2.getUserTokenReq, auth_pb2.getUserTokenResp, auth=Auth.ADMIN)
    async def user_token(caller: Caller, req: auth_pb2.getUserTokenReq) -> auth_pb2.getUserTokenResp:
        if not req.userID:
            raise args_error("userID is empty")
        if req.platformID == Platform.ADMIN:
            raise OpenIMError(ErrCode.NO_PERMISSION, "platformID 10 (Admin) is reserved for admin tokens")
        if not is_valid_platform(req.platformID):
            raise args_error(f"platformID {req.platformID} is invalid")
        if tokens.is_admin(req.userID):
            raise OpenIMError(ErrCode.NO_PERMISSION, "don't get Admin token")
        user = await users.get_one(req.userID)
        if user.app_manager_level >= APP_NOTIFICATION_LEVEL:
            raise args_error("notification and robot accounts cannot log in")
        node.guards.check_login(req.userID)  # per-user login rate (openim.security)
        token = await tokens.issue(req.userID, req.platformID)
        # Sessions the multi-login policy just retired are told so now, not at their next reconnect.
        kicked = tokens.platforms_to_kick(req.userID, req.platformID)
        if kicked:
            issued = tokens.issued_ms(token)
            await broadcast_kick(node, Kick(req.userID, tuple(kicked), except_token=token, issued_before_ms=issued))
        return auth_pb2.getUserTokenResp(token=token, expireTimeSeconds=tokens.expire_seconds)

    @router.route("/auth/parse_token", auth_pb2.parseTokenReq, auth_pb2.parseTokenResp, auth=Auth.NONE)
    async def parse_token(caller: Caller, req: auth_pb2.parseTokenReq) -> auth_pb2.parseTokenResp:
        if not req.token:
            raise args_error("token is empty")
        claims = await tokens.verify(req.token)
        return auth_pb2.parseTokenResp(
            userID=claims.user_id, platformID=claims.platform_id, expireTimeSeconds=claims.expire_at
        )

    @router.route("/auth/force_logout", auth_pb2.forceLogoutReq, auth_pb2.forceLogoutResp, auth=Auth.ADMIN)
    async def force_logout(caller: Caller, req: auth_pb2.forceLogoutReq) -> None:
        if not 1 <= req.platformID <= int(Platform.ADMIN):
            raise args_error(f"platformID {req.platformID} is invalid")
        await users.get_one(req.userID)
        await tokens.kick(req.userID, [req.platformID])
        await broadcast_kick(node, Kick(req.userID, (req.platformID,)))
        return None


async def broadcast_kick(node: Node, kick: Kick) -> None:
    """Tell every gateway node (kicks are rare: a broadcast is fine, unlike message pushes)."""
    payload = kick.encode()
    targets = {n.node_id for n in await node.bus.list_nodes() if "gateway" in n.modules}
    if "gateway" in node.modules:
        targets.add(node.node_id)
    for target in targets:
        await node.bus.publish(target, [payload])
