"""The bodies of OpenIM's group callbacks (its callback.go): what the business backend is sent before a group
is created, a join is applied for, users are invited, members join, the group's or a member's info is set,
and after a group changes; and what the answers may change. Pure builders and readers; the service sends
them through its webhooks (openim.webhooks) when the callback is enabled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from openim.services.groups.access import Operator
from openim.storage.groups.records import GroupMemberRecord, GroupPatch, GroupRecord, RoleLevel
from openim.wire.errors import args_error
from openim.wire.pb import group_pb2


def create_group_hook(op: Operator, req: group_pb2.CreateGroupReq, everyone: Sequence[str]) -> dict[str, Any]:
    """beforeCreateGroup (afterCreateGroup adds the groupID the group got)."""
    info = req.groupInfo

    def role(user_id: str) -> int:
        if user_id == req.ownerUserID:
            return int(RoleLevel.OWNER)
        return int(RoleLevel.ADMIN) if user_id in req.adminUserIDs else int(RoleLevel.ORDINARY)

    return {
        "groupID": info.groupID,
        "groupName": info.groupName,
        "notification": info.notification,
        "introduction": info.introduction,
        "faceURL": info.faceURL,
        "ownerUserID": req.ownerUserID,
        "ex": info.ex,
        "groupType": info.groupType,
        "needVerification": info.needVerification,
        "creatorUserID": op.user_id,
        "initMemberList": [{"userID": u, "roleLevel": role(u)} for u in everyone],
    }


def dismiss_hook(group: GroupRecord, member_ids: Sequence[str]) -> dict[str, Any]:
    """afterDismissGroup: the group and who were its members."""
    return {
        "groupID": group.group_id,
        "ownerID": group.owner_user_id,
        "groupType": group.group_type,
        "membersID": list(member_ids),
    }


def apply_join_hook(req: group_pb2.JoinGroupReq, group: GroupRecord) -> dict[str, Any]:
    """beforeApplyJoinGroup: the applicant (``inviterUserID`` in the request) and his message."""
    return {
        "groupID": req.groupID,
        "groupType": group.group_type,
        "applyID": req.inviterUserID,
        "reqMessage": req.reqMessage,
        "ex": req.ex,
    }


def join_hook(req: group_pb2.JoinGroupReq) -> dict[str, Any]:
    """afterJoinGroup: a direct entry."""
    return {
        "groupID": req.groupID,
        "reqMessage": req.reqMessage,
        "joinSource": req.joinSource,
        "inviterUserID": req.inviterUserID,
    }


def invite_hook(group_id: str, reason: str, invited: Sequence[str]) -> dict[str, Any]:
    """beforeInviteUserToGroup (refuse only: OpenIM reads nothing else of the answer)."""
    return {"groupID": group_id, "reason": reason, "invitedUserIDs": list(invited)}


def members_join_hook(group_id: str, group_ex: str, members: Sequence[GroupMemberRecord]) -> dict[str, Any]:
    """beforeMemberJoinGroup: the users about to become members (OpenIM names the command
    callbackBeforeMembersJoinGroupCommand)."""
    return {
        "groupID": group_id,
        "memberList": [{"userID": m.user_id, "ex": m.ex} for m in members],
        "groupEx": group_ex,
    }


def apply_member_changes(
    members: Sequence[GroupMemberRecord], answer: Mapping[str, Any] | None
) -> list[GroupMemberRecord]:
    """The members as a beforeMemberJoinGroup answer leaves them: each ``memberCallbackList`` entry names a
    member by userID and replaces its non-null nickname, faceURL, roleLevel, muteEndTime (ms) and ex.
    Entries naming someone else are ignored (as OpenIM). The owner's role stays; others may be made admin
    or ordinary members only (the owner role is given by transfer alone)."""
    entries = answer.get("memberCallbackList") if answer is not None else None
    if not entries:
        return list(members)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise args_error("beforeMemberJoinGroup answered with a memberCallbackList that is not a list of objects")
    by_id = {m.user_id: m for m in members}
    for entry in entries:
        member = by_id.get(str(entry.get("userID") or ""))
        if member is None:
            continue
        changes: dict[str, Any] = {}
        for key, attr in (("nickname", "nickname"), ("faceURL", "face_url"), ("ex", "ex")):
            if isinstance(value := entry.get(key), str):
                changes[attr] = value
        mute_end = entry.get("muteEndTime")
        if isinstance(mute_end, int) and not isinstance(mute_end, bool):
            changes["mute_end_time"] = mute_end
        role = entry.get("roleLevel")
        if role is not None and role != member.role_level:
            if member.role_level == RoleLevel.OWNER or role not in (RoleLevel.ADMIN, RoleLevel.ORDINARY):
                raise args_error(
                    f"beforeMemberJoinGroup may make {member.user_id} an admin (60) or ordinary member (20) only,"
                    " and leaves the owner's role alone"
                )
            changes["role_level"] = int(role)
        if changes:
            by_id[member.user_id] = replace(member, **changes)
    return [by_id[m.user_id] for m in members]


# set_group_info(_ex): the GroupPatch attribute behind each field of the callbacks' bodies and answers
GROUP_INFO_KEYS: Final[Mapping[str, str]] = {
    "groupName": "group_name",
    "notification": "notification",
    "introduction": "introduction",
    "faceURL": "face_url",
    "ex": "ex",
    "needVerification": "need_verification",
    "lookMemberInfo": "look_member_info",
    "applyMemberFriend": "apply_member_friend",
}
_GROUP_INFO_INTS: Final = frozenset({"needVerification", "lookMemberInfo", "applyMemberFriend"})


def set_group_info_hook(group_id: str, patch: GroupPatch, *, legacy: bool, before: bool) -> dict[str, Any]:
    """before/afterSetGroupInfo(Ex): the group and what the request sets. The Ex callbacks send null for a
    field left alone; set_group_info's before-callback sends "" and 0 instead (its request has plain
    strings, and OpenIM fills the wrappers' zero values), its after-callback null for the four wrappers."""
    body: dict[str, Any] = {"groupID": group_id}
    for key, attr in GROUP_INFO_KEYS.items():
        value = getattr(patch, attr)
        if value is None and legacy and (before or key not in ("ex", *_GROUP_INFO_INTS)):
            value = 0 if key in _GROUP_INFO_INTS else ""
        body[key] = value
    return body


