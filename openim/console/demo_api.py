"""``/demo/api/login``: the demo client's way in, as a business backend would do it for its app.

An OpenIM app gets its users' tokens from its own backend, which holds the admin credentials. The demo
has no backend, so this endpoint plays that part for it: given the server secret (the demo is a tool for
the operator accepting a deployment), it registers the user if new and issues a Web token. Doing it here
rather than in the page keeps an admin token out of the browser, and does not mint admin tokens (each new
one retires the older ones after a grace period, which would end an open console session).
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from openim.api.framework import client_ip
from openim.console.admin_api import endpoint, read_json
from openim.node import Node
from openim.ops.logging import get_log
from openim.service_set import Services
from openim.services.tokens import Claims
from openim.services.users import MAX_NICKNAME_LEN, check_user_id
from openim.storage.messages.records import UserRecord
from openim.wire.constants import Platform
from openim.wire.errors import ErrCode, OpenIMError, args_error

log = get_log("console")

NORMAL_LEVELS = (0, 1)  # app_manager_level of ordinary users: admins and notification accounts stay out


def demo_api_routes(node: Node, services: Services) -> list[Route]:
    tokens, users = services.tokens, services.users

    async def login(request: Request, _: Claims | None) -> dict[str, Any]:
        body = await read_json(request)
        secret, user_id, nickname = body.get("secret"), body.get("userID"), body.get("nickname") or body.get("userID")
        ok = isinstance(secret, str) and hmac.compare_digest(secret.encode(), node.config.secret.encode())
        node.guards.check_admin_secret(client_ip(request), ok)  # throttled per address (openim.security)
        if not isinstance(user_id, str) or not isinstance(nickname, str) or len(nickname) > MAX_NICKNAME_LEN:
            raise args_error("userID and nickname must be strings")
        check_user_id(user_id)
        node.guards.check_login(user_id)
        found = await users.get([user_id])
        if not found:
            await users.register([UserRecord(user_id, nickname)])
        elif found[0].app_manager_level not in NORMAL_LEVELS or tokens.is_admin(user_id):
            raise OpenIMError(ErrCode.NO_PERMISSION, f"{user_id} is not an ordinary user")
        # Sessions the multi-login policy retires are told so at once, as /auth/get_user_token does.
        token = await services.sessions.issue_user_token(user_id, Platform.WEB)
        log.info("demo.login", user_id=user_id, registered=not found)
        return {"userID": user_id, "nickname": found[0].nickname if found else nickname, "token": token}

    return [Route("/demo/api/login", endpoint(login, admin=False, services=services), methods=["POST"])]
