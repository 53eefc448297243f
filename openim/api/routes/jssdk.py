"""/jssdk/*: the two calls the JS SDK makes right after login to build its conversation list
(OpenIM's /jssdk routes).

They take and give protobuf (``Content-Type: application/x-protobuf``; the answer is the JSON envelope
with base64 protobuf in ``data``) and JSON otherwise. The owner is always the token's user, whatever the
body says: these calls cannot read someone else's list, not even for an admin.
"""

from __future__ import annotations

from openim.api.framework import Caller, Router
from openim.node import Node
from openim.service_set import Services
from openim.wire.pb import jssdk_pb2 as pb


def register(router: Router, node: Node, services: Services) -> None:
    convs = services.conversations

    @router.route(
        "/jssdk/get_active_conversations", pb.GetActiveConversationsReq, pb.GetActiveConversationsResp, protobuf=True
    )
    async def active(caller: Caller, req: pb.GetActiveConversationsReq) -> pb.GetActiveConversationsResp:
        return await convs.active(caller.user_id, req.count)

    @router.route("/jssdk/get_conversations", pb.GetConversationsReq, pb.GetConversationsResp, protobuf=True)
    async def by_ids(caller: Caller, req: pb.GetConversationsReq) -> pb.GetConversationsResp:
        return await convs.by_ids(caller.user_id, req.conversationIDs)
