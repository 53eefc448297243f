"""Incremental sync of groups and members through GroupService (sync.py): versions that move with each
change, the markers that carry the group and the sort, the batch that skips groups left behind, and the
full-ID endpoints' hash check."""

from __future__ import annotations

import pytest

from openim.services.groups.access import Operator
from openim.services.versioning import id_hash
from openim.storage.groups.records import GroupPatch
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode
from openim.wire.pb import group_pb2, wrapperspb_pb2
from tests.unit.services.groups.group_rig import World, code_of, create_req

pytestmark = pytest.mark.trio


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
    await world.groups.set_group_info(Operator("adm"), gid, GroupPatch(group_name="renamed"), "op")
    renamed = await world.groups.incremental_members(Operator("mem"), gid, changed.versionID, changed.version)
    assert renamed.group.groupName == "renamed" and not renamed.update
    joins = await world.groups.incremental_join_groups("out", "", 0)
    await world.groups.invite(Operator("own"), gid, ["out"], "", "op")
    joined = await world.groups.incremental_join_groups("out", joins.versionID, joins.version)
    assert [g.groupID for g in joined.insert] == [gid]
    await world.groups.kick(Operator("own"), gid, ["out"], "", "op")
    left = await world.groups.incremental_join_groups("out", joined.versionID, joined.version)
    assert list(left.delete) == [gid]


async def test_member_versions_follow_the_changes(world: World) -> None:
    gid = world.group_id
    start = await world.groups.incremental_members(Operator("own"), gid, "", 0)
    await world.groups.invite(Operator("own"), gid, ["out"], "", "op")
    invited = world.notifier.tips(ContentType.MEMBER_INVITED)
    after = await world.groups.incremental_members(Operator("own"), gid, start.versionID, start.version)
    assert after.version == invited["groupMemberVersion"] == start.version + 1
    assert [m.userID for m in after.insert] == ["out"] and not after.full
    await world.groups.quit(Operator("out"), gid, "out", "op")
    gone = await world.groups.incremental_members(Operator("own"), gid, after.versionID, after.version)
    assert list(gone.delete) == ["out"] and gone.version == after.version + 1
    assert await code_of(world.groups.incremental_members(Operator("out"), gid, "", 0)) == ErrCode.NO_PERMISSION


async def test_batch_skips_groups_left_or_dismissed(world: World) -> None:
    other = (await world.groups.create_group(Operator("own"), create_req(admins=()), "op")).groupID
    third = (await world.groups.create_group(Operator("adm"), create_req(owner="adm", admins=()), "op")).groupID
    await world.groups.quit(Operator("mem"), world.group_id, "mem", "op")
    await world.groups.dismiss(Operator("adm"), third, False, "op")
    reqs = [group_pb2.getIncrementalGroupMemberReq(groupID=g) for g in (world.group_id, other, third, "nope")]
    resp = await world.groups.incremental_members_batch(Operator("mem"), reqs)
    assert list(resp.respList) == [other]
    assert resp.respList[other].full and resp.respList[other].group.groupID == other


async def test_full_id_endpoints_answer_equal_for_the_same_hash(world: World) -> None:
    gid = world.group_id
    ids = await world.groups.full_member_ids(Operator("mem"), gid, 0)
    assert list(ids.userIDs) == ["own", "adm", "mem"] and not ids.equal
    assert (await world.groups.full_member_ids(Operator("mem"), gid, id_hash(list(ids.userIDs)))).equal
    joined = await world.groups.full_join_group_ids("mem", 0)
    assert list(joined.groupIDs) == [gid] and joined.version >= 1
    assert (await world.groups.full_join_group_ids("mem", id_hash([gid]))).equal
    assert await code_of(world.groups.full_member_ids(Operator("out"), gid, 0)) == ErrCode.NO_PERMISSION
