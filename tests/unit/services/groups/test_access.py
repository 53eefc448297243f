"""The group rules that need no store (openim.services.groups.access): set_group_member_info's matrix, who
kicks and mutes whom, and the argument checks, each with OpenIM's code."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from openim.services.groups.access import (
    Operator,
    check_may_kick,
    check_may_mute,
    check_member_info_permission,
    check_member_items,
    unique,
)
from openim.storage.groups.records import GroupMemberRecord, RoleLevel
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import group_pb2

pytestmark = pytest.mark.trio


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


def _code(check: Callable[..., object], *args: object) -> int:
    try:
        check(*args)
    except OpenIMError as err:
        return int(err.code)
    return 0


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


@pytest.mark.parametrize(
    ("op", "target", "code"),
    [
        (Operator("own"), "adm", 0),  # the owner kicks anyone
        (Operator("adm"), "mem", 0),  # an admin kicks ordinary members
        (Operator("adm"), "adm2", ErrCode.NO_PERMISSION),  # ... not another admin
        (Operator("mem"), "mem2", ErrCode.NO_PERMISSION),  # an ordinary member kicks nobody
        (Operator("out"), "mem", ErrCode.NO_PERMISSION),  # nor does an outsider
        (Operator("root", is_admin=True), "adm", 0),  # the app admin kicks anyone
    ],
)
async def test_who_may_kick(op: Operator, target: str, code: int) -> None:
    assert _code(check_may_kick, op, DBS.get(op.user_id), DBS[target]) == code


@pytest.mark.parametrize(
    ("me", "target", "code"),
    [
        ("own", "adm", 0),  # the owner mutes an admin
        ("own", "mem", 0),
        ("adm", "mem", 0),  # an admin mutes an ordinary member
        ("adm", "adm2", ErrCode.NO_PERMISSION),  # ... not another admin
        ("adm", "own", ErrCode.NO_PERMISSION),  # nobody mutes the owner
        ("mem", "mem2", ErrCode.NO_PERMISSION),
    ],
)
async def test_who_may_mute(me: str, target: str, code: int) -> None:
    assert _code(check_may_mute, DBS[me], DBS[target]) == code


@pytest.mark.parametrize(
    ("ids", "code"),
    [([], ErrCode.ARGS), (["a", "a"], ErrCode.ARGS), (["a", ""], ErrCode.ARGS), (["a", "b"], 0)],
)
async def test_unique_ids(ids: list[str], code: int) -> None:
    assert _code(unique, ids, "userIDs") == code


@pytest.mark.parametrize(
    ("item", "code"),
    [
        (_item("mem", role=60), 0),
        (_item("mem", role=100), ErrCode.NO_PERMISSION),  # the owner role comes by transfer only
        (_item("mem", role=30), ErrCode.ARGS),
        (group_pb2.SetGroupMemberInfo(groupID="g"), ErrCode.ARGS),  # no userID
    ],
)
async def test_member_items(item: group_pb2.SetGroupMemberInfo, code: int) -> None:
    assert _code(check_member_items, [item]) == code
    assert _code(check_member_items, []) == ErrCode.ARGS