def group_info_changes(answer: Mapping[str, Any] | None, *, legacy: bool) -> dict[str, Any]:
    """What a beforeSetGroupInfo(Ex) answer replaces (GroupPatch attributes): its non-null fields of the
    right type; for set_group_info an empty text means "unchanged", as in the request. The groupID of an
    answer is never taken: the permission checks were made for the request's group."""
    if answer is None:
        return {}
    changes: dict[str, Any] = {}
    for key, attr in GROUP_INFO_KEYS.items():
        value = answer.get(key)
        if key in _GROUP_INFO_INTS:
            if isinstance(value, int) and not isinstance(value, bool):
                changes[attr] = value
        elif isinstance(value, str) and (value or not legacy):
            changes[attr] = value
    return changes


MEMBER_INFO_KEYS: Final[Mapping[str, str]] = {
    "nickName": "nickname",
    "faceURL": "faceURL",
    "roleLevel": "roleLevel",
    "ex": "ex",
}


def member_info_hook(item: group_pb2.SetGroupMemberInfo) -> dict[str, Any]:
    """before/afterSetGroupMemberInfo: one member's changes (null: left alone)."""
    body: dict[str, Any] = {"groupID": item.groupID, "userID": item.userID}
    for key, name in MEMBER_INFO_KEYS.items():
        body[key] = getattr(item, name).value if item.HasField(name) else None
    return body


def apply_member_info_changes(item: group_pb2.SetGroupMemberInfo, answer: Mapping[str, Any] | None) -> None:
    """Set the wrappers a beforeSetGroupMemberInfo answer replaces (its non-null nickName, faceURL,
    roleLevel, ex) on ``item``, in place; the caller checks the result as it checks a request."""
    if answer is None:
        return
    for key, name in MEMBER_INFO_KEYS.items():
        value = answer.get(key)
        if name == "roleLevel":
            if isinstance(value, int) and not isinstance(value, bool):
                item.roleLevel.value = value
        elif isinstance(value, str):
            getattr(item, name).value = value
