"""The world the group service's unit tests run in (conftest.py makes it the ``world`` fixture): the real
embedded store (SQLite in a temporary folder), the real user service over it, a notifier that records what
it is asked to send, and one group made by ``own`` with ``adm`` as admin and ``mem`` as ordinary member
(``out`` and ``new`` are registered but outside it)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from openim.config import AuthConfig
from openim.services.groups.access import Operator
from openim.services.groups.service import GroupService
from openim.services.users import UserService
from openim.storage.messages.records import UserRecord
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.errors import OpenIMError
from openim.wire.jsoncodec import message_to_json
from openim.wire.pb import group_pb2

USERS = ("own", "adm", "mem", "out", "new")


@dataclass
class FakeNotifier:
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def notify(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)

    def kinds(self) -> list[int]:
        return [int(s["content_type"]) for s in self.sent]

    def tips(self, content_type: int) -> dict[str, Any]:
        found = [s for s in self.sent if s["content_type"] == content_type]
        assert found, f"no {content_type} among {self.kinds()}"
        return message_to_json(found[-1]["tips"])

    def recipients(self, content_type: int) -> list[str]:
        return [str(s["recv_id"]) for s in self.sent if s["content_type"] == content_type]


@dataclass
class World:
    store: SqliteStore
    groups: GroupService
    notifier: FakeNotifier
    group_id: str = ""

    async def roles(self, group_id: str = "") -> dict[str, int]:
        """The members as the store holds them now, with their roles."""
        members = await self.store.get_group_members(group_id or self.group_id)
        return {m.user_id: m.role_level for m in members}


def create_req(
    owner: str = "own", members: tuple[str, ...] = ("mem",), admins: tuple[str, ...] = ("adm",)
) -> group_pb2.CreateGroupReq:
    req = group_pb2.CreateGroupReq(ownerUserID=owner, memberUserIDs=list(members), adminUserIDs=list(admins))
    req.groupInfo.groupType = 2
    req.groupInfo.groupName = "g"
    return req


async def code_of(call: Awaitable[Any]) -> int:
    """The OpenIM error code the call raised, 0 when it succeeded."""
    try:
        await call
    except OpenIMError as err:
        return int(err.code)
    return 0


async def make_world(store: SqliteStore) -> World:
    await store.open()
    await store.insert_users([UserRecord(u, f"nick {u}") for u in USERS])
    notifier = FakeNotifier()
    users = UserService(store, AuthConfig(), object())  # type: ignore[arg-type]  # no user is updated here
    groups = GroupService(store, notifier, object(), users)  # type: ignore[arg-type]
    world = World(store, groups, notifier)
    world.group_id = (await groups.create_group(Operator("own"), create_req(), "op-create")).groupID
    return world
