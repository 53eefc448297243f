"""The bodies of OpenIM's group callbacks (its callback.go): what the business backend is sent before a group
is created or a join is applied for, and after a group changes. Pure builders; the service sends them
through its webhooks (openim.webhooks) when any are enabled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openim.services.groups.access import Operator
from openim.storage.groups.records import GroupRecord, RoleLevel
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
