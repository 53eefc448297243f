"""``/admin/api/*``: what the operators' console needs beyond the OpenIM routes.

The console does most of its work through the OpenIM routes themselves (``/user/get_users``,
``/group/get_groups``, ``/group/dismiss_group``, ...) with an admin token. What OpenIM has no route for
lives here, under the same conventions: the token in the ``token`` header, an answer in the
``{errCode, errMsg, errDlt, data}`` envelope with HTTP 200:

* ``POST login`` ``{secret}``: an admin token for the first configured admin user (the console's login);
* ``GET dashboard``: this process's figures, the node registry and the build, polled by the dashboard;
* ``GET nodes``: the node registry with a health verdict per node;
* ``GET config``: the effective config with secrets masked;
* ``GET warnings``: what the config review warned of when this process started (the example secret, ...):
  one line each, shown as a banner above every page until the config is fixed and the server restarted;
* ``POST users/block`` ``{userID, reason}``, ``users/unblock`` ``{userID}``, ``users/blocks`` ``{userIDs}``:
  bans (a banned user gets no token, and is logged out everywhere when banned);
* ``POST users/force_logout`` ``{userID}``: end the user's sessions on every platform at once;
* ``GET webhooks/dead_letters``: the oldest after-callbacks whose attempts ran out (hook, operationID,
  attempts, last error, body);
* ``POST webhooks/redrive`` ``{entryIDs?}``: queue those dead letters again (all of them without
  ``entryIDs``), attempts reset; answers ``{requeued: n}``.
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
from openim.config import masked_dict
from openim.console.figures import snapshot
from openim.console.registry import list_nodes
from openim.node import Node
from openim.ops.logging import get_log
from openim.service_set import Services
from openim.services.tokens import Claims
from openim.version import build_info
from openim.wire.constants import Platform
from openim.wire.errors import ErrCode, OpenIMError, args_error, error_envelope, ok_envelope

log = get_log("console")

PREFIX = "/admin/api"
MAX_BODY = 64 * 1024
MAX_BATCH = 1000
MAX_REASON = 500
MAX_DEAD_LETTERS = 100

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


class AdminApi:
    """The ``/admin/api`` handlers: each checks the body's shape and calls one service (or reads this
    process's figures and the node registry)."""

    def __init__(self, node: Node, services: Services) -> None:
        self._node = node
        self._tokens = services.tokens
        self._sessions = services.sessions
        self._console_admin = node.config.auth.admin_user_ids[0]
        self._webhooks = services.webhooks

    async def login(self, request: Request, _: Claims | None) -> dict[str, Any]:
        body = await read_json(request)
        secret = body.get("secret")
        # Guessing is throttled per address (openim.security), judged with the comparison in one step.
        ok = isinstance(secret, str) and hmac.compare_digest(secret.encode(), self._node.config.secret.encode())
        self._node.guards.check_admin_secret(client_ip(request), ok)
        token = await self._tokens.issue(self._console_admin, Platform.ADMIN)
        log.info("console.login", user_id=self._console_admin, client=client_ip(request))
        return {"token": token, "userID": self._console_admin, "expireTimeSeconds": self._tokens.expire_seconds}

    async def dashboard(self, _: Request, __: Claims | None) -> dict[str, Any]:
        info = build_info()
        return {
            "nodeID": self._node.node_id,
            "build": {"version": info.version, "commit": info.commit, "buildDate": info.build_date},
            "figures": snapshot(self._node.metrics),
            "nodes": await list_nodes(self._node),
        }

    async def nodes(self, _: Request, __: Claims | None) -> list[dict[str, Any]]:
        return await list_nodes(self._node)

    async def config(self, _: Request, __: Claims | None) -> dict[str, Any]:
        return masked_dict(self._node.config)

    async def warnings(self, _: Request, __: Claims | None) -> list[str]:
        return list(self._node.config_warnings)

    async def block(self, request: Request, claims: Claims | None) -> None:
        body = await read_json(request)
        user_id = _user_id(body)
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            raise args_error(f"reason must be a string of at most {MAX_REASON} characters")
        operator = claims.user_id if claims else ""
        await self._sessions.block(user_id, reason, operator)
        log.info("console.blocked", user_id=user_id, operator=operator)

    async def unblock(self, request: Request, claims: Claims | None) -> dict[str, bool]:
        user_id = _user_id(await read_json(request))
        lifted = await self._sessions.unblock(user_id)
        log.info("console.unblocked", user_id=user_id, operator=claims.user_id if claims else "", lifted=lifted)
        return {"lifted": lifted}

    async def blocks(self, request: Request, _: Claims | None) -> list[dict[str, Any]]:
        ids = (await read_json(request)).get("userIDs")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > MAX_BATCH:
            raise args_error(f"userIDs must be a list of at most {MAX_BATCH} strings")
        return [
            {"userID": b.user_id, "reason": b.reason, "operatorUserID": b.operator_user_id, "createTime": b.create_time}
            for b in await self._sessions.bans(ids)
        ]

    async def force_logout(self, request: Request, _: Claims | None) -> None:
        await self._sessions.force_logout(_user_id(await read_json(request)))


    async def dead_letters(self, _: Request, __: Claims | None) -> list[dict[str, Any]]:
        letters = await self._webhooks.dead_letters(limit=MAX_DEAD_LETTERS)
        return [
            {"entryID": e.entry_id, "hook": e.hook, "operationID": e.operation_id, "attempts": e.attempts,
             "lastError": e.last_error, "createTime": e.created_at, "body": e.body}
            for e in letters
        ]  # fmt: skip

    async def redrive(self, request: Request, claims: Claims | None) -> dict[str, int]:
        body = await read_json(request)
        ids = body.get("entryIDs")
        if ids is not None and (
            not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids) or len(ids) > MAX_BATCH
        ):
            raise args_error(f"entryIDs: expected up to {MAX_BATCH} entry ids (strings), or nothing for all")
        requeued = await self._webhooks.redrive(ids)
        log.info("console.webhooks_redrive", requeued=requeued, user_id=claims.user_id if claims else "")
        return {"requeued": requeued}


def admin_api_routes(node: Node, services: Services) -> list[Route]:
    h = AdminApi(node, services)

    def route(path: str, fn: Endpoint, method: str, *, admin: bool = True) -> Route:
        return Route(PREFIX + path, endpoint(fn, admin=admin, services=services), methods=[method])

    return [
        route("/login", h.login, "POST", admin=False),
        route("/dashboard", h.dashboard, "GET"),
        route("/nodes", h.nodes, "GET"),
        route("/config", h.config, "GET"),
        route("/warnings", h.warnings, "GET"),
        route("/users/block", h.block, "POST"),
        route("/users/unblock", h.unblock, "POST"),
        route("/users/blocks", h.blocks, "POST"),
        route("/users/force_logout", h.force_logout, "POST"),
        route("/webhooks/dead_letters", h.dead_letters, "GET"),
        route("/webhooks/redrive", h.redrive, "POST"),
    ]
