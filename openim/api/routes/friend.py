"""/friend/*: friends, friend requests, blacklists and their incremental sync.

Who may call what (OpenIM's rules: the token's own user, or an app admin):

* a route that acts for one user named in the body (``userID``, ``ownerUserID``, the responder
  ``toUserID``, the applicant ``fromUserID``) needs that user's own token or an admin's (CheckAccess,
  1002 otherwise);
* the routes about a pair (``is_friend``, ``get_designated_friend_apply``) accept either user of the
  pair, or an admin (CheckAccessIn);
* ``import_friend`` is for app admins only.

The behaviour lives in RelationService; this module checks the request shape and access, and maps
fields. Every route answers the SDK's JSON keys exactly (``FriendRequests`` with a capital F in
get_friend_apply_list).
"""

from __future__ import annotations

from collections.abc import Sequence

from openim.api.framework import Auth, Caller, Router, RouteSpec
from openim.node import Node
from openim.service_set import Services
from openim.services.relations import MAX_IMPORT, RelationService, distinct_ids
from openim.wire.errors import args_error, no_permission
from openim.wire.pb import relation_pb2 as pb
from openim.wire.pb import sdkws_pb2

ApplyPageReq = pb.getPaginationFriendsApplyFromReq | pb.getPaginationFriendsApplyToReq


def _either_of(caller: Caller, user_1: str, user_2: str, names: tuple[str, str]) -> None:
    """OpenIM's CheckAccessIn: the caller is one of the two users, or an admin."""
    for value, name in zip((user_1, user_2), names, strict=True):
        if not value:
            raise args_error(f"{name} is empty")
    if not caller.is_admin and caller.user_id not in (user_1, user_2):
        raise no_permission(f"token user {caller.user_id} is neither {user_1} nor {user_2}")


def _owner_and(caller: Caller, owner: str, other: str | Sequence[str], name: str) -> str:
    """CheckAccess on ``ownerUserID`` (the owner returned), then ``name`` (the other user or users) required."""
    checked = caller.acting_for(owner, "ownerUserID")
    if not other:
        raise args_error(f"{name} is empty")
    return checked


