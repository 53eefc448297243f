"""``/admin/api/*``: what the operators' console needs beyond the OpenIM routes.

The console does most of its work through the OpenIM routes themselves (``/user/get_users``,
``/group/get_groups``, ``/group/dismiss_group``, ...) with an admin token. What OpenIM has no route for
lives here, under the same conventions: the token in the ``token`` header, an answer in the
``{errCode, errMsg, errDlt, data}`` envelope with HTTP 200:

* ``POST login`` ``{secret}``: an admin token for the first configured admin user (the console's login);
* ``GET dashboard``: this process's figures, the node registry and the build, polled by the dashboard;
* ``GET nodes``: the node registry with a health verdict per node;
* ``GET config``: the effective config with secrets masked;
* ``POST users/block`` ``{userID, reason}``, ``users/unblock`` ``{userID}``, ``users/blocks`` ``{userIDs}``:
  bans (a banned user gets no token, and is logged out everywhere when banned);
* ``POST users/force_logout`` ``{userID}``: end the user's sessions on every platform at once.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from openim.api.framework import client_ip, json_response
from openim.api.routes.auth import broadcast_kick
from openim.clock import now_ms
from openim.config import masked_dict
from openim.console.figures import snapshot
from openim.internode.payloads import Kick
from openim.node import Node
from openim.ops.logging import get_log
from openim.service_set import Services
from openim.services.tokens import Claims
from openim.storage.messages.records import BanRecord
from openim.version import build_info
from openim.wire.constants import Platform
from openim.wire.errors import ErrCode, OpenIMError, args_error, error_envelope, ok_envelope

log = get_log("console")

PREFIX = "/admin/api"
MAX_BODY = 64 * 1024
MAX_BATCH = 1000
MAX_REASON = 500
# The registry heartbeat runs every NODE_TTL_S / 3 (5 s); a node silent for longer than two beats is late,
# and one silent for NODE_TTL_S has left the registry.
HEALTHY_HEARTBEAT_AGE_MS = 11_000
USER_PLATFORMS = tuple(int(p) for p in Platform if p != Platform.ADMIN)

Endpoint = Callable[[Request, Claims | None], Awaitable[Any]]


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, at most MAX_BODY bytes (1001 otherwise)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise args_error(f"body larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise args_error(f"body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise args_error("body must be a JSON object")
    return body


def _user_id(body: dict[str, Any]) -> str:
    value = body.get("userID")
    if not isinstance(value, str) or not value:
        raise args_error("userID must be a non-empty string")
    return value


def endpoint(fn: Endpoint, *, admin: bool, services: Services) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``fn`` in the envelope conventions; ``admin`` routes need an app admin's token."""

    async def wrapped(request: Request) -> Response:
        try:
            claims: Claims | None = None
            if admin:
                claims = await services.tokens.verify(request.headers.get("token", ""))
                if not services.tokens.is_admin(claims.user_id):
                    raise OpenIMError(ErrCode.NO_PERMISSION, "only an app admin may use the console")
            data = await fn(request, claims)
            return json_response(ok_envelope(data, has_data=data is not None))
        except ClientDisconnect:
            log.debug("console.client_gone", path=request.url.path)
            return Response(status_code=400)
        except OpenIMError as err:
            return json_response(error_envelope(err))
        except Exception:  # the edge: a bug becomes errCode 500, logged once, never a crash
            log.error("console.unhandled", path=request.url.path, exc_info=True)
            return json_response(error_envelope(ErrCode.SERVER_INTERNAL, "internal error"))

    return wrapped


