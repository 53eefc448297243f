"""A group's life through GroupService (lifecycle.py): creation and its tips, who may set the info, mute and
transfer the group, and a dismissed group refusing what follows with 1204."""

from __future__ import annotations

import pytest

from openim.services.groups.access import Operator
from openim.storage.groups.records import GroupPatch, GroupStatus
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode
from openim.wire.pb import group_pb2, sdkws_pb2, wrapperspb_pb2
from tests.unit.services.groups.group_rig import World, code_of, create_req

pytestmark = pytest.mark.trio

ROOT = Operator("root", is_admin=True)  # an app admin outside the group


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


async def test_create_refusals(world: World) -> None:
    groups = world.groups
    assert await code_of(groups.create_group(Operator("mem"), create_req(owner="out"), "op")) == ErrCode.NO_PERMISSION
    twice = create_req(members=("mem", "adm"))
    assert await code_of(groups.create_group(Operator("own"), twice, "op")) == ErrCode.ARGS
    ghost = create_req(members=("ghost",))
    assert await code_of(groups.create_group(Operator("own"), ghost, "op")) == ErrCode.USER_ID_NOT_FOUND
    taken = create_req()
    taken.groupInfo.groupID = world.group_id
    assert await code_of(groups.create_group(Operator("own"), taken, "op")) == ErrCode.GROUP_ID_EXISTED
    assert await code_of(groups.create_group(ROOT, create_req(owner="out", members=(), admins=()), "op")) == 0


@pytest.mark.parametrize(
    ("op", "code"),
    [
        (Operator("own"), 0),
        (Operator("adm"), 0),
        (Operator("mem"), ErrCode.NO_PERMISSION),
        (Operator("out"), ErrCode.RECORD_NOT_FOUND),  # OpenIM looks the operator up as a member
        (ROOT, 0),
    ],
)
async def test_who_may_set_group_info(world: World, op: Operator, code: int) -> None:
    renamed = GroupPatch(group_name="renamed")
    assert await code_of(world.groups.set_group_info(op, world.group_id, renamed, "op")) == code
    name = (await world.groups.groups_info([world.group_id]))[0].groupName
    assert name == ("renamed" if code == 0 else "g")


async def test_set_group_info_announces_each_kind(world: World) -> None:
    groups = world.groups
    blank = GroupPatch(group_name=" ")
    assert await code_of(groups.set_group_info(Operator("own"), world.group_id, blank, "op")) == ErrCode.ARGS
    before = len(world.notifier.sent)
    patch = GroupPatch(notification="hello", group_name="n", introduction="i")
    await groups.set_group_info(Operator("adm"), world.group_id, patch, "op")
    assert world.notifier.kinds()[before:] == [
        ContentType.GROUP_INFO_SET_ANNOUNCEMENT,
        ContentType.GROUP_INFO_SET_NAME,
        ContentType.GROUP_INFO_SET,
    ]
    assert world.notifier.sent[-1]["sender_nickname"] == "nick adm"
    info = (await world.groups.groups_info([world.group_id]))[0]
    assert (info.notification, info.notificationUserID) == ("hello", "adm")


async def test_who_may_mute_the_group(world: World) -> None:
    gid = world.group_id
    assert await code_of(world.groups.mute_group(Operator("mem"), gid, True, "op")) == ErrCode.NO_PERMISSION
    assert (await world.store.get_groups([gid]))[0].status == GroupStatus.OK
    assert await code_of(world.groups.mute_group(Operator("adm"), gid, True, "op")) == 0
    assert (await world.store.get_groups([gid]))[0].status == GroupStatus.MUTED
    assert world.notifier.kinds()[-1] == ContentType.GROUP_MUTED


async def test_transfer(world: World) -> None:
    gid, groups = world.group_id, world.groups
    assert await code_of(groups.transfer(Operator("adm"), gid, "own", "adm", "op")) == ErrCode.NO_PERMISSION
    assert await code_of(groups.transfer(Operator("adm"), gid, "adm", "mem", "op")) == ErrCode.NO_PERMISSION
    assert await code_of(groups.transfer(Operator("own"), gid, "own", "out", "op")) == ErrCode.ARGS
    assert await code_of(groups.transfer(Operator("own"), gid, "own", "own", "op")) == ErrCode.ARGS
    await groups.transfer(Operator("own"), gid, "own", "mem", "op")
    roles = await world.roles()
    assert (roles["mem"], roles["own"]) == (100, 20)
    assert (await groups.groups_info([gid]))[0].ownerUserID == "mem"
    assert world.notifier.tips(ContentType.GROUP_OWNER_TRANSFERRED)["newGroupOwner"]["userID"] == "mem"


async def test_app_admin_transfers_for_the_owner(world: World) -> None:
    await world.groups.transfer(ROOT, world.group_id, "own", "adm", "op")
    assert (await world.roles())["adm"] == 100


async def test_dismiss_then_operations_are_refused(world: World) -> None:
    gid, groups = world.group_id, world.groups
    assert await code_of(groups.dismiss(Operator("adm"), gid, False, "op")) == ErrCode.NO_PERMISSION
    await groups.dismiss(Operator("own"), gid, False, "op")
    assert world.notifier.kinds()[-1] == ContentType.GROUP_DISMISSED
    assert (await world.store.get_groups([gid]))[0].status == GroupStatus.DISMISSED
    dismissed = ErrCode.DISMISSED_ALREADY
    assert await code_of(groups.dismiss(Operator("own"), gid, False, "op")) == dismissed
    assert await code_of(groups.set_group_info(Operator("own"), gid, GroupPatch(group_name="x"), "op")) == dismissed
    assert await code_of(groups.mute_group(Operator("own"), gid, True, "op")) == dismissed
    assert await code_of(groups.invite(Operator("own"), gid, ["out"], "", "op")) == dismissed
    assert await code_of(groups.kick(Operator("own"), gid, ["mem"], "", "op")) == dismissed
    assert await code_of(groups.transfer(Operator("own"), gid, "own", "adm", "op")) == dismissed
    assert await code_of(groups.mute_member(Operator("own"), gid, "mem", 60, "op")) == dismissed
    join = group_pb2.JoinGroupReq(groupID=gid, inviterUserID="out", joinSource=3)
    assert await code_of(groups.join(Operator("out"), join, "op")) == dismissed
    assert await code_of(groups.incremental_members(Operator("mem"), gid, "", 0)) == dismissed
    assert set(await world.roles()) == {"own", "adm", "mem"}  # the members stay, frozen


async def test_dismiss_with_delete_member_empties_the_group_silently(world: World) -> None:
    before = len(world.notifier.sent)
    await world.groups.dismiss(Operator("own"), world.group_id, True, "op")
    assert await world.roles() == {}
    assert len(world.notifier.sent) == before  # the members' join logs tell their clients


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

    assert await code_of(world.groups.set_group_info_ex(Operator("mem"), ex_req, "op")) == ErrCode.NO_PERMISSION