class FriendRoutes:
    """The /friend handlers, over RelationService."""

    def __init__(self, relations: RelationService) -> None:
        self._relations = relations

    # -- incremental sync (called by the SDK at every login) ---------------------------------------
    async def incremental(self, caller: Caller, req: pb.getIncrementalFriendsReq) -> pb.getIncrementalFriendsResp:
        owner = caller.acting_for(req.userID)
        return await self._relations.incremental(owner, req.versionID, req.version)

    async def full_ids(self, caller: Caller, req: pb.getFullFriendUserIDsReq) -> pb.getFullFriendUserIDsResp:
        return await self._relations.full_ids(caller.acting_for(req.userID), req.idHash)

    async def designated(self, caller: Caller, req: pb.getDesignatedFriendsReq) -> pb.getDesignatedFriendsResp:
        """Only existing friendships come back; an empty list is an empty answer, a missing one 1001."""
        owner = caller.acting_for(req.ownerUserID, "ownerUserID")
        if not caller.sent("friendUserIDs"):
            raise args_error("friendUserIDs is empty")
        ids = distinct_ids(req.friendUserIDs, "friendUserIDs")
        return pb.getDesignatedFriendsResp(friendsInfo=await self._relations.designated(owner, ids))

    # -- requests ---------------------------------------------------------------------------------
    async def add_friend(self, caller: Caller, req: pb.applyToAddFriendReq) -> None:
        from_id = caller.acting_for(req.fromUserID, "fromUserID")
        if not req.toUserID:
            raise args_error("toUserID is empty")
        await self._relations.apply(from_id, req.toUserID, req.reqMsg, req.ex, operation_id=caller.operation_id)

    async def add_friend_response(self, caller: Caller, req: pb.respondFriendApplyReq) -> None:
        to_id = caller.acting_for(req.toUserID, "toUserID")
        if not req.fromUserID:
            raise args_error("fromUserID is empty")
        await self._relations.respond(
            req.fromUserID,
            to_id,
            req.handleResult,
            req.handleMsg,
            handler=caller.user_id,
            operation_id=caller.operation_id,
        )

    async def _request_page(
        self, caller: Caller, req: ApplyPageReq, *, received: bool
    ) -> tuple[int, list[sdkws_pb2.FriendRequest]]:
        user_id = caller.acting_for(req.userID)
        return await self._relations.request_page(
            user_id, received=received, handle_results=list(req.handleResults), pagination=req.pagination
        )

    async def sent_requests(
        self, caller: Caller, req: pb.getPaginationFriendsApplyFromReq
    ) -> pb.getPaginationFriendsApplyFromResp:
        total, items = await self._request_page(caller, req, received=False)
        return pb.getPaginationFriendsApplyFromResp(friendRequests=items, total=total)

    async def received_requests(
        self, caller: Caller, req: pb.getPaginationFriendsApplyToReq
    ) -> pb.getPaginationFriendsApplyToResp:
        total, items = await self._request_page(caller, req, received=True)
        return pb.getPaginationFriendsApplyToResp(FriendRequests=items, total=total)

    async def unhandled_count(
        self, caller: Caller, req: pb.getSelfUnhandledApplyCountReq
    ) -> pb.getSelfUnhandledApplyCountResp:
        user_id = caller.acting_for(req.userID)
        return pb.getSelfUnhandledApplyCountResp(count=await self._relations.pending_request_count(user_id, req.time))

    async def designated_apply(
        self, caller: Caller, req: pb.getDesignatedFriendsApplyReq
    ) -> pb.getDesignatedFriendsApplyResp:
        """Requests in both directions between the pair (the SDK sometimes passes them swapped)."""
        _either_of(caller, req.fromUserID, req.toUserID, ("fromUserID", "toUserID"))
        items = await self._relations.requests_between(req.fromUserID, req.toUserID)
        return pb.getDesignatedFriendsApplyResp(friendRequests=items)

    # -- friends ----------------------------------------------------------------------------------
    async def delete_friend(self, caller: Caller, req: pb.deleteFriendReq) -> None:
        owner = _owner_and(caller, req.ownerUserID, req.friendUserID, "friendUserID")
        await self._relations.delete(owner, req.friendUserID, operation_id=caller.operation_id)

    async def is_friend(self, caller: Caller, req: pb.isFriendReq) -> pb.isFriendResp:
        _either_of(caller, req.userID1, req.userID2, ("userID1", "userID2"))
        in_1, in_2 = await self._relations.is_friend(req.userID1, req.userID2)
        return pb.isFriendResp(inUser1Friends=in_1, inUser2Friends=in_2)

    async def friend_list(self, caller: Caller, req: pb.getPaginationFriendsReq) -> pb.getPaginationFriendsResp:
        owner = caller.acting_for(req.userID)
        total, items = await self._relations.friend_page(owner, req.pagination)
        return pb.getPaginationFriendsResp(friendsInfo=items, total=total)

    async def friend_ids(self, caller: Caller, req: pb.getFriendIDsReq) -> pb.getFriendIDsResp:
        owner = caller.acting_for(req.userID)
        return pb.getFriendIDsResp(friendIDs=await self._relations.friend_ids(owner))

    async def specified_info(
        self, caller: Caller, req: pb.getSpecifiedFriendsInfoReq
    ) -> pb.getSpecifiedFriendsInfoResp:
        owner = _owner_and(caller, req.ownerUserID, req.userIDList, "userIDList")
        ids = distinct_ids(req.userIDList, "userIDList")
        return pb.getSpecifiedFriendsInfoResp(infos=await self._relations.specified_info(owner, ids))

    async def update_friends(self, caller: Caller, req: pb.updateFriendsReq) -> None:
        """Wrapper fields: absent or null leaves the field unchanged."""
        owner = _owner_and(caller, req.ownerUserID, req.friendUserIDs, "friendUserIDs")
        ids = distinct_ids(req.friendUserIDs, "friendUserIDs")
        await self._relations.update_friend_fields(owner, ids, req, operation_id=caller.operation_id)

    async def set_friend_remark(self, caller: Caller, req: pb.setFriendRemarkReq) -> None:
        owner = _owner_and(caller, req.ownerUserID, req.friendUserID, "friendUserID")
        await self._relations.set_remark(owner, req.friendUserID, req.remark, operation_id=caller.operation_id)

    async def import_friend(self, caller: Caller, req: pb.importFriendReq) -> None:
        if not req.ownerUserID:
            raise args_error("ownerUserID is empty")
        if not req.friendUserIDs:
            raise args_error("friendUserIDs is empty")
        ids = distinct_ids(req.friendUserIDs, "friendUserIDs", limit=MAX_IMPORT)
        await self._relations.import_friends(
            req.ownerUserID, ids, operator=caller.user_id, operation_id=caller.operation_id
        )

    # -- blacklists -------------------------------------------------------------------------------
    async def add_black(self, caller: Caller, req: pb.addBlackReq) -> None:
        owner = _owner_and(caller, req.ownerUserID, req.blackUserID, "blackUserID")
        await self._relations.add_black(
            owner, req.blackUserID, req.ex, operator=caller.user_id, operation_id=caller.operation_id
        )

    async def remove_black(self, caller: Caller, req: pb.removeBlackReq) -> None:
        owner = _owner_and(caller, req.ownerUserID, req.blackUserID, "blackUserID")
        await self._relations.remove_black(owner, req.blackUserID, operation_id=caller.operation_id)

    async def black_list(self, caller: Caller, req: pb.getPaginationBlacksReq) -> pb.getPaginationBlacksResp:
        owner = caller.acting_for(req.userID)
        total, items = await self._relations.black_page(owner, req.pagination)
        return pb.getPaginationBlacksResp(blacks=items, total=total)

    async def incremental_blacks(
        self, caller: Caller, req: pb.getIncrementalBlacksReq
    ) -> pb.getIncrementalBlacksResp:
        return await self._relations.incremental_blacks(caller.acting_for(req.userID), req.versionID, req.version)

    async def specified_blacks(self, caller: Caller, req: pb.GetSpecifiedBlacksReq) -> pb.GetSpecifiedBlacksResp:
        owner = _owner_and(caller, req.ownerUserID, req.userIDList, "userIDList")
        items = await self._relations.specified_blacks(owner, distinct_ids(req.userIDList, "userIDList"))
        return pb.GetSpecifiedBlacksResp(blacks=items, total=len(items))


