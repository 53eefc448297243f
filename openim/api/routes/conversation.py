"""/conversation/*: a user's conversation settings and the version-log sync of them.

Every route acts for one owner named in the body and checks it with CheckAccess (the owner's own token
or an admin's): a user never reads or changes another user's conversations. The exception is
``get_conversation_offline_push_user_ids`` (an internal call in OpenIM, routed here for operators): it
answers about many users at once, so it is for app admins only. The behaviour lives in
ConversationService; this module validates the request shape and access, and maps fields.
``/conversation/get_conversations_has_read_and_max_seq`` does not exist on the real server (the SDK maps
it but uses WS 1006; the REST twin is ``/msg/...``), so it is not routed here.
"""

from __future__ import annotations

from openim.api.framework import Auth, Caller, Router, RouteSpec
from openim.clock import now_ms
from openim.node import Node
from openim.service_set import Services
from openim.services.conversations import ConversationService, to_pb
from openim.wire.errors import args_error
from openim.wire.pb import conversation_pb2 as pb


class ConversationRoutes:
    """The /conversation handlers, over ConversationService."""

    def __init__(self, conversations: ConversationService) -> None:
        self._convs = conversations

    async def set_conversations(self, caller: Caller, req: pb.SetConversationsReq) -> None:
        if not req.userIDs:
            raise args_error("userIDs is empty")
        if not req.HasField("conversation"):
            raise args_error("conversation is empty")
        for user_id in req.userIDs:
            caller.acting_for(user_id, "userIDs")
        await self._convs.set_conversations(req.userIDs, req.conversation, operation_id=caller.operation_id)

    async def incremental(
        self, caller: Caller, req: pb.GetIncrementalConversationReq
    ) -> pb.GetIncrementalConversationResp:
        return await self._convs.incremental(caller.acting_for(req.userID), req.versionID, req.version)

    async def full_ids(
        self, caller: Caller, req: pb.GetFullOwnerConversationIDsReq
    ) -> pb.GetFullOwnerConversationIDsResp:
        return await self._convs.full_ids(caller.acting_for(req.userID), req.idHash)

    async def not_notify(
        self, caller: Caller, req: pb.GetNotNotifyConversationIDsReq
    ) -> pb.GetNotNotifyConversationIDsResp:
        ids = await self._convs.not_notify_ids(caller.acting_for(req.userID))
        return pb.GetNotNotifyConversationIDsResp(conversationIDs=ids)

    async def pinned(self, caller: Caller, req: pb.GetPinnedConversationIDsReq) -> pb.GetPinnedConversationIDsResp:
        ids = await self._convs.pinned_ids(caller.acting_for(req.userID))
        return pb.GetPinnedConversationIDsResp(conversationIDs=ids)

    async def all_conversations(self, caller: Caller, req: pb.GetAllConversationsReq) -> pb.GetAllConversationsResp:
        rows = await self._convs.rows(caller.acting_for(req.ownerUserID, "ownerUserID"))
        return pb.GetAllConversationsResp(conversations=[to_pb(r) for r in rows])

    async def one(self, caller: Caller, req: pb.GetConversationReq) -> pb.GetConversationResp:
        owner = caller.acting_for(req.ownerUserID, "ownerUserID")
        if not req.conversationID:
            raise args_error("conversationID is empty")
        return pb.GetConversationResp(conversation=to_pb(await self._convs.one(owner, req.conversationID)))

    async def several(self, caller: Caller, req: pb.GetConversationsReq) -> pb.GetConversationsResp:
        owner = caller.acting_for(req.ownerUserID, "ownerUserID")
        if not req.conversationIDs:
            raise args_error("conversationIDs is empty")
        rows = await self._convs.rows(owner, list(dict.fromkeys(req.conversationIDs)))
        return pb.GetConversationsResp(conversations=[to_pb(r) for r in rows])

    async def owner_page(self, caller: Caller, req: pb.GetOwnerConversationReq) -> pb.GetOwnerConversationResp:
        total, rows = await self._convs.owner_page(caller.acting_for(req.userID), req.pagination)
        return pb.GetOwnerConversationResp(total=total, conversations=[to_pb(r) for r in rows])

    async def sorted_list(
        self, caller: Caller, req: pb.GetSortedConversationListReq
    ) -> pb.GetSortedConversationListResp:
        owner = caller.acting_for(req.userID)
        return await self._convs.sorted_list(owner, list(dict.fromkeys(req.conversationIDs)), req.pagination)

    async def delete(self, caller: Caller, req: pb.DeleteConversationsReq) -> None:
        owner = caller.acting_for(req.ownerUserID, "ownerUserID")
        if req.needDeleteTime < 0:
            raise args_error("needDeleteTime must not be negative")
        await self._convs.delete(owner, list(dict.fromkeys(req.conversationIDs)), req.needDeleteTime, now_ms())

    async def offline_push_user_ids(
        self, caller: Caller, req: pb.GetConversationOfflinePushUserIDsReq
    ) -> pb.GetConversationOfflinePushUserIDsResp:
        """App admins only (the route table says so): it tells other users' notification settings."""
        if not req.conversationID:
            raise args_error("conversationID is empty")
        ids = await self._convs.offline_push_user_ids(req.conversationID, list(req.userIDs))
        return pb.GetConversationOfflinePushUserIDsResp(userIDs=ids)

    async def by_user(self, caller: Caller, req: pb.UpdateConversationsByUserReq) -> None:
        owner = caller.acting_for(req.userID)
        if req.HasField("ex"):
            await self._convs.set_ex_for_all(owner, req.ex.value, operation_id=caller.operation_id)


