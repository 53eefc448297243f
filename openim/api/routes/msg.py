"""/msg/*: admin sends, seq queries and pulls, revoke, read marks, deletes and clears .

Each handler checks who may call it (CheckAccess on the request's userID, or admin) and hands the rest to
MessageOps (what may happen to which message) or SyncService (what a user may read). The admin send
routes answer HTTP 400 when the body misses a field gin's ``binding:"required"`` would have refused, like
OpenIM; everything else answers HTTP 200 with the error code in the envelope.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from openim.api.framework import Auth, Caller, Req, Router, RouteSpec, TypedHandler, binding_error
from openim.clock import now_ms
from openim.node import Node
from openim.pipeline.msg import SendOutcome
from openim.security.guards import Guards
from openim.service_set import Services
from openim.services.admin_sends import ReplyKey
from openim.services.message_ops import Actor, admin_message
from openim.services.message_service import MessageOps
from openim.services.sync import SyncService
from openim.wire.constants import SessionType
from openim.wire.errors import OpenIMError, args_error
from openim.wire.jsoncodec import send_msg_from_json
from openim.wire.pb import apistruct_pb2, msg_pb2, sdkws_pb2

SendBody = apistruct_pb2.SendMsgReq | apistruct_pb2.BatchSendMsgReq


def _content_of(caller: Caller, cls: type[SendBody]) -> dict[str, Any]:
    """The free-form ``content`` object of a send body (the proto request cannot hold it)."""
    try:
        _msg, content = send_msg_from_json(caller.json_body or {}, cls)
    except OpenIMError as err:
        raise binding_error(err.detail) from err
    return content


def _check_send_binding(req: SendBody, *, needs_recv_id: bool) -> None:
    """gin's ``binding:"required"`` checks of OpenIM's SendMsg struct (HTTP 400 when they fail)."""
    if not req.sendID:
        raise binding_error("sendID: required")
    if not req.contentType:
        raise binding_error("contentType: required")
    if not req.sessionType:
        raise binding_error("sessionType: required")
    if req.sessionType in (SessionType.WRITE_GROUP, SessionType.READ_GROUP) and not req.groupID:
        raise binding_error("groupID: required for sessionType 2 and 3")
    single = req.sessionType in (SessionType.SINGLE, SessionType.NOTIFICATION)
    if needs_recv_id and isinstance(req, apistruct_pb2.SendMsgReq) and single and not req.recvID:
        raise binding_error("recvID: required for sessionType 1 and 4")


def _actor(caller: Caller, user_id: str) -> Actor:
    caller.acting_for(user_id)
    return Actor(user_id=user_id, op_user_id=caller.user_id, is_admin=caller.is_admin, operation_id=caller.operation_id)


def _sync_opts(req: Any) -> tuple[bool, bool]:
    opt = req.deleteSyncOpt
    return (bool(opt.IsSyncSelf), bool(opt.IsSyncOther)) if req.HasField("deleteSyncOpt") else (False, False)


def _sent(out: SendOutcome) -> msg_pb2.SendMsgResp:
    return msg_pb2.SendMsgResp(serverMsgID=out.server_msg_id, clientMsgID=out.client_msg_id, sendTime=out.send_time)


class MsgRoutes:
    """The /msg handlers, over MessageOps and SyncService (and the per-sender send rate)."""

    def __init__(self, ops: MessageOps, sync: SyncService, guards: Guards) -> None:
        self._ops = ops
        self._sync = sync
        self._guards = guards

    # -- admin sends ----------------------------------------------------------------------------------
    async def send_msg(self, caller: Caller, req: apistruct_pb2.SendMsgReq) -> msg_pb2.SendMsgResp:
        content = _content_of(caller, apistruct_pb2.SendMsgReq)
        _check_send_binding(req, needs_recv_id=True)
        self._guards.check_send(req.sendID, False)  # per-sender rate (openim.security), admins' bots included
        return _sent(await self._ops.send_admin(admin_message(req, content, recv_id=req.recvID), caller.operation_id))

    async def send_simple_msg(self, caller: Caller, req: apistruct_pb2.SendSimpleMsgReq) -> msg_pb2.SendMsgResp:
        """A business backend's markdown reply to a message an after-send callback told it about (the
        callback's ``?key=`` comes back as this route's query)."""
        encoded = caller.request.query_params.get("key")
        if encoded is None:
            raise args_error("missing key in query")
        key = ReplyKey.decode(encoded)
        send_id = key.reply_sender(req.sendID)
        caller.check_access(send_id)
        self._guards.check_send(send_id, False)
        return _sent(await self._ops.send_simple(key, req, operation_id=caller.operation_id, as_admin=caller.is_admin))

    async def batch_send_msg(
        self, caller: Caller, req: apistruct_pb2.BatchSendMsgReq
    ) -> apistruct_pb2.BatchSendMsgResp:
        content = _content_of(caller, apistruct_pb2.BatchSendMsgReq)
        _check_send_binding(req, needs_recv_id=False)
        if req.sessionType not in (SessionType.SINGLE, SessionType.NOTIFICATION):
            raise args_error("batch_send_msg sends to users: sessionType must be 1 or 4")
        if not req.isSendAll and not req.recvIDs:
            raise args_error("recvIDs is empty and isSendAll is false")
        return await self._ops.batch_send_admin(req, content, caller.operation_id)

    async def send_business_notification(
        self, caller: Caller, req: apistruct_pb2.SendBusinessNotificationReq
    ) -> msg_pb2.SendMsgResp:
        if not req.sendUserID:
            raise binding_error("sendUserID: required")
        return _sent(await self._ops.send_business_notification(req, caller.operation_id))

    async def check_msg_is_send_success(
        self, caller: Caller, req: msg_pb2.GetSendMsgStatusReq
    ) -> msg_pb2.GetSendMsgStatusResp:
        return msg_pb2.GetSendMsgStatusResp(status=self._ops.send_status(caller.operation_id))

    async def get_server_time(self, caller: Caller, req: msg_pb2.GetServerTimeReq) -> msg_pb2.GetServerTimeResp:
        return msg_pb2.GetServerTimeResp(serverTime=now_ms())

    # -- reading ------------------------------------------------------------------------------------------
    async def newest_seq(self, caller: Caller, req: sdkws_pb2.GetMaxSeqReq) -> sdkws_pb2.GetMaxSeqResp:
        return await self._sync.newest_seq(caller.acting_for(req.userID))

    async def pull_msg_by_seq(
        self, caller: Caller, req: sdkws_pb2.PullMessageBySeqsReq
    ) -> sdkws_pb2.PullMessageBySeqsResp:
        caller.acting_for(req.userID)
        return await self._sync.pull_by_range(req)

    async def has_read_and_max_seq(
        self, caller: Caller, req: msg_pb2.GetConversationsHasReadAndMaxSeqReq
    ) -> msg_pb2.GetConversationsHasReadAndMaxSeqResp:
        user_id = caller.acting_for(req.userID)
        return await self._sync.has_read_and_max_seq(user_id, list(req.conversationIDs), req.returnPinned)

    # -- revoke and read marks ------------------------------------------------------------------------
    async def revoke_msg(self, caller: Caller, req: msg_pb2.RevokeMsgReq) -> None:
        await self._ops.revoke(_actor(caller, req.userID), req.conversationID, req.seq)

    async def mark_conversation_as_read(self, caller: Caller, req: msg_pb2.MarkConversationAsReadReq) -> None:
        actor = _actor(caller, req.userID)
        await self._ops.mark_conversation_as_read(actor, req.conversationID, req.hasReadSeq, list(req.seqs))

    async def mark_msgs_as_read(self, caller: Caller, req: msg_pb2.MarkMsgsAsReadReq) -> None:
        await self._ops.mark_msgs_as_read(_actor(caller, req.userID), req.conversationID, list(req.seqs))

    async def set_has_read_seq(self, caller: Caller, req: msg_pb2.SetConversationHasReadSeqReq) -> None:
        await self._ops.set_has_read_seq(_actor(caller, req.userID), req.conversationID, req.hasReadSeq)

    # -- deletes and clears ---------------------------------------------------------------------------
    async def delete_msgs(self, caller: Caller, req: msg_pb2.DeleteMsgsReq) -> None:
        actor = _actor(caller, req.userID)
        sync_self, sync_other = _sync_opts(req)
        await self._ops.delete_msgs(
            actor, req.conversationID, list(req.seqs), sync_self=sync_self, sync_other=sync_other
        )

    async def clear_conversation_msg(self, caller: Caller, req: msg_pb2.ClearConversationsMsgReq) -> None:
        actor = _actor(caller, req.userID)
        if not req.conversationIDs:
            raise args_error("conversationIDs is empty")
        sync_self, sync_other = _sync_opts(req)
        await self._ops.clear_conversations(
            actor, list(req.conversationIDs), sync_self=sync_self, sync_other=sync_other
        )

    async def user_clear_all_msg(self, caller: Caller, req: msg_pb2.UserClearAllMsgReq) -> None:
        actor = _actor(caller, req.userID)
        sync_self, sync_other = _sync_opts(req)
        await self._ops.clear_conversations(actor, None, sync_self=sync_self, sync_other=sync_other)

    async def delete_physical_by_seq(self, caller: Caller, req: msg_pb2.DeleteMsgPhysicalBySeqReq) -> None:
        await self._ops.delete_physical_by_seq(req.conversationID, list(req.seqs))

    async def delete_physical(self, caller: Caller, req: msg_pb2.DeleteMsgPhysicalReq) -> None:
        await self._ops.delete_physical_older_than(list(req.conversationIDs), req.timestamp)


def register(router: Router, node: Node, services: Services) -> None:
    h = MsgRoutes(services.message_ops, services.sync, node.guards)
    router.add(*_send_routes(h), *_message_routes(h))


def _admin_send(path: str, req_cls: type[Req], resp_cls: type[Message], handler: TypedHandler[Req]) -> RouteSpec[Req]:
    """An admin send: app admins only, and HTTP 400 for a body gin's binding would refuse."""
    return RouteSpec(path, req_cls, resp_cls, handler, auth=Auth.ADMIN, bind_400=True)