def register(router: Router, node: Node, services: Services) -> None:
    h = FriendRoutes(services.relations)
    router.add(
        # incremental sync
        RouteSpec(
            "/friend/get_incremental_friends", pb.getIncrementalFriendsReq, pb.getIncrementalFriendsResp, h.incremental
        ),
        RouteSpec(
            "/friend/get_full_friend_user_ids", pb.getFullFriendUserIDsReq, pb.getFullFriendUserIDsResp, h.full_ids
        ),
        RouteSpec(
            "/friend/get_designated_friends", pb.getDesignatedFriendsReq, pb.getDesignatedFriendsResp, h.designated
        ),
        # requests
        RouteSpec("/friend/add_friend", pb.applyToAddFriendReq, pb.applyToAddFriendResp, h.add_friend),
        RouteSpec(
            "/friend/add_friend_response", pb.respondFriendApplyReq, pb.respondFriendApplyResp, h.add_friend_response
        ),
        RouteSpec(
            "/friend/get_self_friend_apply_list",
            pb.getPaginationFriendsApplyFromReq,
            pb.getPaginationFriendsApplyFromResp,
            h.sent_requests,
        ),
        RouteSpec(
            "/friend/get_friend_apply_list",
            pb.getPaginationFriendsApplyToReq,
            pb.getPaginationFriendsApplyToResp,
            h.received_requests,
        ),
        RouteSpec(
            "/friend/get_self_unhandled_apply_count",
            pb.getSelfUnhandledApplyCountReq,
            pb.getSelfUnhandledApplyCountResp,
            h.unhandled_count,
        ),
        RouteSpec(
            "/friend/get_designated_friend_apply",
            pb.getDesignatedFriendsApplyReq,
            pb.getDesignatedFriendsApplyResp,
            h.designated_apply,
        ),
        # friends
        RouteSpec("/friend/delete_friend", pb.deleteFriendReq, pb.deleteFriendResp, h.delete_friend),
        RouteSpec("/friend/is_friend", pb.isFriendReq, pb.isFriendResp, h.is_friend),
        RouteSpec("/friend/get_friend_list", pb.getPaginationFriendsReq, pb.getPaginationFriendsResp, h.friend_list),
        RouteSpec("/friend/get_friend_id", pb.getFriendIDsReq, pb.getFriendIDsResp, h.friend_ids),
        RouteSpec(
            "/friend/get_specified_friends_info",
            pb.getSpecifiedFriendsInfoReq,
            pb.getSpecifiedFriendsInfoResp,
            h.specified_info,
        ),
        RouteSpec("/friend/update_friends", pb.updateFriendsReq, pb.updateFriendsResp, h.update_friends),
        RouteSpec("/friend/set_friend_remark", pb.setFriendRemarkReq, pb.setFriendRemarkResp, h.set_friend_remark),
        RouteSpec("/friend/import_friend", pb.importFriendReq, pb.importFriendResp, h.import_friend, auth=Auth.ADMIN),
        # blacklists
        RouteSpec("/friend/add_black", pb.addBlackReq, pb.addBlackResp, h.add_black),
        RouteSpec("/friend/remove_black", pb.removeBlackReq, pb.removeBlackResp, h.remove_black),
        RouteSpec("/friend/get_black_list", pb.getPaginationBlacksReq, pb.getPaginationBlacksResp, h.black_list),
        RouteSpec(
            "/friend/get_incremental_blacks",
            pb.getIncrementalBlacksReq,
            pb.getIncrementalBlacksResp,
            h.incremental_blacks,
        ),
        RouteSpec(
            "/friend/get_specified_blacks", pb.GetSpecifiedBlacksReq, pb.GetSpecifiedBlacksResp, h.specified_blacks
        ),
    )
