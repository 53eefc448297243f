"""Set-up of a benchmark over the REST API: users, tokens, the group. Not measured as load.

The REST calls are the ones an operator's back end makes: an admin token from the
secret, ``/user/user_register`` in chunks, one ``/auth/get_user_token`` per user (the API has no bulk
form, so thousands of them run concurrently through a bounded pool), and ``/group/create_group`` for
the group workload. Every user of a run gets a fresh prefix, so runs against one server never collide.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import trio

__all__ = ["ADMIN_USER_ID", "ProvisionError", "Provisioned", "provision"]

ADMIN_USER_ID = "imAdmin"
REGISTER_CHUNK = 1000
_TIMEOUT = httpx.Timeout(30.0)


class ProvisionError(Exception):
    """A set-up call failed; the message names the route and the server's answer."""


@dataclass(frozen=True, slots=True)
class Provisioned:
    user_ids: tuple[str, ...]
    tokens: tuple[str, ...]
    group_id: str
    token_seconds: float  # wall time spent issuing the user tokens


async def _call(client: httpx.AsyncClient, path: str, body: Any, token: str = "") -> Any:
    headers = {"operationID": f"bench-{time.time_ns()}"}
    if token:
        headers["token"] = token
    try:
        resp = await client.post(path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ProvisionError(f"{path}: {type(exc).__name__}: {exc}") from exc
    if resp.status_code != 200:
        raise ProvisionError(f"{path}: HTTP {resp.status_code}: {resp.text[:300]}")
    try:
        env = resp.json()
    except ValueError as exc:
        raise ProvisionError(f"{path}: not JSON: {resp.text[:300]}") from exc
    if env.get("errCode") != 0:
        raise ProvisionError(f"{path}: errCode {env.get('errCode')} {env.get('errMsg')} {env.get('errDlt', '')}")
    return env.get("data")


async def _register(client: httpx.AsyncClient, admin: str, user_ids: Sequence[str]) -> None:
    for start in range(0, len(user_ids), REGISTER_CHUNK):
        chunk = user_ids[start : start + REGISTER_CHUNK]
        users = [{"userID": uid, "nickname": uid, "faceURL": ""} for uid in chunk]
        await _call(client, "/user/user_register", {"users": users}, admin)


async def _tokens(client: httpx.AsyncClient, admin: str, user_ids: Sequence[str], pool: int) -> list[str]:
    tokens = [""] * len(user_ids)
    limiter = trio.Semaphore(pool)

    async def one(i: int) -> None:
        async with limiter:
            data = await _call(client, "/auth/get_user_token", {"userID": user_ids[i], "platformID": 5}, admin)
        tokens[i] = str(data["token"])

    async with trio.open_nursery() as nursery:
        for i in range(len(user_ids)):
            nursery.start_soon(one, i)
    return tokens


async def _create_group(client: httpx.AsyncClient, admin: str, user_ids: Sequence[str], name: str) -> str:
    body = {
        "ownerUserID": user_ids[0],
        "memberUserIDs": list(user_ids[1:]),
        "adminUserIDs": [],
        "groupInfo": {"groupName": name, "groupType": 2},
    }
    data = await _call(client, "/group/create_group", body, admin)
    try:
        return str(data["groupInfo"]["groupID"])
    except (TypeError, KeyError) as exc:
        raise ProvisionError(f"/group/create_group: no groupInfo.groupID in {data!r:.300}") from exc


async def _provision(api_url: str, secret: str, n_users: int, prefix: str, group: bool, pool: int) -> Provisioned:
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    async with httpx.AsyncClient(base_url=api_url, timeout=_TIMEOUT, limits=limits) as client:
        data = await _call(client, "/auth/get_admin_token", {"secret": secret, "userID": ADMIN_USER_ID})
        admin = str(data["token"])
        user_ids = [f"{prefix}{i}" for i in range(n_users)]
        await _register(client, admin, user_ids)
        group_id = await _create_group(client, admin, user_ids, f"{prefix}group") if group else ""
        started = time.monotonic()
        tokens = await _tokens(client, admin, user_ids, pool)
        token_seconds = time.monotonic() - started
    return Provisioned(tuple(user_ids), tuple(tokens), group_id, token_seconds)


def provision(api_url: str, secret: str, n_users: int, prefix: str, *, group: bool, pool: int = 32) -> Provisioned:
    """Register ``n_users`` users named ``prefix0..``, create the group if asked, issue every token."""
    return trio.run(_provision, api_url.rstrip("/"), secret, n_users, prefix, group, pool)