def _send_routes(h: MsgRoutes) -> list[RouteSpec[Any]]:
    """The admin sends (HTTP 400 for what gin's binding refuses) and what goes with them."""
    return [
        _admin_send("/msg/send_msg", apistruct_pb2.SendMsgReq, msg_pb2.SendMsgResp, h.send_msg),
        RouteSpec("/msg/send_simple_msg", apistruct_pb2.SendSimpleMsgReq, msg_pb2.SendMsgResp, h.send_simple_msg),
        _admin_send(
            "/msg/batch_send_msg", apistruct_pb2.BatchSendMsgReq, apistruct_pb2.BatchSendMsgResp, h.batch_send_msg
        ),
        _admin_send(
            "/msg/send_business_notification",
            apistruct_pb2.SendBusinessNotificationReq,
            msg_pb2.SendMsgResp,
            h.send_business_notification,
        ),
        RouteSpec(
            "/msg/check_msg_is_send_success",
            msg_pb2.GetSendMsgStatusReq,
            msg_pb2.GetSendMsgStatusResp,
            h.check_msg_is_send_success,
        ),
        RouteSpec("/msg/get_server_time", msg_pb2.GetServerTimeReq, msg_pb2.GetServerTimeResp, h.get_server_time),
    ]


def _message_routes(h: MsgRoutes) -> list[RouteSpec[Any]]:
    """Reading, revoking, read marks, deletes and clears."""
    return [
        # reading
        RouteSpec("/msg/newest_seq", sdkws_pb2.GetMaxSeqReq, sdkws_pb2.GetMaxSeqResp, h.newest_seq),
        RouteSpec(
            "/msg/pull_msg_by_seq", sdkws_pb2.PullMessageBySeqsReq, sdkws_pb2.PullMessageBySeqsResp, h.pull_msg_by_seq
        ),
        RouteSpec(
            "/msg/get_conversations_has_read_and_max_seq",
            msg_pb2.GetConversationsHasReadAndMaxSeqReq,
            msg_pb2.GetConversationsHasReadAndMaxSeqResp,
            h.has_read_and_max_seq,
        ),
        # revoke and read marks
        RouteSpec("/msg/revoke_msg", msg_pb2.RevokeMsgReq, msg_pb2.RevokeMsgResp, h.revoke_msg),
        RouteSpec(
            "/msg/mark_conversation_as_read",
            msg_pb2.MarkConversationAsReadReq,
            msg_pb2.MarkConversationAsReadResp,
            h.mark_conversation_as_read,
        ),
        RouteSpec("/msg/mark_msgs_as_read", msg_pb2.MarkMsgsAsReadReq, msg_pb2.MarkMsgsAsReadResp, h.mark_msgs_as_read),
        RouteSpec(
            "/msg/set_conversation_has_read_seq",
            msg_pb2.SetConversationHasReadSeqReq,
            msg_pb2.SetConversationHasReadSeqResp,
            h.set_has_read_seq,
        ),
        # deletes and clears
        RouteSpec("/msg/delete_msgs", msg_pb2.DeleteMsgsReq, msg_pb2.DeleteMsgsResp, h.delete_msgs),
        RouteSpec(
            "/msg/clear_conversation_msg",
            msg_pb2.ClearConversationsMsgReq,
            msg_pb2.ClearConversationsMsgResp,
            h.clear_conversation_msg,
        ),
        RouteSpec(
            "/msg/user_clear_all_msg", msg_pb2.UserClearAllMsgReq, msg_pb2.UserClearAllMsgResp, h.user_clear_all_msg
        ),
        RouteSpec(
            "/msg/delete_msg_phsical_by_seq",
            msg_pb2.DeleteMsgPhysicalBySeqReq,
            msg_pb2.DeleteMsgPhysicalBySeqResp,
            h.delete_physical_by_seq,
            auth=Auth.ADMIN,
        ),
        RouteSpec(
            "/msg/delete_msg_physical",
            msg_pb2.DeleteMsgPhysicalReq,
            msg_pb2.DeleteMsgPhysicalResp,
            h.delete_physical,
            auth=Auth.ADMIN,
        ),
    ]
