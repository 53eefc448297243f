"""/jssdk/*: the two calls the JS SDK makes right after login to build its conversation list
(OpenIM's /jssdk routes).

They take and give protobuf (``Content-Type: application/x-protobuf``; the answer is the JSON envelope
with base64 protobuf in ``data``) and JSON otherwise. The owner is always the token's user, whatever the
body says: these calls cannot read someone else's list, not even for an admin.
"""

from __future__ import annotations

from openim.api.framework import Caller, Router, RouteSpec
from openim.node import Node
from openim.service_set import Services
from openim.services.conversations import ConversationService
from openim.wire.pb import jssdk_pb2 as pb


class JssdkRoutes:
    """The /jssdk handlers, over ConversationService."""

    def __init__(self, conversations: ConversationService) -> None:
        self._convs = conversations

    async def active(self, caller: Caller, req: pb.GetActiveConversationsReq) -> pb.GetActiveConversationsResp:
        return await self._convs.active(caller.user_id, req.count)

    async def by_ids(self, caller: Caller, req: pb.GetConversationsReq) -> pb.GetConversationsResp:
        return await self._convs.by_ids(caller.user_id, req.conversationIDs)


def register(router: Router, node: Node, services: Services) -> None:
    h = JssdkRoutes(services.conversations)
    router.add(
        RouteSpec(
            "/jssdk/get_active_conversations",
            pb.GetActiveConversationsReq,
            pb.GetActiveConversationsResp,
            h.active,
            protobuf=True,
        ),
        RouteSpec("/jssdk/get_conversations", pb.GetConversationsReq, pb.GetConversationsResp, h.by_ids, protobuf=True),
    )
