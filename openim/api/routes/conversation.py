"""/conversation/*: a user's conversation settings and the version-log sync of them.

Every route acts for one owner named in the body and checks it with CheckAccess (the owner's own token
or an admin's): a user never reads or changes another user's conversations. The behaviour lives in
ConversationService; this module validates the request shape and maps fields.
``/conversation/get_conversations_has_read_and_max_seq`` does not exist on the real server (the SDK maps
it but uses WS 1006; the REST twin is ``/msg/...``), so it is not routed here.
"""

from __future__ import annotations

from openim.api.framework import Caller, Router
from openim.clock import now_ms
from openim.node import Node
from openim.service_set import Services
from openim.services.conversations import RECV_OPT_NOT_NOTIFY, to_pb
from openim.services.versioning import check_pagination, page
from openim.wire.errors import args_error
from openim.wire.pb import conversation_pb2 as pb


def _owner(caller: Caller, user_id: str, name: str = "userID") -> str:
    if not user_id:
        raise args_error(f"{name} is empty")
    caller.check_access(user_id)
    return user_id


def register(router: Router, node: Node, services: Services) -> None:
    convs = services.conversations

    @router.route("/conversation/set_conversations", pb.SetConversationsReq, pb.SetConversationsResp)
    async def set_conversations(caller: Caller, req: pb.SetConversationsReq) -> None:
        if not req.userIDs:
            raise args_error("userIDs is empty")
        if not req.HasField("conversation"):
            raise args_error("conversation is empty")
        for user_id in req.userIDs:
            _owner(caller, user_id, "userIDs")
        await convs.set_conversations(req.userIDs, req.conversation, operation_id=caller.operation_id)
        return None

    @router.route(
        "/conversation/get_incremental_conversations",
        pb.GetIncrementalConversationReq,
        pb.GetIncrementalConversationResp,
    )
    async def incremental(caller: Caller, req: pb.GetIncrementalConversationReq) -> pb.GetIncrementalConversationResp:
        owner = _owner(caller, req.userID)
        return await convs.incremental(owner, req.versionID, req.version)

    @router.route(
        "/conversation/get_full_conversation_ids",
        pb.GetFullOwnerConversationIDsReq,
        pb.GetFullOwnerConversationIDsResp,
    )
    async def full_ids(caller: Caller, req: pb.GetFullOwnerConversationIDsReq) -> pb.GetFullOwnerConversationIDsResp:
        return await convs.full_ids(_owner(caller, req.userID), req.idHash)

    @router.route(
        "/conversation/get_not_notify_conversation_ids",
        pb.GetNotNotifyConversationIDsReq,
        pb.GetNotNotifyConversationIDsResp,
    )
    async def not_notify(caller: Caller, req: pb.GetNotNotifyConversationIDsReq) -> pb.GetNotNotifyConversationIDsResp:
        rows = await convs.rows(_owner(caller, req.userID))
        return pb.GetNotNotifyConversationIDsResp(
            conversationIDs=[r.conversation_id for r in rows if r.recv_msg_opt == RECV_OPT_NOT_NOTIFY]
        )

    @router.route(
        "/conversation/get_pinned_conversation_ids", pb.GetPinnedConversationIDsReq, pb.GetPinnedConversationIDsResp
    )
    async def pinned(caller: Caller, req: pb.GetPinnedConversationIDsReq) -> pb.GetPinnedConversationIDsResp:
        rows = await convs.rows(_owner(caller, req.userID))
        return pb.GetPinnedConversationIDsResp(conversationIDs=[r.conversation_id for r in rows if r.is_pinned])

    @router.route("/conversation/get_all_conversations", pb.GetAllConversationsReq, pb.GetAllConversationsResp)
    async def all_conversations(caller: Caller, req: pb.GetAllConversationsReq) -> pb.GetAllConversationsResp:
        rows = await convs.rows(_owner(caller, req.ownerUserID, "ownerUserID"))
        return pb.GetAllConversationsResp(conversations=[to_pb(r) for r in rows])

    @router.route("/conversation/get_conversation", pb.GetConversationReq, pb.GetConversationResp)
    async def one(caller: Caller, req: pb.GetConversationReq) -> pb.GetConversationResp:
        owner = _owner(caller, req.ownerUserID, "ownerUserID")
        if not req.conversationID:
            raise args_error("conversationID is empty")
        return pb.GetConversationResp(conversation=to_pb(await convs.one(owner, req.conversationID)))

    @router.route("/conversation/get_conversations", pb.GetConversationsReq, pb.GetConversationsResp)
    async def several(caller: Caller, req: pb.GetConversationsReq) -> pb.GetConversationsResp:
        owner = _owner(caller, req.ownerUserID, "ownerUserID")
        if not req.conversationIDs:
            raise args_error("conversationIDs is empty")
        rows = await convs.rows(owner, list(dict.fromkeys(req.conversationIDs)))
        return pb.GetConversationsResp(conversations=[to_pb(r) for r in rows])

    @router.route("/conversation/get_owner_conversation", pb.GetOwnerConversationReq, pb.GetOwnerConversationResp)
    async def owner_page(caller: Caller, req: pb.GetOwnerConversationReq) -> pb.GetOwnerConversationResp:
        owner = _owner(caller, req.userID)
        check_pagination(req.pagination)
        rows = await convs.rows(owner)
        return pb.GetOwnerConversationResp(
            total=len(rows), conversations=[to_pb(r) for r in page(rows, req.pagination)]
        )

    @router.route(
        "/conversation/get_sorted_conversation_list",
        pb.GetSortedConversationListReq,
        pb.GetSortedConversationListResp,
    )
    async def sorted_list(caller: Caller, req: pb.GetSortedConversationListReq) -> pb.GetSortedConversationListResp:
        owner = _owner(caller, req.userID)
        return await convs.sorted_list(owner, list(dict.fromkeys(req.conversationIDs)), req.pagination)

    @router.route("/conversation/delete_conversations", pb.DeleteConversationsReq, pb.DeleteConversationsResp)
    async def delete(caller: Caller, req: pb.DeleteConversationsReq) -> None:
        owner = _owner(caller, req.ownerUserID, "ownerUserID")
        if req.needDeleteTime < 0:
            raise args_error("needDeleteTime must not be negative")
        await convs.delete(
            owner, list(dict.fromkeys(req.conversationIDs)), req.needDeleteTime, now_ms()
        )
        return None

    @router.route(
        "/conversation/update_conversations_by_user",
        pb.UpdateConversationsByUserReq,
        pb.UpdateConversationsByUserResp,
    )
    async def by_user(caller: Caller, req: pb.UpdateConversationsByUserReq) -> None:
        owner = _owner(caller, req.userID)
        if req.HasField("ex"):
            await convs.set_ex_for_all(owner, req.ex.value, operation_id=caller.operation_id)
        return None
