"""/group/*: groups, members, applications and their version-log sync.

This module checks the request shape and CheckAccess of the "acting for" fields (a user acts for
himself, an app admin for anyone) and maps wire fields; GroupService holds the rules of who may do
what inside a group, and the notifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openim.api.framework import Caller, Router, RouteSpec
from openim.node import Node
from openim.service_set import Services
from openim.services.groups.access import Operator
from openim.services.groups.service import GroupService
from openim.wire.errors import args_error
from openim.wire.pb import group_pb2 as pb

_DIFF_LISTS = ("insert", "update", "delete")
InviteOrKickReq = pb.InviteUserToGroupReq | pb.KickGroupMemberReq
MemberChange = tuple[Operator, str, list[str], str, str]


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


def _send_message(req: Any) -> bool | None:
    """The optional ``sendMessage`` flag overrides whether a chat copy is stored (OpenIM's rule)."""
    return bool(req.sendMessage) if req.HasField("sendMessage") else None


def _member_change(caller: Caller, req: InviteOrKickReq, user_ids: Sequence[str]) -> MemberChange:
    """The arguments invite and kick share: operator, group, the users, reason, operationID."""
    if not req.groupID:
        raise args_error("groupID is empty")
    return _op(caller), req.groupID, list(user_ids), req.reason, caller.operation_id


class GroupRoutes:
    """The /group handlers, over GroupService."""

    def __init__(self, groups: GroupService) -> None:
        self._groups = groups

    # -- the login sync (the SDK fails its login without these) -----------------------------------------
    async def incremental_join(
        self, caller: Caller, req: pb.getIncrementalJoinGroupReq
    ) -> pb.getIncrementalJoinGroupResp:
        user_id = caller.acting_for(req.userID)
        return await self._groups.incremental_join_groups(user_id, req.versionID, req.version)

    async def full_join_ids(self, caller: Caller, req: pb.GetFullJoinGroupIDsReq) -> pb.GetFullJoinGroupIDsResp:
        return await self._groups.full_join_group_ids(caller.acting_for(req.userID), req.idHash)

    async def incremental_members_batch(
        self, caller: Caller, req: pb.BatchGetIncrementalGroupMemberReq
    ) -> pb.BatchGetIncrementalGroupMemberResp:
        caller.acting_for(req.userID)
        return await self._groups.incremental_members_batch(Operator(req.userID), list(req.reqList))

    async def incremental_members(
        self, caller: Caller, req: pb.getIncrementalGroupMemberReq
    ) -> pb.getIncrementalGroupMemberResp:
        return await self._groups.incremental_members(_op(caller), req.groupID, req.versionID, req.version)

    async def full_member_ids(
        self, caller: Caller, req: pb.GetFullGroupMemberUserIDsReq
    ) -> pb.GetFullGroupMemberUserIDsResp:
        return await self._groups.full_member_ids(_op(caller), req.groupID, req.idHash)

    # -- groups -----------------------------------------------------------------------------------------
    async def create_group(self, caller: Caller, req: pb.CreateGroupReq) -> pb.CreateGroupResp:
        info = await self._groups.create_group(_op(caller), req, caller.operation_id)
        return pb.CreateGroupResp(groupInfo=info)

    async def groups_info(self, caller: Caller, req: pb.GetGroupsInfoReq) -> pb.GetGroupsInfoResp:
        if not req.groupIDs:
            raise args_error("groupIDs is empty")
        return pb.GetGroupsInfoResp(groupInfos=await self._groups.groups_info(list(req.groupIDs)))

    async def joined(self, caller: Caller, req: pb.GetJoinedGroupListReq) -> pb.GetJoinedGroupListResp:
        user_id = caller.acting_for(req.fromUserID, "fromUserID")
        total, infos = await self._groups.joined_groups(user_id, req.pagination)
        return pb.GetJoinedGroupListResp(total=total, groups=infos)

    async def search(self, caller: Caller, req: pb.GetGroupsReq) -> pb.GetGroupsResp:
        return await self._groups.search_groups(req.pagination, req.groupID, req.groupName)

    async def set_info_ex(self, caller: Caller, req: pb.SetGroupInfoExReq) -> None:
        await self._groups.set_group_info_ex(_op(caller), req, caller.operation_id)

    async def set_info(self, caller: Caller, req: pb.SetGroupInfoReq) -> None:
        if not req.HasField("groupInfoForSet"):
            raise args_error("groupInfoForSet is empty")
        await self._groups.set_group_info_legacy(_op(caller), req.groupInfoForSet, caller.operation_id)

    async def mute_group(self, caller: Caller, req: pb.MuteGroupReq) -> None:
        await self._groups.mute_group(_op(caller), req.groupID, True, caller.operation_id)

    async def cancel_mute_group(self, caller: Caller, req: pb.CancelMuteGroupReq) -> None:
        await self._groups.mute_group(_op(caller), req.groupID, False, caller.operation_id)

    async def transfer(self, caller: Caller, req: pb.TransferGroupOwnerReq) -> None:
        caller.acting_for(req.oldOwnerUserID, "oldOwnerUserID")
        await self._groups.transfer(
            _op(caller), req.groupID, req.oldOwnerUserID, req.newOwnerUserID, caller.operation_id
        )

    async def dismiss(self, caller: Caller, req: pb.DismissGroupReq) -> None:
        await self._groups.dismiss(
            _op(caller), req.groupID, req.deleteMember, caller.operation_id, send_message=_send_message(req)
        )

    # -- membership -------------------------------------------------------------------------------------
    async def join(self, caller: Caller, req: pb.JoinGroupReq) -> None:
        await self._groups.join(_op(caller), req, caller.operation_id)

    async def invite(self, caller: Caller, req: pb.InviteUserToGroupReq) -> None:
        change = _member_change(caller, req, req.invitedUserIDs)
        await self._groups.invite(*change, send_message=_send_message(req))

    async def kick(self, caller: Caller, req: pb.KickGroupMemberReq) -> None:
        change = _member_change(caller, req, req.kickedUserIDs)
        await self._groups.kick(*change, send_message=_send_message(req))

    async def quit_group(self, caller: Caller, req: pb.QuitGroupReq) -> None:
        await self._groups.quit(_op(caller), req.groupID, req.userID, caller.operation_id)

    async def mute_member(self, caller: Caller, req: pb.MuteGroupMemberReq) -> None:
        if req.mutedSeconds <= 0:
            raise args_error("mutedSeconds must be positive")
        await self._groups.mute_member(_op(caller), req.groupID, req.userID, req.mutedSeconds, caller.operation_id)

    async def cancel_mute_member(self, caller: Caller, req: pb.CancelMuteGroupMemberReq) -> None:
        await self._groups.mute_member(_op(caller), req.groupID, req.userID, 0, caller.operation_id)

    async def set_member_info(self, caller: Caller, req: pb.SetGroupMemberInfoReq) -> None:
        await self._groups.set_member_info(_op(caller), list(req.members), caller.operation_id)

    async def member_list(self, caller: Caller, req: pb.GetGroupMemberListReq) -> pb.GetGroupMemberListResp:
        total, members = await self._groups.member_page(
            _op(caller), req.groupID, req.filter, req.keyword, req.pagination
        )
        return pb.GetGroupMemberListResp(total=total, members=members)

    async def members_info(self, caller: Caller, req: pb.GetGroupMembersInfoReq) -> pb.GetGroupMembersInfoResp:
        members = await self._groups.members_info(_op(caller), req.groupID, list(req.userIDs))
        return pb.GetGroupMembersInfoResp(members=members)

    async def member_user_ids(self, caller: Caller, req: pb.GetGroupMemberUserIDsReq) -> pb.GetGroupMemberUserIDsResp:
        return pb.GetGroupMemberUserIDsResp(userIDs=await self._groups.member_user_ids(_op(caller), req.groupID))

    async def abstract_info(self, caller: Caller, req: pb.GetGroupAbstractInfoReq) -> pb.GetGroupAbstractInfoResp:
        return await self._groups.abstract_info(_op(caller), list(req.groupIDs))

    # -- applications -----------------------------------------------------------------------------------
    async def received(self, caller: Caller, req: pb.GetGroupApplicationListReq) -> pb.GetGroupApplicationListResp:
        user_id = caller.acting_for(req.fromUserID, "fromUserID")
        total, rows = await self._groups.applications_received(
            _op(caller), user_id, list(req.groupIDs), list(req.handleResults), req.pagination
        )
        return pb.GetGroupApplicationListResp(total=total, groupRequests=rows)

    async def made(self, caller: Caller, req: pb.GetUserReqApplicationListReq) -> pb.GetUserReqApplicationListResp:
        user_id = caller.acting_for(req.userID)
        total, rows = await self._groups.applications_made(
            user_id, list(req.groupIDs), list(req.handleResults), req.pagination
        )
        return pb.GetUserReqApplicationListResp(total=total, groupRequests=rows)

    async def unhandled_count(
        self, caller: Caller, req: pb.GetGroupApplicationUnhandledCountReq
    ) -> pb.GetGroupApplicationUnhandledCountResp:
        user_id = caller.acting_for(req.userID)
        return pb.GetGroupApplicationUnhandledCountResp(count=await self._groups.pending_count(user_id, req.time))

    async def specified(
        self, caller: Caller, req: pb.GetSpecifiedUserGroupRequestInfoReq
    ) -> pb.GetSpecifiedUserGroupRequestInfoResp:
        total, rows = await self._groups.requests_of(_op(caller), req.groupID, [req.userID])
        return pb.GetSpecifiedUserGroupRequestInfoResp(total=total, groupRequests=rows)

    async def users_requests(
        self, caller: Caller, req: pb.getGroupUsersReqApplicationListReq
    ) -> pb.getGroupUsersReqApplicationListResp:
        if not req.userIDs:
            raise args_error("userIDs is empty")
        total, rows = await self._groups.requests_of(_op(caller), req.groupID, list(dict.fromkeys(req.userIDs)))
        return pb.getGroupUsersReqApplicationListResp(total=total, groupRequests=rows)

    async def respond(self, caller: Caller, req: pb.GroupApplicationResponseReq) -> None:
        await self._groups.respond(
            _op(caller), req.groupID, req.fromUserID, req.handledMsg, req.handleResult, caller.operation_id
        )


def register(router: Router, node: Node, services: Services) -> None:
    h = GroupRoutes(services.groups)
    router.add(*_sync_routes(h), *_group_routes(h), *_member_routes(h), *_application_routes(h))


def _sync_routes(h: GroupRoutes) -> list[RouteSpec[Any]]:
    """The login sync (the SDK fails its login without these)."""
    return [
        RouteSpec(
            "/group/get_incremental_join_groups",
            pb.getIncrementalJoinGroupReq,
            pb.getIncrementalJoinGroupResp,
            h.incremental_join,
            json_hook=nil_empty_lists,
        ),
        RouteSpec(
            "/group/get_full_join_group_ids", pb.GetFullJoinGroupIDsReq, pb.GetFullJoinGroupIDsResp, h.full_join_ids
        ),
        RouteSpec(
            "/group/get_incremental_group_members_batch",
            pb.BatchGetIncrementalGroupMemberReq,
            pb.BatchGetIncrementalGroupMemberResp,
            h.incremental_members_batch,
            json_hook=nil_empty_lists_batch,
        ),
        RouteSpec(
            "/group/get_incremental_group_members",
            pb.getIncrementalGroupMemberReq,
            pb.getIncrementalGroupMemberResp,
            h.incremental_members,
            json_hook=nil_empty_lists,
        ),
        RouteSpec(
            "/group/get_full_group_member_user_ids",
            pb.GetFullGroupMemberUserIDsReq,
            pb.GetFullGroupMemberUserIDsResp,
            h.full_member_ids,
        ),
    ]


def _group_routes(h: GroupRoutes) -> list[RouteSpec[Any]]:
    return [
        RouteSpec("/group/create_group", pb.CreateGroupReq, pb.CreateGroupResp, h.create_group),
        RouteSpec("/group/get_groups_info", pb.GetGroupsInfoReq, pb.GetGroupsInfoResp, h.groups_info),
        RouteSpec("/group/get_joined_group_list", pb.GetJoinedGroupListReq, pb.GetJoinedGroupListResp, h.joined),
        RouteSpec("/group/get_groups", pb.GetGroupsReq, pb.GetGroupsResp, h.search),
        RouteSpec("/group/set_group_info_ex", pb.SetGroupInfoExReq, pb.SetGroupInfoExResp, h.set_info_ex),
        RouteSpec("/group/set_group_info", pb.SetGroupInfoReq, pb.SetGroupInfoResp, h.set_info),
        RouteSpec("/group/mute_group", pb.MuteGroupReq, pb.MuteGroupResp, h.mute_group),
        RouteSpec("/group/cancel_mute_group", pb.CancelMuteGroupReq, pb.CancelMuteGroupResp, h.cancel_mute_group),
        RouteSpec("/group/transfer_group", pb.TransferGroupOwnerReq, pb.TransferGroupOwnerResp, h.transfer),
        RouteSpec("/group/dismiss_group", pb.DismissGroupReq, pb.DismissGroupResp, h.dismiss),
    ]


def _member_routes(h: GroupRoutes) -> list[RouteSpec[Any]]:
    return [
        RouteSpec("/group/join_group", pb.JoinGroupReq, pb.JoinGroupResp, h.join),
        RouteSpec("/group/invite_user_to_group", pb.InviteUserToGroupReq, pb.InviteUserToGroupResp, h.invite),
        RouteSpec("/group/kick_group", pb.KickGroupMemberReq, pb.KickGroupMemberResp, h.kick),
        RouteSpec("/group/quit_group", pb.QuitGroupReq, pb.QuitGroupResp, h.quit_group),
        RouteSpec("/group/mute_group_member", pb.MuteGroupMemberReq, pb.MuteGroupMemberResp, h.mute_member),
        RouteSpec(
            "/group/cancel_mute_group_member",
            pb.CancelMuteGroupMemberReq,
            pb.CancelMuteGroupMemberResp,
            h.cancel_mute_member,
        ),
        RouteSpec(
            "/group/set_group_member_info", pb.SetGroupMemberInfoReq, pb.SetGroupMemberInfoResp, h.set_member_info
        ),
        RouteSpec("/group/get_group_member_list", pb.GetGroupMemberListReq, pb.GetGroupMemberListResp, h.member_list),
        RouteSpec(
            "/group/get_group_members_info", pb.GetGroupMembersInfoReq, pb.GetGroupMembersInfoResp, h.members_info
        ),
        RouteSpec(
            "/group/get_group_member_user_id",
            pb.GetGroupMemberUserIDsReq,
            pb.GetGroupMemberUserIDsResp,
            h.member_user_ids,
        ),
        RouteSpec(
            "/group/get_group_abstract_info", pb.GetGroupAbstractInfoReq, pb.GetGroupAbstractInfoResp, h.abstract_info
        ),
    ]


def _application_routes(h: GroupRoutes) -> list[RouteSpec[Any]]:
    return [
        RouteSpec(
            "/group/get_recv_group_applicationList",
            pb.GetGroupApplicationListReq,
            pb.GetGroupApplicationListResp,
            h.received,
        ),
        RouteSpec(
            "/group/get_group_application_unhandled_count",
            pb.GetGroupApplicationUnhandledCountReq,
            pb.GetGroupApplicationUnhandledCountResp,
            h.unhandled_count,
        ),
        RouteSpec(
            "/group/get_user_req_group_applicationList",
            pb.GetUserReqApplicationListReq,
            pb.GetUserReqApplicationListResp,
            h.made,
        ),
        RouteSpec(
            "/group/get_specified_user_group_request_info",
            pb.GetSpecifiedUserGroupRequestInfoReq,
            pb.GetSpecifiedUserGroupRequestInfoResp,
            h.specified,
        ),
        RouteSpec(
            "/group/get_group_users_req_application_list",
            pb.getGroupUsersReqApplicationListReq,
            pb.getGroupUsersReqApplicationListResp,
            h.users_requests,
        ),
        RouteSpec(
            "/group/group_application_response",
            pb.GroupApplicationResponseReq,
            pb.GroupApplicationResponseResp,
            h.respond,
        ),
    ]