def admin_api_routes(node: Node, services: Services) -> list[Route]:
    tokens, users, store = services.tokens, services.users, node.store
    console_admin = node.config.auth.admin_user_ids[0]

    async def login(request: Request, _: Claims | None) -> dict[str, Any]:
        body = await read_json(request)
        secret = body.get("secret")
        # Guessing is throttled per address (openim.security), judged with the comparison in one step.
        ok = isinstance(secret, str) and hmac.compare_digest(secret.encode(), node.config.secret.encode())
        node.guards.check_admin_secret(client_ip(request), ok)
        token = await tokens.issue(console_admin, Platform.ADMIN)
        log.info("console.login", user_id=console_admin, client=request.client.host if request.client else "")
        return {"token": token, "userID": console_admin, "expireTimeSeconds": tokens.expire_seconds}

    async def list_nodes() -> list[dict[str, Any]]:
        now = now_ms()
        found: list[dict[str, Any]] = []
        for info in await node.bus.list_nodes():
            age = max(0, now - info.heartbeat_at) if info.heartbeat_at else None
            own = info.node_id == node.node_id
            found.append({
                "nodeID": info.node_id,
                "modules": list(info.modules),
                "addresses": dict(info.addresses),
                "startedAt": info.started_at,
                "heartbeatAt": info.heartbeat_at,
                "heartbeatAgeMs": age,
                # This process's own count is live; the others' come with their last heartbeat.
                "connections": node.connections if own else info.connections,
                "health": "up" if age is not None and age <= HEALTHY_HEARTBEAT_AGE_MS else "late",
                "self": own,
            })
        if not any(n["self"] for n in found):
            found.append({
                "nodeID": node.node_id, "modules": list(node.modules), "addresses": dict(node.addresses),
                "startedAt": 0, "heartbeatAt": 0, "heartbeatAgeMs": None, "connections": node.connections,
                "health": "unregistered", "self": True,
            })
        return found

    async def dashboard(_: Request, __: Claims | None) -> dict[str, Any]:
        info = build_info()
        return {
            "nodeID": node.node_id,
            "build": {"version": info.version, "commit": info.commit, "buildDate": info.build_date},
            "figures": snapshot(node.metrics),
            "nodes": await list_nodes(),
        }

    async def nodes(_: Request, __: Claims | None) -> list[dict[str, Any]]:
        return await list_nodes()

    async def config(_: Request, __: Claims | None) -> dict[str, Any]:
        return masked_dict(node.config)

    async def logout_everywhere(user_id: str) -> None:
        await tokens.kick(user_id, USER_PLATFORMS)
        await broadcast_kick(node, Kick(user_id, USER_PLATFORMS))

    async def block(request: Request, claims: Claims | None) -> None:
        body = await read_json(request)
        user_id = _user_id(body)
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            raise args_error(f"reason must be a string of at most {MAX_REASON} characters")
        if tokens.is_admin(user_id):
            raise OpenIMError(ErrCode.NO_PERMISSION, "an app admin cannot be blocked")
        await users.get_one(user_id)
        operator = claims.user_id if claims else ""
        await store.save_ban(BanRecord(user_id, reason, operator, now_ms()))
        await logout_everywhere(user_id)
        log.info("console.blocked", user_id=user_id, operator=operator)

    async def unblock(request: Request, claims: Claims | None) -> dict[str, bool]:
        user_id = _user_id(await read_json(request))
        lifted = await store.delete_ban(user_id)
        log.info("console.unblocked", user_id=user_id, operator=claims.user_id if claims else "", lifted=lifted)
        return {"lifted": lifted}

    async def blocks(request: Request, _: Claims | None) -> list[dict[str, Any]]:
        ids = (await read_json(request)).get("userIDs")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > MAX_BATCH:
            raise args_error(f"userIDs must be a list of at most {MAX_BATCH} strings")
        return [
            {"userID": b.user_id, "reason": b.reason, "operatorUserID": b.operator_user_id,
             "createTime": b.create_time}
            for b in await store.get_bans(ids)
        ]

    async def force_logout(request: Request, _: Claims | None) -> None:
        user_id = _user_id(await read_json(request))
        await users.get_one(user_id)
        await logout_everywhere(user_id)

    def route(path: str, fn: Endpoint, method: str, *, admin: bool = True) -> Route:
        return Route(PREFIX + path, endpoint(fn, admin=admin, services=services), methods=[method])

    return [
        route("/login", login, "POST", admin=False),
        route("/dashboard", dashboard, "GET"),
        route("/nodes", nodes, "GET"),
        route("/config", config, "GET"),
        route("/users/block", block, "POST"),
        route("/users/unblock", unblock, "POST"),
        route("/users/blocks", blocks, "POST"),
        route("/users/force_logout", force_logout, "POST"),
    ]
