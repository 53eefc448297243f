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

from openim.api.framework import Auth, Caller, Router
from openim.node import Node
from openim.service_set import Services
from openim.services.relations import MAX_IMPORT, distinct_ids
from openim.wire.errors import args_error, no_permission
from openim.wire.pb import relation_pb2 as pb


def _acting_for(caller: Caller, user_id: str, name: str) -> str:
    """CheckAccess on a required owner field."""
    if not user_id:
        raise args_error(f"{name} is empty")
    caller.check_access(user_id)
    return user_id


def _either_of(caller: Caller, user_1: str, user_2: str, names: tuple[str, str]) -> None:
    """OpenIM's CheckAccessIn: the caller is one of the two users, or an admin."""
    for value, name in zip((user_1, user_2), names, strict=True):
        if not value:
            raise args_error(f"{name} is empty")
    if not caller.is_admin and caller.user_id not in (user_1, user_2):
        raise no_permission(f"token user {caller.user_id} is neither {user_1} nor {user_2}")


def register(router: Router, node: Node, services: Services) -> None:
    relations = services.relations

    # -- incremental sync (called by the SDK at every login) ---------------------------------------
    @router.route("/friend/get_incremental_friends", pb.getIncrementalFriendsReq, pb.getIncrementalFriendsResp)
    async def incremental(caller: Caller, req: pb.getIncrementalFriendsReq) -> pb.getIncrementalFriendsResp:
        owner = _acting_for(caller, req.userID, "userID")
        return await relations.incremental(owner, req.versionID, req.version)

    @router.route("/friend/get_full_friend_user_ids", pb.getFullFriendUserIDsReq, pb.getFullFriendUserIDsResp)
    async def full_ids(caller: Caller, req: pb.getFullFriendUserIDsReq) -> pb.getFullFriendUserIDsResp:
        return await relations.full_ids(_acting_for(caller, req.userID, "userID"), req.idHash)

    @router.route("/friend/get_designated_friends", pb.getDesignatedFriendsReq, pb.getDesignatedFriendsResp)
    async def designated(caller: Caller, req: pb.getDesignatedFriendsReq) -> pb.getDesignatedFriendsResp:
        """Only existing friendships come back; an empty list is an empty answer, a missing one 1001."""
        owner = _acting_for(caller, req.ownerUserID, "ownerUserID")
        if not caller.sent("friendUserIDs"):
            raise args_error("friendUserIDs is empty")
        ids = distinct_ids(req.friendUserIDs, "friendUserIDs")
        return pb.getDesignatedFriendsResp(friendsInfo=await relations.designated(owner, ids))

    # -- requests ---------------------------------------------------------------------------------
    @router.route("/friend/add_friend", pb.applyToAddFriendReq, pb.applyToAddFriendResp)
    async def add_friend(caller: Caller, req: pb.applyToAddFriendReq) -> None:
        from_id = _acting_for(caller, req.fromUserID, "fromUserID")
        if not req.toUserID:
            raise args_error("toUserID is empty")
        await relations.apply(from_id, req.toUserID, req.reqMsg, req.ex, operation_id=caller.operation_id)
        return None

    @router.route("/friend/add_friend_response", pb.respondFriendApplyReq, pb.respondFriendApplyResp)
    async def add_friend_response(caller: Caller, req: pb.respondFriendApplyReq) -> None:
        to_id = _acting_for(caller, req.toUserID, "toUserID")
        if not req.fromUserID:
            raise args_error("fromUserID is empty")
        await relations.respond(
            req.fromUserID,
            to_id,
            req.handleResult,
            req.handleMsg,
            handler=caller.user_id,
            operation_id=caller.operation_id,
        )
        return None

    @router.route(
        "/friend/get_self_friend_apply_list", pb.getPaginationFriendsApplyFromReq, pb.getPaginationFriendsApplyFromResp
    )
    async def sent_requests(
        caller: Caller, req: pb.getPaginationFriendsApplyFromReq
    ) -> pb.getPaginationFriendsApplyFromResp:
        user_id = _acting_for(caller, req.userID, "userID")
        total, items = await relations.request_page(
            user_id, received=False, handle_results=list(req.handleResults), pagination=req.pagination
        )
        return pb.getPaginationFriendsApplyFromResp(friendRequests=items, total=total)

    @router.route(
        "/friend/get_friend_apply_list", pb.getPaginationFriendsApplyToReq, pb.getPaginationFriendsApplyToResp
    )
    async def received_requests(
        caller: Caller, req: pb.getPaginationFriendsApplyToReq
    ) -> pb.getPaginationFriendsApplyToResp:
        user_id = _acting_for(caller, req.userID, "userID")
        total, items = await relations.request_page(
            user_id, received=True, handle_results=list(req.handleResults), pagination=req.pagination
        )
        return pb.getPaginationFriendsApplyToResp(FriendRequests=items, total=total)

    @router.route(
        "/friend/get_designated_friend_apply", pb.getDesignatedFriendsApplyReq, pb.getDesignatedFriendsApplyResp
    )
    async def designated_apply(
        caller: Caller, req: pb.getDesignatedFriendsApplyReq
    ) -> pb.getDesignatedFriendsApplyResp:
        """Requests in both directions between the pair (the SDK sometimes passes them swapped)."""
        _either_of(caller, req.fromUserID, req.toUserID, ("fromUserID", "toUserID"))
        items = await relations.requests_between(req.fromUserID, req.toUserID)
        return pb.getDesignatedFriendsApplyResp(friendRequests=items)

    # -- friends ----------------------------------------------------------------------------------
    @router.route("/friend/delete_friend", pb.deleteFriendReq, pb.deleteFriendResp)
    async def delete_friend(caller: Caller, req: pb.deleteFriendReq) -> None:
        owner = _acting_for(caller, req.ownerUserID, "ownerUserID")
        if not req.friendUserID:
            raise args_error("friendUserID is empty")
        await relations.delete(owner, req.friendUserID, operation_id=caller.operation_id)
        return None

    @router.route("/friend/is_friend", pb.isFriendReq, pb.isFriendResp)
    async def is_friend(caller: Caller, req: pb.isFriendReq) -> pb.isFriendResp:
        _either_of(caller, req.userID1, req.userID2, ("userID1", "userID2"))
        in_1, in_2 = await relations.is_friend(req.userID1, req.userID2)
        return pb.isFriendResp(inUser1Friends=in_1, inUser2Friends=in_2)

    @router.route("/friend/get_friend_list", pb.getPaginationFriendsReq, pb.getPaginationFriendsResp)
    async def friend_list(caller: Caller, req: pb.getPaginationFriendsReq) -> pb.getPaginationFriendsResp:
        owner = _acting_for(caller, req.userID, "userID")
        total, items = await relations.friend_page(owner, req.pagination)
        return pb.getPaginationFriendsResp(friendsInfo=items, total=total)

    @router.route("/friend/get_friend_id", pb.getFriendIDsReq, pb.getFriendIDsResp)
    async def friend_ids(caller: Caller, req: pb.getFriendIDsReq) -> pb.getFriendIDsResp:
        return pb.getFriendIDsResp(friendIDs=await relations.friend_ids(_acting_for(caller, req.userID, "userID")))

    @router.route("/friend/get_specified_friends_info", pb.getSpecifiedFriendsInfoReq, pb.getSpecifiedFriendsInfoResp)
    async def specified_info(caller: Caller, req: pb.getSpecifiedFriendsInfoReq) -> pb.getSpecifiedFriendsInfoResp:
        owner = _acting_for(caller, req.ownerUserID, "ownerUserID")
        if not req.userIDList:
            raise args_error("userIDList is empty")
        ids = distinct_ids(req.userIDList, "userIDList")
        return pb.getSpecifiedFriendsInfoResp(infos=await relations.specified_info(owner, ids))

    @router.route("/friend/update_friends", pb.updateFriendsReq, pb.updateFriendsResp)
    async def update_friends(caller: Caller, req: pb.updateFriendsReq) -> None:
        """Wrapper fields: absent or null leaves the field unchanged."""
        owner = _acting_for(caller, req.ownerUserID, "ownerUserID")
        if not req.friendUserIDs:
            raise args_error("friendUserIDs is empty")
        ids = distinct_ids(req.friendUserIDs, "friendUserIDs")
        changes: dict[str, object] = {}
        if req.HasField("remark"):
            changes["remark"] = req.remark.value
        if req.HasField("isPinned"):
            changes["is_pinned"] = req.isPinned.value
        if req.HasField("ex"):
            changes["ex"] = req.ex.value
        await relations.update_friends(owner, ids, changes, operation_id=caller.operation_id)
        return None

    @router.route("/friend/set_friend_remark", pb.setFriendRemarkReq, pb.setFriendRemarkResp)
    async def set_friend_remark(caller: Caller, req: pb.setFriendRemarkReq) -> None:
        owner = _acting_for(caller, req.ownerUserID, "ownerUserID")
        if not req.friendUserID:
            raise args_error("friendUserID is empty")
        await relations.set_remark(owner, req.friendUserID, req.remark, operation_id=caller.operation_id)
        return None

    @router.route("/friend/import_friend", pb.importFriendReq, pb.importFriendResp, auth=Auth.ADMIN)
    async def import_friend(caller: Caller, req: pb.importFriendReq) -> None:
        if not req.ownerUserID:
            raise args_error("ownerUserID is empty")
        if not req.friendUserIDs:
            raise args_error("friendUserIDs is empty")
        ids = distinct_ids(req.friendUserIDs, "friendUserIDs", limit=MAX_IMPORT)
        await relations.import_friends(req.ownerUserID, ids, operator=caller.user_id, operation_id=caller.operation_id)
        return None

    # -- blacklists -------------------------------------------------------------------------------
    @router.route("/friend/add_black", pb.addBlackReq, pb.addBlackResp)
    async def add_black(caller: Caller, req: pb.addBlackReq) -> None:
        owner = _acting_for(caller, req.ownerUserID, "ownerUserID")
        if not req.blackUserID:
            raise args_error("blackUserID is empty")
        await relations.add_black(
            owner, req.blackUserID, req.ex, operator=caller.user_id, operation_id=caller.operation_id
        )
        return None

    @router.route("/friend/remove_black", pb.removeBlackReq, pb.removeBlackResp)
    async def remove_black(caller: Caller, req: pb.removeBlackReq) -> None:
        owner = _acting_for(caller, req.ownerUserID, "ownerUserID")
        if not req.blackUserID:
            raise args_error("blackUserID is empty")
        await relations.remove_black(owner, req.blackUserID, operation_id=caller.operation_id)
        return None

    @router.route("/friend/get_black_list", pb.getPaginationBlacksReq, pb.getPaginationBlacksResp)
    async def black_list(caller: Caller, req: pb.getPaginationBlacksReq) -> pb.getPaginationBlacksResp:
        owner = _acting_for(caller, req.userID, "userID")
        total, items = await relations.black_page(owner, req.pagination)
        return pb.getPaginationBlacksResp(blacks=items, total=total)

    @router.route("/friend/get_specified_blacks", pb.GetSpecifiedBlacksReq, pb.GetSpecifiedBlacksResp)
    async def specified_blacks(caller: Caller, req: pb.GetSpecifiedBlacksReq) -> pb.GetSpecifiedBlacksResp:
        owner = _acting_for(caller, req.ownerUserID, "ownerUserID")
        if not req.userIDList:
            raise args_error("userIDList is empty")
        items = await relations.specified_blacks(owner, distinct_ids(req.userIDList, "userIDList"))
        return pb.GetSpecifiedBlacksResp(blacks=items, total=len(items))
