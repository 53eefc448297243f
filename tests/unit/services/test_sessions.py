"""SessionService on the embedded store and the memory bus, with the real TokenService and guards: who
gets an admin or a user token, which gateway processes hear of a kick, forced logouts and bans."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from openim.bus.memory import MemoryBus
from openim.bus.port import NodeInfo
from openim.config import AuthConfig, Config, SecurityConfig
from openim.internode.payloads import Kick
from openim.ops.metrics import Metrics
from openim.security.guards import Guards
from openim.services.sessions import USER_PLATFORMS, SessionService
from openim.services.tokens import TokenService
from openim.services.users import UserService
from openim.storage.messages.records import UserRecord
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.constants import Platform
from openim.wire.errors import ErrCode, OpenIMError
from tests.unit.pipeline.send_rig import open_store_and_bus

pytestmark = pytest.mark.trio

SECRET = "sessions-test-secret-0123456789"
NODE = "api-1"


@dataclass
class World:
    store: SqliteStore
    bus: MemoryBus
    tokens: TokenService
    sessions: SessionService
    heard: dict[str, Any]  # node_id -> its subscription on the bus

    def service(self, *, local_gateway: bool) -> SessionService:
        users = UserService(self.store, AuthConfig(), object())  # type: ignore[arg-type]  # no profile writes
        guards = Guards(Config(security=SecurityConfig(login_burst_user=2, login_rate_user=0.001)), Metrics(NODE, ()))
        return SessionService(
            self.tokens, users, self.store, self.bus, guards, node_id=NODE, local_gateway=local_gateway
        )

    async def kicks(self, node_id: str) -> list[Kick]:
        """The kicks published to ``node_id`` so far (each is in its buffer already when publish returns)."""
        found: list[Kick] = []
        with trio.move_on_after(0.05):
            async for payload in self.heard[node_id]:
                found.append(Kick.decode(payload[1:]))
        return found


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_store_and_bus(tmp_path / "s.db") as (store, bus), AsyncExitStack() as stack:
        await store.insert_users(
            [UserRecord("imAdmin", "Admin", app_manager_level=2), UserRecord("alice", "Alice"),
             UserRecord("robot", "Robot", app_manager_level=3)]
        )  # fmt: skip
        await bus.register_node(NodeInfo("gw-1", ("gateway",)), ttl_s=60)
        await bus.register_node(NodeInfo("push-1", ("push",)), ttl_s=60)
        heard = {n: await stack.enter_async_context(bus.subscribe(n)) for n in ("gw-1", "push-1", NODE)}
        world = World(store, bus, TokenService(SECRET, AuthConfig(), store, bus), None, heard)  # type: ignore[arg-type]
        world.sessions = world.service(local_gateway=False)
        yield world


async def code_of(coro: Any) -> int:
    with pytest.raises(OpenIMError) as caught:
        await coro
    return int(caught.value.code)


async def test_admin_tokens_are_for_configured_admins_only(world: World) -> None:
    claims = await world.tokens.verify(await world.sessions.admin_token("imAdmin"))
    assert (claims.user_id, claims.platform_id) == ("imAdmin", Platform.ADMIN)
    assert await code_of(world.sessions.admin_token("alice")) == ErrCode.ARGS


async def test_user_tokens_refuse_admins_robots_unknown_users_and_too_many_logins(world: World) -> None:
    assert await code_of(world.sessions.user_token("imAdmin", Platform.WEB)) == ErrCode.NO_PERMISSION
    assert await code_of(world.sessions.user_token("robot", Platform.WEB)) == ErrCode.ARGS
    assert await code_of(world.sessions.user_token("ghost", Platform.WEB)) == ErrCode.RECORD_NOT_FOUND
    claims = await world.tokens.verify(await world.sessions.user_token("alice", Platform.IOS))
    assert (claims.user_id, claims.platform_id) == ("alice", Platform.IOS)
    await world.sessions.user_token("alice", Platform.IOS)
    assert await code_of(world.sessions.user_token("alice", Platform.IOS)) == ErrCode.NO_PERMISSION  # rate


async def test_a_login_that_retires_sessions_tells_the_gateways(world: World) -> None:
    first = await world.sessions.issue_user_token("alice", Platform.WEB)
    second = await world.sessions.issue_user_token("alice", Platform.WEB)  # policy 1: same platform kicks
    [_, kick] = await world.kicks("gw-1")  # each login kicks what came before it on its platform
    assert (kick.user_id, kick.platform_ids, kick.except_token) == ("alice", (Platform.WEB,), second)
    assert kick.issued_before_ms == world.tokens.issued_ms(second) > world.tokens.issued_ms(first)
    assert await world.kicks("push-1") == [] and await world.kicks(NODE) == []  # not gateways
    assert await code_of(world.tokens.verify(first)) == ErrCode.TOKEN_KICKED


async def test_force_logout_ends_the_sessions_and_a_gateway_here_hears_it_too(world: World) -> None:
    token = await world.sessions.issue_user_token("alice", Platform.ANDROID)
    await world.kicks("gw-1")  # the login's own
    here = world.service(local_gateway=True)
    await here.force_logout("alice", (Platform.ANDROID,))
    assert await code_of(world.tokens.verify(token)) == ErrCode.TOKEN_KICKED
    for node_id in ("gw-1", NODE):
        assert [(k.user_id, k.platform_ids) for k in await world.kicks(node_id)] == [("alice", (Platform.ANDROID,))]
    assert await code_of(here.force_logout("ghost")) == ErrCode.RECORD_NOT_FOUND


async def test_bans_log_out_everywhere_and_stop_new_tokens(world: World) -> None:
    token = await world.sessions.issue_user_token("alice", Platform.OSX)
    await world.kicks("gw-1")  # the login's own
    assert await code_of(world.sessions.block("imAdmin", "no", "imAdmin")) == ErrCode.NO_PERMISSION
    assert await code_of(world.sessions.block("ghost", "no", "imAdmin")) == ErrCode.RECORD_NOT_FOUND
    await world.sessions.block("alice", "spam", "imAdmin")
    assert await code_of(world.tokens.verify(token)) == ErrCode.TOKEN_KICKED
    assert [(k.user_id, k.platform_ids) for k in await world.kicks("gw-1")] == [("alice", USER_PLATFORMS)]
    assert await code_of(world.sessions.issue_user_token("alice", Platform.WEB)) == ErrCode.NO_PERMISSION
    [ban] = await world.sessions.bans(["bob", "alice"])
    assert (ban.user_id, ban.reason, ban.operator_user_id) == ("alice", "spam", "imAdmin")
    assert await world.sessions.unblock("alice") is True
    assert await world.sessions.unblock("alice") is False
    assert await world.sessions.bans(["alice"]) == []
    await world.sessions.issue_user_token("alice", Platform.WEB)
