"""GroupService against the real embedded store: the send checks (membership, mutes, dismissal), the
push audience, the version fields of the tips, the chat copies, the incremental sync round trip and the
set_group_member_info matrix (a pure function)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from openim.pipeline.msg import Sender
from openim.services.group_directory import removed_users
from openim.services.groups import GroupService, Operator, check_member_info_permission
from openim.services.message_ops import Actor, check_may_revoke
from openim.storage.group_records import GroupMemberRecord, RoleLevel
from openim.storage.records import StoredMessage, UserRecord
from openim.storage.sqlite import SqliteStore
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.jsoncodec import message_to_json, notification_content
from openim.wire.pb import group_pb2, sdkws_pb2, wrapperspb_pb2

pytestmark = pytest.mark.trio

USERS = ("own", "adm", "mem", "out")


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


@dataclass
class FakeUsers:
    store: SqliteStore

    async def get(self, user_ids: Sequence[str]) -> list[UserRecord]:
        return await self.store.get_users(user_ids)

    async def exists(self, user_id: str) -> bool:
        return bool(await self.store.get_users([user_id]))


@dataclass
class World:
    store: SqliteStore
    groups: GroupService
    notifier: FakeNotifier
    group_id: str = ""


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = SqliteStore(tmp_path / "g.db")
    await store.open()
    await store.insert_users([UserRecord(u, f"nick {u}") for u in USERS])
    notifier = FakeNotifier()
    groups = GroupService(store, notifier, object(), FakeUsers(store))  # type: ignore[arg-type]
    world = World(store, groups, notifier)
    req = group_pb2.CreateGroupReq(ownerUserID="own", memberUserIDs=["mem"], adminUserIDs=["adm"])
    req.groupInfo.groupType = 2
    req.groupInfo.groupName = "g"
    world.group_id = (await groups.create_group(Operator("own"), req, "op-create")).groupID
    yield world
    await store.aclose()


def group_msg(world: World, sender: str) -> sdkws_pb2.MsgData:
    return sdkws_pb2.MsgData(sendID=sender, groupID=world.group_id, sessionType=3, contentType=101)


async def refused(world: World, sender: str) -> int:
    try:
        await world.groups.directory.check_group_send(group_msg(world, sender), Sender(sender))
    except OpenIMError as err:
        return int(err.code)
    return 0


async def test_create_announces_with_the_member_log_version_and_a_chat_copy(world: World) -> None:
    sent = world.notifier.sent[-1]
    assert sent["content_type"] == ContentType.GROUP_CREATED
    assert sent["chat_copy"] is True and sent["operation_id"] == "op-create"
    assert (sent["session_type"], sent["group_id"]) == (3, world.group_id)
    tips = world.notifier.tips(ContentType.GROUP_CREATED)
    assert tips["groupMemberVersion"] == 1 and len(tips["groupMemberVersionID"]) == 24
    assert [m["userID"] for m in tips["memberList"]] == ["own", "adm", "mem"]
    assert tips["memberList"][0]["nickname"] == "nick own"  # filled from the profile
    assert tips["group"]["memberCount"] == 3


async def test_send_checks(world: World) -> None:
    gid = world.group_id
    assert await refused(world, "mem") == 0
    assert await refused(world, "out") == ErrCode.NOT_IN_GROUP_YET
    await world.groups.mute_member(Operator("adm"), gid, "mem", 60, "op")
    assert await refused(world, "mem") == ErrCode.MUTED_IN_GROUP
    await world.groups.mute_member(Operator("adm"), gid, "mem", 0, "op")
    await world.groups.mute_group(Operator("own"), gid, True, "op")
    assert (await refused(world, "mem"), await refused(world, "adm"), await refused(world, "own")) == (1403, 0, 0)
    await world.groups.mute_group(Operator("own"), gid, False, "op")
    assert await refused(world, "mem") == 0
    await world.groups.dismiss(Operator("own"), gid, False, "op")
    assert await refused(world, "own") == ErrCode.DISMISSED_ALREADY
    with pytest.raises(OpenIMError) as unknown:
        await world.groups.directory.check_group_send(
            sdkws_pb2.MsgData(sendID="own", groupID="nope", sessionType=3), Sender("own")
        )
    assert unknown.value.code == ErrCode.RECORD_NOT_FOUND


async def test_push_audience_includes_the_removed(world: World) -> None:
    await world.groups.kick(Operator("own"), world.group_id, ["mem"], "", "op")
    kicked = world.notifier.sent[-1]
    assert kicked["content_type"] == ContentType.MEMBER_KICKED
    msg = sdkws_pb2.MsgData(
        groupID=world.group_id, contentType=ContentType.MEMBER_KICKED, content=notification_content(kicked["tips"])
    )
    assert removed_users(msg) == ["mem"]
    assert list(await world.groups.directory.push_audience(msg)) == ["own", "adm", "mem"]
    chat = sdkws_pb2.MsgData(groupID=world.group_id, contentType=101, content=json.dumps({"content": "x"}).encode())
    assert list(await world.groups.directory.push_audience(chat)) == ["own", "adm"]


async def test_member_cache_follows_changes_in_this_process(world: World) -> None:
    assert list(await world.groups.directory.member_ids(world.group_id)) == ["own", "adm", "mem"]
    await world.groups.invite(Operator("mem"), world.group_id, ["out"], "", "op")
    assert list(await world.groups.directory.member_ids(world.group_id)) == ["own", "adm", "mem", "out"]
    await world.groups.quit(Operator("out"), world.group_id, "out", "op")
    assert list(await world.groups.directory.member_ids(world.group_id)) == ["own", "adm", "mem"]
    assert world.notifier.kinds()[-2:] == [ContentType.MEMBER_INVITED, ContentType.MEMBER_QUIT]


async def test_incremental_member_sync_round_trip(world: World) -> None:
    gid = world.group_id
    first = await world.groups.incremental_members(Operator("mem"), gid, "", 0)
    assert first.full and first.HasField("group") and not first.insert
    same = await world.groups.incremental_members(Operator("mem"), gid, first.versionID, first.version)
    assert not same.full and not same.HasField("group")
    item = group_pb2.SetGroupMemberInfo(groupID=gid, userID="mem", roleLevel=wrapperspb_pb2.Int32Value(value=60))
    await world.groups.set_member_info(Operator("own"), [item], "op")
    tips = world.notifier.tips(ContentType.GROUP_MEMBER_SET_TO_ADMIN)
    changed = await world.groups.incremental_members(Operator("mem"), gid, first.versionID, first.version)
    assert [m.userID for m in changed.update] == ["mem"] and changed.update[0].roleLevel == 60
    assert changed.sortVersion == changed.version == tips["groupMemberVersion"]
    assert changed.HasField("group")
    await world.groups.set_group_info(Operator("adm"), gid, {"group_name": "renamed"}, "op")
    renamed = await world.groups.incremental_members(Operator("mem"), gid, changed.versionID, changed.version)
    assert renamed.group.groupName == "renamed" and not renamed.update
    joins = await world.groups.incremental_join_groups("out", "", 0)
    await world.groups.invite(Operator("own"), gid, ["out"], "", "op")
    joined = await world.groups.incremental_join_groups("out", joins.versionID, joins.version)
    assert [g.groupID for g in joined.insert] == [gid]
    await world.groups.kick(Operator("own"), gid, ["out"], "", "op")
    left = await world.groups.incremental_join_groups("out", joined.versionID, joined.version)
    assert list(left.delete) == [gid]


def _members(*pairs: tuple[str, int]) -> dict[str, GroupMemberRecord]:
    return {u: GroupMemberRecord("g", u, role_level=r) for u, r in pairs}


def _item(user: str, role: int | None = None, nickname: str | None = None) -> group_pb2.SetGroupMemberInfo:
    item = group_pb2.SetGroupMemberInfo(groupID="g", userID=user)
    if role is not None:
        item.roleLevel.value = role
    if nickname is not None:
        item.nickname.value = nickname
    return item


DBS = _members(("own", 100), ("adm", 60), ("adm2", 60), ("mem", 20), ("mem2", 20))


@pytest.mark.parametrize(
    ("op", "item", "code"),
    [
        (Operator("own"), _item("adm", role=20), 0),
        (Operator("own"), _item("own", nickname="me"), 0),
        (Operator("own"), _item("own", role=60), ErrCode.ARGS),
        (Operator("adm"), _item("mem", role=60), 0),
        (Operator("adm"), _item("adm", role=20), 0),
        (Operator("adm"), _item("adm2", nickname="x"), ErrCode.NO_PERMISSION),
        (Operator("adm"), _item("own", nickname="x"), ErrCode.NO_PERMISSION),
        (Operator("mem"), _item("mem", nickname="me"), 0),
        (Operator("mem"), _item("mem", role=60), ErrCode.NO_PERMISSION),
        (Operator("mem"), _item("mem2", nickname="x"), ErrCode.NO_PERMISSION),
        (Operator("out"), _item("mem", nickname="x"), ErrCode.NO_PERMISSION),
        (Operator("root", is_admin=True), _item("own", nickname="x"), 0),
        (Operator("own"), _item("nobody", nickname="x"), ErrCode.ARGS),
    ],
)
async def test_member_info_matrix(op: Operator, item: group_pb2.SetGroupMemberInfo, code: int) -> None:
    try:
        check_member_info_permission(op, DBS, [item])
    except OpenIMError as err:
        assert int(err.code) == code
    else:
        assert code == 0


async def test_role_levels_are_ordered() -> None:
    assert RoleLevel.OWNER > RoleLevel.ADMIN > RoleLevel.ORDINARY


def _group_message(send_id: str) -> StoredMessage:
    return StoredMessage("sg_g", 1, send_id, "c", "s", 0, 3, 101, b"", group_id="g")


@pytest.mark.parametrize(
    ("who", "sender", "roles", "allowed"),
    [
        ("own", "adm", {"own": 100, "adm": 60}, True),  # the owner revokes anyone's
        ("adm", "mem", {"adm": 60, "mem": 20}, True),  # an admin revokes ordinary members'
        ("adm", "gone", {"adm": 60}, True),  # ... and former members'
        ("adm", "own", {"adm": 60, "own": 100}, False),
        ("adm", "adm2", {"adm": 60, "adm2": 60}, False),
        ("mem", "mem2", {"mem": 20, "mem2": 20}, False),
        ("out", "mem", {"mem": 20}, False),
    ],
)
async def test_group_revoke_rule(who: str, sender: str, roles: dict[str, int], allowed: bool) -> None:
    actor = Actor(user_id=who, op_user_id=who, is_admin=False, operation_id="op")
    if allowed:
        check_may_revoke(_group_message(sender), actor, roles)
    else:
        with pytest.raises(OpenIMError) as caught:
            check_may_revoke(_group_message(sender), actor, roles)
        assert caught.value.code == ErrCode.NO_PERMISSION


async def test_set_group_info_requests_map_their_fields(world: World) -> None:
    gid = world.group_id
    string, int32 = wrapperspb_pb2.StringValue, wrapperspb_pb2.Int32Value
    ex_req = group_pb2.SetGroupInfoExReq(
        groupID=gid, groupName=string(value="ex name"), introduction=string(value=""), lookMemberInfo=int32(value=1)
    )
    await world.groups.set_group_info_ex(Operator("adm"), ex_req, "op-ex")
    group = await world.groups.directory.group(gid)
    assert (group.group_name, group.introduction, group.look_member_info, group.face_url) == ("ex name", "", 1, "")

    # The legacy request: an empty string leaves its field, a wrapper sets its field even to zero.
    legacy = sdkws_pb2.GroupInfoForSet(
        groupID=gid, groupName="", faceURL="http://face", lookMemberInfo=int32(value=0), ex=string(value="x")
    )
    await world.groups.set_group_info_legacy(Operator("adm"), legacy, "op-legacy")
    group = await world.groups.directory.group(gid)
    assert (group.group_name, group.face_url, group.look_member_info, group.ex) == ("ex name", "http://face", 0, "x")
    assert world.notifier.sent[-1]["operation_id"] == "op-legacy"

    with pytest.raises(OpenIMError) as caught:
        await world.groups.set_group_info_ex(Operator("mem"), ex_req, "op")  # an ordinary member may not
    assert caught.value.code == ErrCode.NO_PERMISSION
