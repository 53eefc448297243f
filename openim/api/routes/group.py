"""/group/*: groups, members, applications and their version-log sync.

This module checks the request shape and CheckAccess of the "acting for" fields (a user acts for
himself, an app admin for anyone) and maps wire fields; GroupService holds the rules of who may do
what inside a group, and the notifications.
"""

from __future__ import annotations

from typing import Any

from openim.api.framework import Caller, Router
from openim.node import Node
from openim.service_set import Services
from openim.services.groups.access import Operator
from openim.wire.errors import args_error
from openim.wire.pb import group_pb2 as pb

# set_group_info_ex wrapper field -> GroupRecord attribute.
_GROUP_INFO_FIELDS = {
    "groupName": "group_name",
    "notification": "notification",
    "introduction": "introduction",
    "faceURL": "face_url",
    "ex": "ex",
    "needVerification": "need_verification",
    "lookMemberInfo": "look_member_info",
    "applyMemberFriend": "apply_member_friend",
}


_DIFF_LISTS = ("insert", "update", "delete")


def nil_empty_lists(data: dict[str, Any]) -> dict[str, Any]:
    """Go writes an incremental answer's empty insert/update/delete as ``null``, and the SDK relies on
    it: it applies ``insert || update`` and would take an empty ``[]`` for a list of members."""
    for key in _DIFF_LISTS:
        if data.get(key) == []:
            data[key] = None
    return data


def nil_empty_lists_batch(data: dict[str, Any]) -> dict[str, Any]:
    for one in (data.get("respList") or {}).values():
        nil_empty_lists(one)
    return data


def _op(caller: Caller) -> Operator:
    return Operator(caller.user_id, caller.is_admin)


def _acting_for(caller: Caller, user_id: str, name: str) -> str:
    if not user_id:
        raise args_error(f"{name} is empty")
    caller.check_access(user_id)
    return user_id


def _send_message(req: Any) -> bool | None:
    """The optional ``sendMessage`` flag overrides whether a chat copy is stored (OpenIM's rule)."""
    return bool(req.sendMessage) if req.HasField("sendMessage") else None


def info_ex_changes(req: pb.SetGroupInfoExReq) -> dict[str, Any]:
    return {attr: getattr(req, name).value for name, attr in _GROUP_INFO_FIELDS.items() if req.HasField(name)}


def legacy_info_changes(req: pb.SetGroupInfoReq) -> dict[str, Any]:
    """set_group_info: empty strings mean "unchanged"; the wrappers mean what they say."""
    info = req.groupInfoForSet
    changes: dict[str, Any] = {}
    for name in ("groupName", "notification", "introduction", "faceURL"):
        if getattr(info, name):
            changes[_GROUP_INFO_FIELDS[name]] = getattr(info, name)
    for name in ("ex", "needVerification", "lookMemberInfo", "applyMemberFriend"):
        if info.HasField(name):
            changes[_GROUP_INFO_FIELDS[name]] = getattr(info, name).value
    return changes


