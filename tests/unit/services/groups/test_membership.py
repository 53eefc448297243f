"""Who gets into and out of a group through GroupService (membership.py): join by verification mode,
invitations, kicks, quitting, member mutes and member info, with OpenIM's codes and the stored result."""

from __future__ import annotations

import pytest

from openim.services.groups.access import Operator
from openim.storage.groups.records import GroupPatch, HandleResult, Verification
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode
from openim.wire.pb import group_pb2, wrapperspb_pb2
from tests.unit.services.groups.group_rig import World, code_of

pytestmark = pytest.mark.trio

ROOT = Operator("root", is_admin=True)


async def _verification(world: World, mode: Verification) -> None:
    await world.groups.set_group_info(Operator("own"), world.group_id, GroupPatch(need_verification=int(mode)), "op")


def _join(world: World, user: str) -> group_pb2.JoinGroupReq:
    return group_pb2.JoinGroupReq(groupID=world.group_id, inviterUserID=user, joinSource=3, reqMessage="hi")


async def test_join_a_direct_group_enters_at_once(world: World) -> None:
    await _verification(world, Verification.DIRECT)
    await world.groups.join(Operator("out"), _join(world, "out"), "op")
    assert "out" in await world.roles()
    assert world.notifier.kinds()[-1] == ContentType.MEMBER_ENTER
    assert world.notifier.tips(ContentType.MEMBER_ENTER)["entrantUser"]["userID"] == "out"


@pytest.mark.parametrize("mode", [Verification.APPLY_NEEDS_APPROVAL, Verification.ALL_NEED_APPROVAL])
async def test_join_a_group_with_approval_leaves_a_request(world: World, mode: Verification) -> None:
    await _verification(world, mode)
    await world.groups.join(Operator("out"), _join(world, "out"), "op")
    assert "out" not in await world.roles()
    total, rows = await world.store.get_group_requests(group_ids=[world.group_id], user_ids=["out"])
    assert total == 1 and rows[0].handle_result == HandleResult.PENDING and rows[0].req_msg == "hi"
    assert world.notifier.recipients(ContentType.JOIN_GROUP_APPLICATION) == ["own", "adm", "out"]


async def test_join_refusals(world: World) -> None:
    groups = world.groups
    assert await code_of(groups.join(Operator("mem"), _join(world, "mem"), "op")) == ErrCode.ARGS  # a member
    assert await code_of(groups.join(Operator("new"), _join(world, "out"), "op")) == ErrCode.NO_PERMISSION
    assert await code_of(groups.join(Operator("out"), _join(world, ""), "op")) == ErrCode.ARGS
    bad_source = _join(world, "out")
    bad_source.joinSource = 9
    assert await code_of(groups.join(Operator("out"), bad_source, "op")) == ErrCode.ARGS


async def test_invite_refusals(world: World) -> None:
    gid, groups = world.group_id, world.groups
    assert await code_of(groups.invite(Operator("own"), gid, ["mem"], "", "op")) == ErrCode.ARGS  # a member already
    assert await code_of(groups.invite(Operator("own"), gid, ["out", "out"], "", "op")) == ErrCode.ARGS
    assert await code_of(groups.invite(Operator("own"), gid, ["ghost"], "", "op")) == ErrCode.RECORD_NOT_FOUND
    assert await code_of(groups.invite(Operator("new"), gid, ["out"], "", "op")) == ErrCode.RECORD_NOT_FOUND
    assert set(await world.roles()) == {"own", "adm", "mem"}


async def test_invite_in_a_group_where_all_need_approval(world: World) -> None:
    await _verification(world, Verification.ALL_NEED_APPROVAL)
    await world.groups.invite(Operator("mem"), world.group_id, ["out"], "come", "op")  # ordinary: a request
    assert "out" not in await world.roles()
    _, rows = await world.store.get_group_requests(group_ids=[world.group_id], user_ids=["out"])
    assert (rows[0].inviter_user_id, rows[0].req_msg) == ("mem", "come")
    await world.groups.invite(Operator("adm"), world.group_id, ["new"], "", "op")  # an admin's enters
    assert "new" in await world.roles()
    assert world.notifier.tips(ContentType.MEMBER_INVITED)["inviterUser"]["userID"] == "adm"


