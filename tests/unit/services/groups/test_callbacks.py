"""The group callbacks' bodies and what their answers may change (pure functions)."""

from __future__ import annotations

import pytest

from openim.services.groups.callbacks import (
    apply_member_changes,
    apply_member_info_changes,
    group_info_changes,
    member_info_hook,
    members_join_hook,
    set_group_info_hook,
)
from openim.storage.groups.records import GroupMemberRecord, GroupPatch, RoleLevel
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import group_pb2

OWNER = GroupMemberRecord("g", "own", role_level=RoleLevel.OWNER)
MEMBER = GroupMemberRecord("g", "mem", ex="mine")


def test_members_join_body_and_changes() -> None:
    assert members_join_hook("g", "gx", [OWNER, MEMBER]) == {
        "groupID": "g", "memberList": [{"userID": "own", "ex": ""}, {"userID": "mem", "ex": "mine"}], "groupEx": "gx"
    }
    answer = {"memberCallbackList": [
        {"userID": "mem", "nickname": "N", "faceURL": None, "roleLevel": 60, "muteEndTime": 99, "ex": "E"},
        {"userID": "stranger", "nickname": "ignored"},
        {"userID": "own", "roleLevel": 100, "nickname": "boss"},  # the owner's own role: no change
    ]}
    owner, member = apply_member_changes([OWNER, MEMBER], answer)
    assert (member.nickname, member.face_url, member.role_level, member.mute_end_time, member.ex) == (
        "N", "", 60, 99, "E")
    assert (owner.nickname, owner.role_level) == ("boss", RoleLevel.OWNER)
    assert apply_member_changes([OWNER, MEMBER], {}) == [OWNER, MEMBER]


@pytest.mark.parametrize("target,role", [("mem", 100), ("own", 20), ("mem", 7)])
def test_members_join_answer_cannot_move_the_owner_role(target: str, role: int) -> None:
    with pytest.raises(OpenIMError) as refused:
        apply_member_changes([OWNER, MEMBER], {"memberCallbackList": [{"userID": target, "roleLevel": role}]})
    assert refused.value.code == ErrCode.ARGS


def test_set_group_info_bodies() -> None:
    patch = GroupPatch(group_name="n", need_verification=1)
    ex = set_group_info_hook("g", patch, legacy=False, before=True)
    assert ex == {"groupID": "g", "groupName": "n", "notification": None, "introduction": None, "faceURL": None,
                  "ex": None, "needVerification": 1, "lookMemberInfo": None, "applyMemberFriend": None}
    legacy_before = set_group_info_hook("g", patch, legacy=True, before=True)
    assert (legacy_before["notification"], legacy_before["ex"], legacy_before["lookMemberInfo"]) == ("", "", 0)
    legacy_after = set_group_info_hook("g", patch, legacy=True, before=False)
    assert (legacy_after["notification"], legacy_after["ex"], legacy_after["lookMemberInfo"]) == ("", None, None)


def test_set_group_info_changes() -> None:
    answer = {"groupID": "other", "groupName": "", "introduction": "i", "needVerification": 2, "ex": None,
              "lookMemberInfo": True}
    assert group_info_changes(answer, legacy=True) == {"introduction": "i", "need_verification": 2}
    assert group_info_changes(answer, legacy=False) == {"group_name": "", "introduction": "i", "need_verification": 2}
    assert group_info_changes(None, legacy=False) == {}


def test_member_info_body_and_changes() -> None:
    item = group_pb2.SetGroupMemberInfo(groupID="g", userID="u")
    item.nickname.value = "n"
    assert member_info_hook(item) == {"groupID": "g", "userID": "u", "nickName": "n", "faceURL": None,
                                      "roleLevel": None, "ex": None}
    apply_member_info_changes(item, {"nickName": "x", "roleLevel": 60, "faceURL": None, "ex": 5})
    assert (item.nickname.value, item.roleLevel.value, item.HasField("faceURL"), item.HasField("ex")) == (
        "x", 60, False, False)