def register(router: Router, node: Node, services: Services) -> None:
    groups = services.groups

    # -- the login sync (the SDK fails its login without these) -----------------------------------------
    @router.route(
        "/group/get_incremental_join_groups",
        pb.getIncrementalJoinGroupReq,
        pb.getIncrementalJoinGroupResp,
        json_hook=nil_empty_lists,
    )
    async def incremental_join(caller: Caller, req: pb.getIncrementalJoinGroupReq) -> pb.getIncrementalJoinGroupResp:
        return await groups.incremental_join_groups(
            _acting_for(caller, req.userID, "userID"), req.versionID, req.version
        )

    @router.route("/group/get_full_join_group_ids", pb.GetFullJoinGroupIDsReq, pb.GetFullJoinGroupIDsResp)
    async def full_join_ids(caller: Caller, req: pb.GetFullJoinGroupIDsReq) -> pb.GetFullJoinGroupIDsResp:
        return await groups.full_join_group_ids(_acting_for(caller, req.userID, "userID"), req.idHash)

    @router.route(
        "/group/get_incremental_group_members_batch",
        pb.BatchGetIncrementalGroupMemberReq,
        pb.BatchGetIncrementalGroupMemberResp,
        json_hook=nil_empty_lists_batch,
    )
    async def incremental_members_batch(
        caller: Caller, req: pb.BatchGetIncrementalGroupMemberReq
    ) -> pb.BatchGetIncrementalGroupMemberResp:
        _acting_for(caller, req.userID, "userID")
        return await groups.incremental_members_batch(Operator(req.userID), list(req.reqList))

    @router.route(
        "/group/get_incremental_group_members",
        pb.getIncrementalGroupMemberReq,
        pb.getIncrementalGroupMemberResp,
        json_hook=nil_empty_lists,
    )
    async def incremental_members(
        caller: Caller, req: pb.getIncrementalGroupMemberReq
    ) -> pb.getIncrementalGroupMemberResp:
        return await groups.incremental_members(_op(caller), req.groupID, req.versionID, req.version)

    @router.route(
        "/group/get_full_group_member_user_ids", pb.GetFullGroupMemberUserIDsReq, pb.GetFullGroupMemberUserIDsResp
    )
    async def full_member_ids(caller: Caller, req: pb.GetFullGroupMemberUserIDsReq) -> pb.GetFullGroupMemberUserIDsResp:
        return await groups.full_member_ids(_op(caller), req.groupID, req.idHash)

    # -- groups -----------------------------------------------------------------------------------------
    @router.route("/group/create_group", pb.CreateGroupReq, pb.CreateGroupResp)
    async def create_group(caller: Caller, req: pb.CreateGroupReq) -> pb.CreateGroupResp:
        info = await groups.create_group(_op(caller), req, caller.operation_id)
        return pb.CreateGroupResp(groupInfo=info)

    @router.route("/group/get_groups_info", pb.GetGroupsInfoReq, pb.GetGroupsInfoResp)
    async def groups_info(caller: Caller, req: pb.GetGroupsInfoReq) -> pb.GetGroupsInfoResp:
        if not req.groupIDs:
            raise args_error("groupIDs is empty")
        return pb.GetGroupsInfoResp(groupInfos=await groups.groups_info(list(req.groupIDs)))

    @router.route("/group/get_joined_group_list", pb.GetJoinedGroupListReq, pb.GetJoinedGroupListResp)
    async def joined(caller: Caller, req: pb.GetJoinedGroupListReq) -> pb.GetJoinedGroupListResp:
        total, infos = await groups.joined_groups(_acting_for(caller, req.fromUserID, "fromUserID"), req.pagination)
        return pb.GetJoinedGroupListResp(total=total, groups=infos)

    @router.route("/group/get_groups", pb.GetGroupsReq, pb.GetGroupsResp)
    async def search(caller: Caller, req: pb.GetGroupsReq) -> pb.GetGroupsResp:
        return await groups.search_groups(req.pagination, req.groupID, req.groupName)

    @router.route("/group/set_group_info_ex", pb.SetGroupInfoExReq, pb.SetGroupInfoExResp)
    async def set_info_ex(caller: Caller, req: pb.SetGroupInfoExReq) -> None:
        await groups.set_group_info(_op(caller), req.groupID, info_ex_changes(req), caller.operation_id)
        return None

    @router.route("/group/set_group_info", pb.SetGroupInfoReq, pb.SetGroupInfoResp)
    async def set_info(caller: Caller, req: pb.SetGroupInfoReq) -> None:
        if not req.HasField("groupInfoForSet"):
            raise args_error("groupInfoForSet is empty")
        group_id = req.groupInfoForSet.groupID
        await groups.set_group_info(_op(caller), group_id, legacy_info_changes(req), caller.operation_id)
        return None

    @router.route("/group/mute_group", pb.MuteGroupReq, pb.MuteGroupResp)
    async def mute_group(caller: Caller, req: pb.MuteGroupReq) -> None:
        await groups.mute_group(_op(caller), req.groupID, True, caller.operation_id)
        return None

    @router.route("/group/cancel_mute_group", pb.CancelMuteGroupReq, pb.CancelMuteGroupResp)
    async def cancel_mute_group(caller: Caller, req: pb.CancelMuteGroupReq) -> None:
        await groups.mute_group(_op(caller), req.groupID, False, caller.operation_id)
        return None

    @router.route("/group/transfer_group", pb.TransferGroupOwnerReq, pb.TransferGroupOwnerResp)
    async def transfer(caller: Caller, req: pb.TransferGroupOwnerReq) -> None:
        _acting_for(caller, req.oldOwnerUserID, "oldOwnerUserID")
        await groups.transfer(_op(caller), req.groupID, req.oldOwnerUserID, req.newOwnerUserID, caller.operation_id)
        return None

    @router.route("/group/dismiss_group", pb.DismissGroupReq, pb.DismissGroupResp)
    async def dismiss(caller: Caller, req: pb.DismissGroupReq) -> None:
        await groups.dismiss(
            _op(caller), req.groupID, req.deleteMember, caller.operation_id, send_message=_send_message(req)
        )
        return None

    # -- membership -------------------------------------------------------------------------------------
    @router.route("/group/join_group", pb.JoinGroupReq, pb.JoinGroupResp)
    async def join(caller: Caller, req: pb.JoinGroupReq) -> None:
        await groups.join(_op(caller), req, caller.operation_id)
        return None

    @router.route("/group/invite_user_to_group", pb.InviteUserToGroupReq, pb.InviteUserToGroupResp)
    async def invite(caller: Caller, req: pb.InviteUserToGroupReq) -> None:
        if not req.groupID:
            raise args_error("groupID is empty")
        await groups.invite(
            _op(caller),
            req.groupID,
            list(req.invitedUserIDs),
            req.reason,
            caller.operation_id,
            send_message=_send_message(req),
        )
        return None

    @router.route("/group/kick_group", pb.KickGroupMemberReq, pb.KickGroupMemberResp)
    async def kick(caller: Caller, req: pb.KickGroupMemberReq) -> None:
        if not req.groupID:
            raise args_error("groupID is empty")
        await groups.kick(
            _op(caller),
            req.groupID,
            list(req.kickedUserIDs),
            req.reason,
            caller.operation_id,
            send_message=_send_message(req),
        )
        return None

    @router.route("/group/quit_group", pb.QuitGroupReq, pb.QuitGroupResp)
    async def quit_group(caller: Caller, req: pb.QuitGroupReq) -> None:
        await groups.quit(_op(caller), req.groupID, req.userID, caller.operation_id)
        return None

    @router.route("/group/mute_group_member", pb.MuteGroupMemberReq, pb.MuteGroupMemberResp)
    async def mute_member(caller: Caller, req: pb.MuteGroupMemberReq) -> None:
        if req.mutedSeconds <= 0:
            raise args_error("mutedSeconds must be positive")
        await groups.mute_member(_op(caller), req.groupID, req.userID, req.mutedSeconds, caller.operation_id)
        return None

    @router.route("/group/cancel_mute_group_member", pb.CancelMuteGroupMemberReq, pb.CancelMuteGroupMemberResp)
    async def cancel_mute_member(caller: Caller, req: pb.CancelMuteGroupMemberReq) -> None:
        await groups.mute_member(_op(caller), req.groupID, req.userID, 0, caller.operation_id)
        return None

    @router.route("/group/set_group_member_info", pb.SetGroupMemberInfoReq, pb.SetGroupMemberInfoResp)
    async def set_member_info(caller: Caller, req: pb.SetGroupMemberInfoReq) -> None:
        await groups.set_member_info(_op(caller), list(req.members), caller.operation_id)
        return None

    @router.route("/group/get_group_member_list", pb.GetGroupMemberListReq, pb.GetGroupMemberListResp)
    async def member_list(caller: Caller, req: pb.GetGroupMemberListReq) -> pb.GetGroupMemberListResp:
        total, members = await groups.member_page(_op(caller), req.groupID, req.filter, req.keyword, req.pagination)
        return pb.GetGroupMemberListResp(total=total, members=members)

    @router.route("/group/get_group_members_info", pb.GetGroupMembersInfoReq, pb.GetGroupMembersInfoResp)
    async def members_info(caller: Caller, req: pb.GetGroupMembersInfoReq) -> pb.GetGroupMembersInfoResp:
        return pb.GetGroupMembersInfoResp(
            members=await groups.members_info(_op(caller), req.groupID, list(req.userIDs))
        )

    @router.route("/group/get_group_member_user_id", pb.GetGroupMemberUserIDsReq, pb.GetGroupMemberUserIDsResp)
    async def member_user_ids(caller: Caller, req: pb.GetGroupMemberUserIDsReq) -> pb.GetGroupMemberUserIDsResp:
        return pb.GetGroupMemberUserIDsResp(userIDs=await groups.member_user_ids(_op(caller), req.groupID))

    @router.route("/group/get_group_abstract_info", pb.GetGroupAbstractInfoReq, pb.GetGroupAbstractInfoResp)
    async def abstract_info(caller: Caller, req: pb.GetGroupAbstractInfoReq) -> pb.GetGroupAbstractInfoResp:
        return await groups.abstract_info(_op(caller), list(req.groupIDs))

    # -- applications -----------------------------------------------------------------------------------
    @router.route(
        "/group/get_recv_group_applicationList", pb.GetGroupApplicationListReq, pb.GetGroupApplicationListResp
    )
    async def received(caller: Caller, req: pb.GetGroupApplicationListReq) -> pb.GetGroupApplicationListResp:
        user_id = _acting_for(caller, req.fromUserID, "fromUserID")
        total, rows = await groups.applications_received(
            _op(caller), user_id, list(req.groupIDs), list(req.handleResults), req.pagination
        )
        return pb.GetGroupApplicationListResp(total=total, groupRequests=rows)

    @router.route(
        "/group/get_user_req_group_applicationList", pb.GetUserReqApplicationListReq, pb.GetUserReqApplicationListResp
    )
    async def made(caller: Caller, req: pb.GetUserReqApplicationListReq) -> pb.GetUserReqApplicationListResp:
        user_id = _acting_for(caller, req.userID, "userID")
        total, rows = await groups.applications_made(
            user_id, list(req.groupIDs), list(req.handleResults), req.pagination
        )
        return pb.GetUserReqApplicationListResp(total=total, groupRequests=rows)

    @router.route(
        "/group/get_specified_user_group_request_info",
        pb.GetSpecifiedUserGroupRequestInfoReq,
        pb.GetSpecifiedUserGroupRequestInfoResp,
    )
    async def specified(
        caller: Caller, req: pb.GetSpecifiedUserGroupRequestInfoReq
    ) -> pb.GetSpecifiedUserGroupRequestInfoResp:
        total, rows = await groups.requests_of(_op(caller), req.groupID, [req.userID])
        return pb.GetSpecifiedUserGroupRequestInfoResp(total=total, groupRequests=rows)

    @router.route(
        "/group/get_group_users_req_application_list",
        pb.getGroupUsersReqApplicationListReq,
        pb.getGroupUsersReqApplicationListResp,
    )
    async def users_requests(
        caller: Caller, req: pb.getGroupUsersReqApplicationListReq
    ) -> pb.getGroupUsersReqApplicationListResp:
        if not req.userIDs:
            raise args_error("userIDs is empty")
        total, rows = await groups.requests_of(_op(caller), req.groupID, list(dict.fromkeys(req.userIDs)))
        return pb.getGroupUsersReqApplicationListResp(total=total, groupRequests=rows)

    @router.route("/group/group_application_response", pb.GroupApplicationResponseReq, pb.GroupApplicationResponseResp)
    async def respond(caller: Caller, req: pb.GroupApplicationResponseReq) -> None:
        await groups.respond(
            _op(caller), req.groupID, req.fromUserID, req.handledMsg, req.handleResult, caller.operation_id
        )
        return None