@pytest.mark.parametrize(
    ("op", "targets", "code"),
    [
        (Operator("adm"), ["mem"], 0),
        (Operator("mem"), ["adm"], ErrCode.NO_PERMISSION),
        (Operator("adm"), ["own"], ErrCode.ARGS),  # the owner is never kicked
        (Operator("own"), ["own"], ErrCode.ARGS),  # nor is anyone by himself
        (Operator("own"), ["out"], ErrCode.USER_ID_NOT_FOUND),
        (Operator("out"), ["mem"], ErrCode.NO_PERMISSION),
        (ROOT, ["adm", "mem"], 0),
    ],
)
async def test_who_may_kick(world: World, op: Operator, targets: list[str], code: int) -> None:
    assert await code_of(world.groups.kick(op, world.group_id, targets, "bye", "op")) == code
    remaining = set(await world.roles())
    assert remaining == ({"own", "adm", "mem"} - set(targets) if code == 0 else {"own", "adm", "mem"})
    if code == 0:
        kicked = world.notifier.tips(ContentType.MEMBER_KICKED)["kickedUserList"]
        assert sorted(k["userID"] for k in kicked) == sorted(targets)


async def test_quit(world: World) -> None:
    gid, groups = world.group_id, world.groups
    assert await code_of(groups.quit(Operator("own"), gid, "own", "op")) == ErrCode.NO_PERMISSION  # the owner
    assert await code_of(groups.quit(Operator("adm"), gid, "mem", "op")) == ErrCode.NO_PERMISSION  # for another
    assert await code_of(groups.quit(Operator("out"), gid, "out", "op")) == ErrCode.RECORD_NOT_FOUND
    assert set(await world.roles()) == {"own", "adm", "mem"}
    await groups.quit(Operator("mem"), gid, "mem", "op")
    assert set(await world.roles()) == {"own", "adm"}
    assert world.notifier.tips(ContentType.MEMBER_QUIT)["quitUser"]["userID"] == "mem"


@pytest.mark.parametrize(
    ("op", "target", "code"),
    [
        (Operator("own"), "adm", 0),
        (Operator("adm"), "mem", 0),
        (Operator("adm"), "own", ErrCode.NO_PERMISSION),
        (Operator("mem"), "adm", ErrCode.NO_PERMISSION),
        (Operator("out"), "mem", ErrCode.RECORD_NOT_FOUND),
        (Operator("own"), "out", ErrCode.RECORD_NOT_FOUND),  # not a member
        (ROOT, "own", 0),  # the app admin mutes even the owner
    ],
)
async def test_who_may_mute_a_member(world: World, op: Operator, target: str, code: int) -> None:
    assert await code_of(world.groups.mute_member(op, world.group_id, target, 60, "op")) == code
    members = {m.user_id: m for m in await world.store.get_group_members(world.group_id)}
    if code == 0:
        assert members[target].mute_end_time > 0
        assert world.notifier.tips(ContentType.GROUP_MEMBER_MUTED)["mutedSeconds"] == 60
    else:
        assert all(m.mute_end_time == 0 for m in members.values())


async def test_set_member_info(world: World) -> None:
    gid, groups = world.group_id, world.groups
    promote = group_pb2.SetGroupMemberInfo(groupID=gid, userID="mem", roleLevel=wrapperspb_pb2.Int32Value(value=60))
    assert await code_of(groups.set_member_info(Operator("mem"), [promote], "op")) == ErrCode.NO_PERMISSION
    assert (await world.roles())["mem"] == 20
    await groups.set_member_info(Operator("adm"), [promote], "op")
    assert (await world.roles())["mem"] == 60
    tips = world.notifier.tips(ContentType.GROUP_MEMBER_SET_TO_ADMIN)
    assert tips["changedUser"]["userID"] == "mem" and tips["groupSortVersion"] == tips["groupMemberVersion"]
    twice = [group_pb2.SetGroupMemberInfo(groupID=gid, userID="mem")] * 2
    assert await code_of(groups.set_member_info(Operator("own"), twice, "op")) == ErrCode.ARGS


async def test_member_reads_need_membership(world: World) -> None:
    gid, groups = world.group_id, world.groups
    assert await code_of(groups.member_user_ids(Operator("out"), gid)) == ErrCode.NO_PERMISSION
    assert await groups.member_user_ids(Operator("mem"), gid) == ["own", "adm", "mem"]
    assert await groups.member_user_ids(ROOT, gid) == ["own", "adm", "mem"]
    shown = await groups.members_info(Operator("mem"), gid, ["adm", "nobody"])
    assert [m.userID for m in shown] == ["adm"] and shown[0].nickname == "nick adm"