def register(router: Router, node: Node, services: Services) -> None:
    h = ConversationRoutes(services.conversations)
    router.add(
        RouteSpec(
            "/conversation/set_conversations", pb.SetConversationsReq, pb.SetConversationsResp, h.set_conversations
        ),
        RouteSpec(
            "/conversation/get_incremental_conversations",
            pb.GetIncrementalConversationReq,
            pb.GetIncrementalConversationResp,
            h.incremental,
        ),
        RouteSpec(
            "/conversation/get_full_conversation_ids",
            pb.GetFullOwnerConversationIDsReq,
            pb.GetFullOwnerConversationIDsResp,
            h.full_ids,
        ),
        RouteSpec(
            "/conversation/get_not_notify_conversation_ids",
            pb.GetNotNotifyConversationIDsReq,
            pb.GetNotNotifyConversationIDsResp,
            h.not_notify,
        ),
        RouteSpec(
            "/conversation/get_pinned_conversation_ids",
            pb.GetPinnedConversationIDsReq,
            pb.GetPinnedConversationIDsResp,
            h.pinned,
        ),
        RouteSpec(
            "/conversation/get_all_conversations",
            pb.GetAllConversationsReq,
            pb.GetAllConversationsResp,
            h.all_conversations,
        ),
        RouteSpec("/conversation/get_conversation", pb.GetConversationReq, pb.GetConversationResp, h.one),
        RouteSpec("/conversation/get_conversations", pb.GetConversationsReq, pb.GetConversationsResp, h.several),
        RouteSpec(
            "/conversation/get_owner_conversation",
            pb.GetOwnerConversationReq,
            pb.GetOwnerConversationResp,
            h.owner_page,
        ),
        RouteSpec(
            "/conversation/get_sorted_conversation_list",
            pb.GetSortedConversationListReq,
            pb.GetSortedConversationListResp,
            h.sorted_list,
        ),
        RouteSpec(
            "/conversation/delete_conversations", pb.DeleteConversationsReq, pb.DeleteConversationsResp, h.delete
        ),
        RouteSpec(
            "/conversation/get_conversation_offline_push_user_ids",
            pb.GetConversationOfflinePushUserIDsReq,
            pb.GetConversationOfflinePushUserIDsResp,
            h.offline_push_user_ids,
            auth=Auth.ADMIN,
        ),
        RouteSpec(
            "/conversation/update_conversations_by_user",
            pb.UpdateConversationsByUserReq,
            pb.UpdateConversationsByUserResp,
            h.by_user,
        ),
    )
