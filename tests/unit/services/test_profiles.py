"""ProfileService and the UserService writes under it, on the embedded store with the send path running:
which fields each update request changes, the 1303 to the user and the 1209 to his friends, the
appMangerLevel rule, and a receive option that takes effect at once (the write drops the send path's
cached copy of the user)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio

from openim.config import Config
from openim.internode.inbox import NodeInbox
from openim.ops.metrics import Metrics
from openim.pipeline.msg import Sender, SendService
from openim.services.profiles import ProfileService
from openim.services.relations import RelationService
from openim.services.users import UserService
from openim.storage.messages.records import UserPatch, UserRecord, VersionKind
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.constants import ContentType, MsgStatus, SessionType
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import sdkws_pb2, wrapperspb_pb2
from tests.unit.pipeline.send_rig import open_store_and_bus, running_send_path

pytestmark = pytest.mark.trio

NODE = "node-p"


@dataclass
class FakeNotifier:
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def notify(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)

    def take(self) -> list[tuple[int, str, str, str]]:
        """(contentType, sendID, recvID, operationID) of everything sent; then forget."""
        out = [(n["content_type"], n["send_id"], n["recv_id"], n["operation_id"]) for n in self.sent]
        self.sent.clear()
        return out


@dataclass
class World:
    store: SqliteStore
    send: SendService
    users: UserService
    relations: RelationService
    profiles: ProfileService
    notifier: FakeNotifier


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    cfg = Config()
    async with open_store_and_bus(tmp_path / "p.db") as (store, bus), trio.open_nursery() as nursery:
        await store.insert_users(
            [UserRecord(u, u.title(), f"http://f/{u}", create_time=i) for i, u in enumerate(("alice", "bob", "carol"))]
            + [UserRecord("imAdmin", "Admin", create_time=9, app_manager_level=2)]
        )
        inbox = NodeInbox(bus, NODE)
        await nursery.start(inbox.serve)
        metrics = Metrics(NODE, ("all",))
        async with running_send_path(
            "memory", store=store, bus=bus, inbox=inbox, node_id=NODE, messaging=cfg.messaging, metrics=metrics
        ) as path:
            notifier = FakeNotifier()
            users = UserService(store, cfg.auth, path.send)
            relations = RelationService(store, notifier, path.send, users, cfg.messaging)  # type: ignore[arg-type]
            profiles = ProfileService(users, notifier, relations)  # type: ignore[arg-type]
            yield World(store, path.send, users, relations, profiles, notifier)
        nursery.cancel_scope.cancel()


async def befriend(w: World, a: str, b: str) -> None:
    await w.relations.apply(a, b, "hi", "", operation_id="op-apply")
    await w.relations.respond(a, b, 1, "ok", handler=b, operation_id="op-accept")
    w.notifier.sent.clear()


def info_ex(user_id: str, **wrapped: Any) -> sdkws_pb2.UserInfoWithEx:
    info = sdkws_pb2.UserInfoWithEx(userID=user_id)
    for name, value in wrapped.items():
        kind = wrapperspb_pb2.StringValue if isinstance(value, str) else wrapperspb_pb2.Int32Value
        getattr(info, name).CopyFrom(kind(value=value))
    return info


async def code_of(coro: Any) -> int:
    with pytest.raises(OpenIMError) as caught:
        await coro
    return int(caught.value.code)


async def test_update_ex_sets_the_present_wrappers_and_tells_the_friends(world: World) -> None:
    await befriend(world, "alice", "bob")
    before = await world.store.get_version_log(VersionKind.FRIEND, "bob")
    await world.profiles.update_ex(info_ex("alice", nickname="Ally", ex="e"), by="alice", operation_id="op-1")
    alice = await world.users.get_one("alice")
    assert (alice.nickname, alice.ex, alice.face_url) == ("Ally", "e", "http://f/alice")  # faceURL absent: kept
    assert world.notifier.take() == [
        (ContentType.USER_INFO_UPDATED, "alice", "alice", "op-1"),
        (ContentType.FRIEND_INFO_UPDATED, "alice", "bob", "op-1"),
    ]
    assert (await world.store.get_version_log(VersionKind.FRIEND, "bob")).version == before.version + 1


async def test_update_ex_without_a_shown_change_tells_only_the_user(world: World) -> None:
    await befriend(world, "alice", "bob")
    await world.profiles.update_ex(info_ex("alice", nickname="Alice", ex="x"), by="imAdmin", operation_id="op-2")
    assert world.notifier.take() == [(ContentType.USER_INFO_UPDATED, "imAdmin", "alice", "op-2")]


async def test_update_ex_refuses_an_empty_nickname(world: World) -> None:
    assert await code_of(world.profiles.update_ex(info_ex("alice", nickname=""), by="alice", operation_id="op")) == (
        ErrCode.ARGS
    )
    assert (await world.users.get_one("alice")).nickname == "Alice" and world.notifier.sent == []


async def test_update_keeps_zero_values_and_guards_the_manager_level(world: World) -> None:
    info = sdkws_pb2.UserInfo(userID="bob", faceURL="http://new", globalRecvMsgOpt=2)
    await world.profiles.update(info, by="bob", by_admin=False, operation_id="op-3")
    bob = await world.users.get_one("bob")
    assert (bob.nickname, bob.face_url, bob.global_recv_msg_opt) == ("Bob", "http://new", 2)
    assert [kind for kind, *_ in world.notifier.take()] == [ContentType.USER_INFO_UPDATED]  # no friends yet

    raise_level = sdkws_pb2.UserInfo(userID="bob", appMangerLevel=2)
    assert await code_of(world.profiles.update(raise_level, by="bob", by_admin=False, operation_id="op")) == (
        ErrCode.NO_PERMISSION
    )
    same_level = sdkws_pb2.UserInfo(userID="alice", nickname="A", appMangerLevel=1)
    await world.users.update("alice", UserPatch(app_manager_level=1))
    await world.profiles.update(same_level, by="alice", by_admin=False, operation_id="op")  # harmless: unchanged
    await world.profiles.update(raise_level, by="imAdmin", by_admin=True, operation_id="op")
    assert (await world.users.get_one("bob")).app_manager_level == 2


async def test_global_recv_opt_takes_effect_on_the_send_path_at_once(world: World) -> None:
    def text(n: int) -> sdkws_pb2.MsgData:
        return sdkws_pb2.MsgData(
            sendID="alice",
            recvID="bob",
            clientMsgID=f"c{n}",
            sessionType=SessionType.SINGLE,
            msgFrom=100,
            contentType=ContentType.TEXT,
            content=b'{"content":"hi"}',
            status=MsgStatus.SENDING,
        )

    await world.send.send(text(1), operation_id="op", sender=Sender("alice", 5))  # bob is cached now
    await world.profiles.set_global_recv_opt("bob", 1, by="bob", operation_id="op-opt")
    assert world.notifier.take() == [(ContentType.USER_INFO_UPDATED, "bob", "bob", "op-opt")]
    assert await code_of(world.send.send(text(2), operation_id="op", sender=Sender("alice", 5))) == ErrCode.ARGS

    assert await code_of(world.profiles.set_global_recv_opt("bob", 3, by="bob", operation_id="op")) == ErrCode.ARGS
    assert await code_of(world.profiles.set_global_recv_opt("ghost", 0, by="x", operation_id="op")) == (
        ErrCode.RECORD_NOT_FOUND
    )


async def test_id_page_lists_every_account(world: World) -> None:
    assert await world.users.id_page(offset=0, limit=2) == (4, ["alice", "bob"])
    assert await world.users.id_page(offset=2, limit=10) == (4, ["carol", "imAdmin"])  # admins included
