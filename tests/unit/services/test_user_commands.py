"""UserCommandService and NotificationAccountService on the embedded store: which change is announced
with which notification (and which is not), the codes of a taken or missing entry, and the system
accounts' rules (levels, generated IDs, updates of system accounts only)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio

from openim.config import Config
from openim.internode.inbox import NodeInbox
from openim.ops.metrics import Metrics
from openim.services import notification_accounts
from openim.services.notification_accounts import NotificationAccountService, generated_user_id
from openim.services.user_commands import UserCommandService
from openim.services.users import UserService
from openim.storage.commands.records import UserCommandPatch
from openim.storage.messages.records import UserRecord
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode, OpenIMError
from tests.unit.pipeline.send_rig import open_store_and_bus, running_send_path

pytestmark = pytest.mark.trio

NODE = "node-c"


@dataclass
class FakeNotifier:
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def notify(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)

    def take(self) -> list[tuple[int, str, str, str, str]]:
        """(contentType, sendID, recvID, tips, operationID) of everything sent; then forget."""
        out = [
            (n["content_type"], n["send_id"], n["recv_id"], f"{n['tips'].fromUserID}>{n['tips'].toUserID}",
             n["operation_id"])
            for n in self.sent
        ]
        self.sent.clear()
        return out


@dataclass
class World:
    store: SqliteStore
    users: UserService
    commands: UserCommandService
    accounts: NotificationAccountService
    notifier: FakeNotifier


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    cfg = Config()
    async with open_store_and_bus(tmp_path / "c.db") as (store, bus), trio.open_nursery() as nursery:
        await store.insert_users([UserRecord("alice", "Alice", create_time=1), UserRecord("bob", "Bob", create_time=2)])
        inbox = NodeInbox(bus, NODE)
        await nursery.start(inbox.serve)
        async with running_send_path(
            "memory", store=store, bus=bus, inbox=inbox, node_id=NODE, messaging=cfg.messaging,
            metrics=Metrics(NODE, ("all",)),
        ) as path:
            notifier = FakeNotifier()
            users = UserService(store, cfg.auth, path.send)
            commands = UserCommandService(store, users, notifier)  # type: ignore[arg-type]
            yield World(store, users, commands, NotificationAccountService(store, users), notifier)
        nursery.cancel_scope.cancel()


async def code_of(coro: Any) -> int:
    with pytest.raises(OpenIMError) as caught:
        await coro
    return int(caught.value.code)


# -- command lists ------------------------------------------------------------------------------------------


async def test_each_change_is_announced_to_the_user_himself(world: World) -> None:
    c = world.commands
    await c.add("alice", 1, "x", "v", "", operation_id="op-add")
    await c.update("alice", 1, "x", UserCommandPatch(value="w"), operation_id="op-upd")
    await c.delete("alice", 1, "x", operation_id="op-del")
    assert world.notifier.take() == [
        (ContentType.USER_COMMAND_ADD, "alice", "alice", "alice>alice", "op-add"),
        (ContentType.USER_COMMAND_UPDATE, "alice", "alice", "alice>alice", "op-upd"),
        (ContentType.USER_COMMAND_DELETE, "alice", "alice", "alice>alice", "op-del"),
    ]


async def test_refused_changes_change_nothing_and_announce_nothing(world: World) -> None:
    c = world.commands
    await c.add("alice", 1, "x", "v", "e", operation_id="op")
    world.notifier.take()
    assert await code_of(c.add("alice", 1, "x", "other", "", operation_id="op")) == ErrCode.DUPLICATE_KEY
    assert await code_of(c.update("alice", 1, "y", UserCommandPatch(value="w"), operation_id="op")) == (
        ErrCode.RECORD_NOT_FOUND
    )
    assert await code_of(c.delete("bob", 1, "x", operation_id="op")) == ErrCode.RECORD_NOT_FOUND
    assert await code_of(c.add("nobody", 1, "x", "", "", operation_id="op")) == ErrCode.RECORD_NOT_FOUND
    assert await code_of(c.add("alice", 1, "", "", "", operation_id="op")) == ErrCode.ARGS
    assert await code_of(c.add("alice", 1, "z", "v" * 4097, "", operation_id="op")) == ErrCode.ARGS
    for value, ex in (("a\x00", ""), ("", "\x00")):  # PostgreSQL cannot store U+0000: refused on both backends
        assert await code_of(c.add("alice", 1, "z", value, ex, operation_id="op")) == ErrCode.ARGS
    assert await code_of(c.delete("alice", 1, "x\x00", operation_id="op")) == ErrCode.ARGS
    assert await code_of(c.update("alice", 1, "x", UserCommandPatch(ex="e" * 4097), operation_id="op")) == ErrCode.ARGS
    # an update that sets nothing checks the entry exists and tells nobody
    await c.update("alice", 1, "x", UserCommandPatch(), operation_id="op")
    assert world.notifier.take() == []
    assert [(e.value, e.ex) for e in await c.all("alice")] == [("v", "e")]


# -- notification accounts ------------------------------------------------------------------------------------


async def test_generated_user_ids_have_openims_format() -> None:
    ids = {generated_user_id() for _ in range(200)}
    assert all(re.fullmatch(r"[1-9][0-9]{9}", i) for i in ids), ids
    assert len(ids) > 190  # random, not a counter


async def test_accounts_levels_ids_and_updates(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    a = world.accounts
    made = await a.add("", "Notices", "", 3)
    assert re.fullmatch(r"[1-9][0-9]{9}", made.user_id) and made.app_manager_level == 3
    assert (await world.users.get_one(made.user_id)).nickname == "Notices"
    for level in (0, 1, 2, 5):
        assert await code_of(a.add("", "x", "", level)) == ErrCode.ARGS
    assert await code_of(a.add("alice", "x", "", 3)) == ErrCode.ARGS  # used
    # every generated ID taken: a clear server error, not a silent duplicate
    monkeypatch.setattr(notification_accounts, "generated_user_id", lambda: made.user_id)
    assert await code_of(a.add("", "x", "", 3)) == ErrCode.SERVER_INTERNAL

    await a.update(made.user_id, "News", "")
    after = await world.users.get_one(made.user_id)
    assert (after.nickname, after.app_manager_level) == ("News", 3)
    assert await code_of(a.update("alice", "x", "")) == ErrCode.ARGS  # not a system account
    assert (await world.users.get_one("alice")).nickname == "Alice"

    total, found = await a.search("News", None, offset=0, limit=10)
    assert (total, [u.user_id for u in found]) == (1, [made.user_id])
    assert await a.search("alice", None, offset=0, limit=10) == (0, [])
