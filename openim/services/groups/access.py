"""Who may do what in a group, and the small argument checks the group operations share: the operator, the
role rules that need no store (kick, mute, set_group_member_info) and the ID-list and pagination checks,
each raising OpenIM's code. Pure functions, so the rules read (and are tested) apart from their effects.

Roles: owner 100, admin 60, ordinary 20, non-member, and the app admin, who may act in any group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from openim.services.field_limits import check_fields
from openim.services.wrappers import wrapped_patch
from openim.storage.groups.records import GroupMemberRecord, MemberPatch, RoleLevel
from openim.wire.errors import args_error, no_permission
from openim.wire.pb import group_pb2

# SetGroupMemberInfo's wrappers -> the stored member fields they set.
MEMBER_FIELDS: Final = {"nickname": "nickname", "faceURL": "face_url", "ex": "ex", "roleLevel": "role_level"}


@dataclass(frozen=True, slots=True)
class Operator:
    """Who performs a group operation: the token's user, and whether that user is an app admin."""

    user_id: str
    is_admin: bool = False


def unique(ids: Sequence[str], name: str) -> list[str]:
    """Non-empty, no duplicates, no empty IDs (1001 otherwise)."""
    if not ids:
        raise args_error(f"{name} is empty")
    if len(set(ids)) != len(ids):
        raise args_error(f"{name} has duplicates")
    if any(not i for i in ids):
        raise args_error(f"{name} has an empty ID")
    return list(ids)


def check_may_kick(op: Operator, me: GroupMemberRecord | None, target: GroupMemberRecord) -> None:
    """The owner kicks anyone, an admin only ordinary members, an app admin anyone (1002 otherwise)."""
    if op.is_admin:
        return
    if me is None:
        raise no_permission("operator not in group")
    if me.role_level == RoleLevel.OWNER:
        return
    if me.role_level == RoleLevel.ADMIN and target.role_level == RoleLevel.ORDINARY:
        return
    raise no_permission("the group owner kicks anyone, an admin only ordinary members")


def check_may_mute(me: GroupMemberRecord, target: GroupMemberRecord) -> None:
    """A member's mute (not for app admins): nobody mutes the owner, only the owner mutes an admin, the
    owner or an admin mutes an ordinary member (1002 otherwise)."""
    if target.role_level == RoleLevel.OWNER:
        raise no_permission("the group owner cannot be muted")
    if target.role_level == RoleLevel.ADMIN and me.role_level != RoleLevel.OWNER:
        raise no_permission("only the group owner mutes an admin")
    if target.role_level == RoleLevel.ORDINARY and me.role_level < RoleLevel.ADMIN:
        raise no_permission("only the group owner or an admin mutes a member")


def check_member_items(items: Sequence[group_pb2.SetGroupMemberInfo]) -> None:
    """set_group_member_info's arguments before any group is read: each item names a group and a user,
    its texts fit, and a role is 60 or 20 (the owner role is given by transfer only, 1002)."""
    if not items:
        raise args_error("members is empty")
    for item in items:
        if not item.groupID or not item.userID:
            raise args_error("members: groupID and userID are required")
        check_fields(member_patch(item).changed())
        if item.HasField("roleLevel"):
            if item.roleLevel.value == RoleLevel.OWNER:
                raise no_permission("the owner role is given by transfer_group only")
            if item.roleLevel.value not in (RoleLevel.ADMIN, RoleLevel.ORDINARY):
                raise args_error("roleLevel must be 60 or 20")


def member_patch(item: group_pb2.SetGroupMemberInfo) -> MemberPatch:
    """What one set_group_member_info item sets (its present wrappers)."""
    return wrapped_patch(MemberPatch, item, MEMBER_FIELDS)


def check_member_info_permission(
    op: Operator, dbs: Mapping[str, GroupMemberRecord], items: Sequence[group_pb2.SetGroupMemberInfo]
) -> None:
    """set_group_member_info's matrix for the items of one group (OpenIM's rules and codes): the owner
    edits anyone but cannot change his own role (1001); an admin edits himself and ordinary members; an
    ordinary member only himself; nobody raises his own role (1002). A target that is not a member is
    1001; an operator who is not a member is 1002 unless app admin."""
    targets = [i.userID for i in items]
    missing = [t for t in targets if t not in dbs]
    if missing:
        raise args_error(f"user {missing[0]} not in group")
    if op.is_admin and op.user_id not in dbs:
        return
    me = dbs.get(op.user_id)
    if me is None:
        if op.is_admin:
            return
        raise no_permission("operator not in group")
    if op.is_admin:
        return
    for target in (dbs[t] for t in targets):
        if me.role_level == RoleLevel.ADMIN:
            if target.role_level == RoleLevel.OWNER:
                raise no_permission("an admin cannot change the group owner")
            if target.role_level == RoleLevel.ADMIN and target.user_id != op.user_id:
                raise no_permission("an admin cannot change another admin")
        elif me.role_level != RoleLevel.OWNER and target.user_id != op.user_id:
            raise no_permission("ordinary members may only change themselves")
    for item in items:
        if item.userID == op.user_id and item.HasField("roleLevel"):
            if item.roleLevel.value > me.role_level:
                raise no_permission("nobody raises his own role level")
            if me.role_level == RoleLevel.OWNER:
                raise args_error("the group owner cannot change his own role level")
