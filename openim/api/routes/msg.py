"""/msg/*: admin sends, seq queries and pulls, revoke, read marks, deletes and clears .

Each handler checks who may call it (CheckAccess on the request's userID, or admin) and hands the rest to
MessageOps (what may happen to which message) or SyncService (what a user may read). The admin send
routes answer HTTP 400 when the body misses a field gin's ``binding:"required"`` would have refused, like
OpenIM; everything else answers HTTP 200 with the error code in the envelope.
"""

from __future__ import annotations

from typing import Any

from openim.api.framework import Auth, Caller, Router, binding_error
from openim.clock import now_ms
from openim.node import Node
from openim.service_set import Services
from openim.services.message_ops import Actor, admin_message, check_content
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
    if not user_id:
        raise args_error("userID is empty")
    caller.check_access(user_id)
    return Actor(user_id=user_id, op_user_id=caller.user_id, is_admin=caller.is_admin, operation_id=caller.operation_id)


def _sync_opts(req: Any) -> tuple[bool, bool]:
    opt = req.deleteSyncOpt
    return (bool(opt.IsSyncSelf), bool(opt.IsSyncOther)) if req.HasField("deleteSyncOpt") else (False, False)


def register(router: Router, node: Node, services: Services) -> None:
    ops, sync = services.message_ops, services.sync

    # -- admin sends ----------------------------------------------------------------------------------
    @router.route("/msg/send_msg", apistruct_pb2.SendMsgReq, msg_pb2.SendMsgResp, auth=Auth.ADMIN, bind_400=True)
    async def send_msg(caller: Caller, req: apistruct_pb2.SendMsgReq) -> msg_pb2.SendMsgResp:
        content = _content_of(caller, apistruct_pb2.SendMsgReq)
        _check_send_binding(req, needs_recv_id=True)
        node.guards.check_send(req.sendID, False)  # per-sender rate (openim.security), admins' bots included
        msg = admin_message(req, content, recv_id=req.recvID)
        out = await ops.send_admin(msg, caller.operation_id)
        return msg_pb2.SendMsgResp(serverMsgID=out.server_msg_id, clientMsgID=out.client_msg_id, sendTime=out.send_time)

    @router.route(
        "/msg/batch_send_msg", apistruct_pb2.BatchSendMsgReq, apistruct_pb2.BatchSendMsgResp, auth=Auth.ADMIN,
        bind_400=True,
    )
    async def batch_send_msg(caller: Caller, req: apistruct_pb2.BatchSendMsgReq) -> apistruct_pb2.BatchSendMsgResp:
        content = _content_of(caller, apistruct_pb2.BatchSendMsgReq)
        _check_send_binding(req, needs_recv_id=False)
        if req.sessionType not in (SessionType.SINGLE, SessionType.NOTIFICATION):
            raise args_error("batch_send_msg sends to users: sessionType must be 1 or 4")
        if not req.isSendAll and not req.recvIDs:
            raise args_error("recvIDs is empty and isSendAll is false")
        check_content(req.contentType, content)  # refuse a bad body before anything is sent
        resp = apistruct_pb2.BatchSendMsgResp()
        for recv_id in await ops.batch_recipients(req.recvIDs, req.isSendAll):
            # One message per receiver, each with its own clientMsgID: (sendID, clientMsgID) is the
            # dedupe key of the send path, so a shared one would collapse the batch into one message.
            try:
                out = await ops.send_admin(admin_message(req, content, recv_id=recv_id), caller.operation_id)
            except OpenIMError:
                resp.failedUserIDs.append(recv_id)
                continue
            resp.results.add(
                serverMsgID=out.server_msg_id, clientMsgID=out.client_msg_id, sendTime=out.send_time, recvID=recv_id
            )
        return resp

    @router.route(
        "/msg/send_business_notification", apistruct_pb2.SendBusinessNotificationReq, msg_pb2.SendMsgResp,
        auth=Auth.ADMIN, bind_400=True,
    )
    async def send_business_notification(
        caller: Caller, req: apistruct_pb2.SendBusinessNotificationReq
    ) -> msg_pb2.SendMsgResp:
        if not req.sendUserID:
            raise binding_error("sendUserID: required")
        out = await ops.send_business_notification(req, caller.operation_id)
        return msg_pb2.SendMsgResp(serverMsgID=out.server_msg_id, clientMsgID=out.client_msg_id, sendTime=out.send_time)

    @router.route("/msg/check_msg_is_send_success", msg_pb2.GetSendMsgStatusReq, msg_pb2.GetSendMsgStatusResp)
    async def check_msg_is_send_success(
        caller: Caller, req: msg_pb2.GetSendMsgStatusReq
    ) -> msg_pb2.GetSendMsgStatusResp:
        return msg_pb2.GetSendMsgStatusResp(status=ops.send_status(caller.operation_id))

    @router.route("/msg/get_server_time", msg_pb2.GetServerTimeReq, msg_pb2.GetServerTimeResp)
    async def get_server_time(caller: Caller, req: msg_pb2.GetServerTimeReq) -> msg_pb2.GetServerTimeResp:
        return msg_pb2.GetServerTimeResp(serverTime=now_ms())

    # -- reading ------------------------------------------------------------------------------------------
    @router.route("/msg/newest_seq", sdkws_pb2.GetMaxSeqReq, sdkws_pb2.GetMaxSeqResp)
    async def newest_seq(caller: Caller, req: sdkws_pb2.GetMaxSeqReq) -> sdkws_pb2.GetMaxSeqResp:
        _actor(caller, req.userID)
        return await sync.newest_seq(req.userID)

    @router.route("/msg/pull_msg_by_seq", sdkws_pb2.PullMessageBySeqsReq, sdkws_pb2.PullMessageBySeqsResp)
    async def pull_msg_by_seq(caller: Caller, req: sdkws_pb2.PullMessageBySeqsReq) -> sdkws_pb2.PullMessageBySeqsResp:
        _actor(caller, req.userID)
        return await sync.pull_by_range(req)

    @router.route(
        "/msg/get_conversations_has_read_and_max_seq",
        msg_pb2.GetConversationsHasReadAndMaxSeqReq,
        msg_pb2.GetConversationsHasReadAndMaxSeqResp,
    )
    async def get_conversations_has_read_and_max_seq(
        caller: Caller, req: msg_pb2.GetConversationsHasReadAndMaxSeqReq
    ) -> msg_pb2.GetConversationsHasReadAndMaxSeqResp:
        _actor(caller, req.userID)
        return await sync.has_read_and_max_seq(req.userID, list(req.conversationIDs), req.returnPinned)

    # -- revoke and read marks ------------------------------------------------------------------------
    @router.route("/msg/revoke_msg", msg_pb2.RevokeMsgReq, msg_pb2.RevokeMsgResp)
    async def revoke_msg(caller: Caller, req: msg_pb2.RevokeMsgReq) -> None:
        await ops.revoke(_actor(caller, req.userID), req.conversationID, req.seq)

    @router.route(
        "/msg/mark_conversation_as_read", msg_pb2.MarkConversationAsReadReq, msg_pb2.MarkConversationAsReadResp
    )
    async def mark_conversation_as_read(caller: Caller, req: msg_pb2.MarkConversationAsReadReq) -> None:
        actor = _actor(caller, req.userID)
        await ops.mark_conversation_as_read(actor, req.conversationID, req.hasReadSeq, list(req.seqs))

    @router.route("/msg/mark_msgs_as_read", msg_pb2.MarkMsgsAsReadReq, msg_pb2.MarkMsgsAsReadResp)
    async def mark_msgs_as_read(caller: Caller, req: msg_pb2.MarkMsgsAsReadReq) -> None:
        await ops.mark_msgs_as_read(_actor(caller, req.userID), req.conversationID, list(req.seqs))

    @router.route(
        "/msg/set_conversation_has_read_seq",
        msg_pb2.SetConversationHasReadSeqReq,
        msg_pb2.SetConversationHasReadSeqResp,
    )
    async def set_conversation_has_read_seq(caller: Caller, req: msg_pb2.SetConversationHasReadSeqReq) -> None:
        await ops.set_has_read_seq(_actor(caller, req.userID), req.conversationID, req.hasReadSeq)

    # -- deletes and clears ---------------------------------------------------------------------------
    @router.route("/msg/delete_msgs", msg_pb2.DeleteMsgsReq, msg_pb2.DeleteMsgsResp)
    async def delete_msgs(caller: Caller, req: msg_pb2.DeleteMsgsReq) -> None:
        sync_self, sync_other = _sync_opts(req)
        await ops.delete_msgs(
            _actor(caller, req.userID), req.conversationID, list(req.seqs), sync_self=sync_self, sync_other=sync_other
        )

    @router.route("/msg/clear_conversation_msg", msg_pb2.ClearConversationsMsgReq, msg_pb2.ClearConversationsMsgResp)
    async def clear_conversation_msg(caller: Caller, req: msg_pb2.ClearConversationsMsgReq) -> None:
        actor = _actor(caller, req.userID)
        if not req.conversationIDs:
            raise args_error("conversationIDs is empty")
        sync_self, sync_other = _sync_opts(req)
        await ops.clear_conversations(actor, list(req.conversationIDs), sync_self=sync_self, sync_other=sync_other)

    @router.route("/msg/user_clear_all_msg", msg_pb2.UserClearAllMsgReq, msg_pb2.UserClearAllMsgResp)
    async def user_clear_all_msg(caller: Caller, req: msg_pb2.UserClearAllMsgReq) -> None:
        sync_self, sync_other = _sync_opts(req)
        await ops.clear_conversations(_actor(caller, req.userID), None, sync_self=sync_self, sync_other=sync_other)

    @router.route(
        "/msg/delete_msg_phsical_by_seq", msg_pb2.DeleteMsgPhysicalBySeqReq, msg_pb2.DeleteMsgPhysicalBySeqResp,
        auth=Auth.ADMIN,
    )
    async def delete_msg_physical_by_seq(caller: Caller, req: msg_pb2.DeleteMsgPhysicalBySeqReq) -> None:
        await ops.delete_physical_by_seq(req.conversationID, list(req.seqs))

    @router.route(
        "/msg/delete_msg_physical", msg_pb2.DeleteMsgPhysicalReq, msg_pb2.DeleteMsgPhysicalResp, auth=Auth.ADMIN
    )
    async def delete_msg_physical(caller: Caller, req: msg_pb2.DeleteMsgPhysicalReq) -> None:
        await ops.delete_physical_older_than(list(req.conversationIDs), req.timestamp)
