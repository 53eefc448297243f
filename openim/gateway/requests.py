"""What the gateway does with one client request (the reqIdentifier codes of openim.wire.constants).

Two layers with different failure rules, as in the Go gateway:

- :func:`admit` decides whether a decoded envelope may be handled at all. A wrong ``sendID`` or an
  identifier a client must not send is a protocol violation: the connection is closed without a reply
  (:class:`ProtocolViolation`), because a client that does it is broken or hostile and answering it
  would only teach the JS SDK a wrong ``msgIncr``.
- :class:`Dispatcher` runs an admitted request. Everything that goes wrong there is *answered*
  (errCode/errMsg, ``data`` null) and the connection stays open: an :class:`OpenIMError` with its
  code, a protobuf that does not parse with 1001, anything unexpected with 500 and a log line with
  the traceback. Nothing a request does can end the process.

The dispatcher returns the frames to write, in order, instead of writing them: the session owns the
connection's outgoing buffer. A 1003 is the exception: it returns no frame at once; the send's
completion (called by the transfer stage after the commit) pushes the reply and then the echo, the
order the JS SDK needs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Final, Protocol

from google.protobuf.message import DecodeError

from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.pipeline.jobs import SendJob
from openim.pipeline.msg import OnDone, Pending, Sender
from openim.security.guards import Guards
from openim.wire.codec import JSON, FrameCodec
from openim.wire.constants import CLIENT_REQUESTS, ReqIdentifier
from openim.wire.envelope import WsRequest, encode_response
from openim.wire.errors import ErrCode, OpenIMError, args_error, no_permission
from openim.wire.msgdata import varint
from openim.wire.pb import msg_pb2, push_pb2, sdkws_pb2

__all__ = [
    "Dispatcher",
    "Handled",
    "MessageSender",
    "OnlineLookup",
    "ProtocolViolation",
    "Requester",
    "SubscriptionIndex",
    "SyncReader",
    "admit",
    "status_push_frame",
    "status_tips",
]

log = get_log("gateway")

MAX_SUBSCRIPTIONS: Final = 5000  # per connection; bounds the watcher index a client can grow


class ProtocolViolation(Exception):
    """The client broke the protocol; the session closes the connection without a reply."""


@dataclass(frozen=True, slots=True)
class Handled:
    """The outcome of one request: frames to write in this order, then maybe close (2003 logout)."""

    frames: tuple[bytes, ...]
    close: bool = False


# ---------------------------------------------------------------------------------------------
# what the dispatcher needs (Protocols, so unit tests pass fakes instead of the real services)
# ---------------------------------------------------------------------------------------------


class Requester(Protocol):
    """The connection a request came in on."""

    user_id: str
    platform_id: int
    conn_id: str
    is_admin: bool
    background: bool
    codec: FrameCodec  # replies are encoded for the connection (JSON or gob, maybe gzip)
    as_sender: Sender  # who the connection sends as, built once per connection

    def push(self, frame: bytes | str) -> bool:
        """Queue a frame on the connection (a deferred reply); False when it is closing."""


class SyncReader(Protocol):
    async def newest_seq(self, user_id: str) -> sdkws_pb2.GetMaxSeqResp: ...

    async def pull_by_range(self, req: sdkws_pb2.PullMessageBySeqsReq) -> sdkws_pb2.PullMessageBySeqsResp: ...

    async def pull_by_seqs(self, req: msg_pb2.GetSeqMessageReq) -> msg_pb2.GetSeqMessageResp: ...

    async def has_read_and_max_seq(
        self, user_id: str, conversation_ids: Sequence[str], return_pinned: bool = False
    ) -> msg_pb2.GetConversationsHasReadAndMaxSeqResp: ...

    async def last_messages(self, user_id: str, conversation_ids: Sequence[str]) -> msg_pb2.GetLastMessageResp: ...


class MessageSender(Protocol):
    async def submit(self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender, on_done: OnDone) -> None:
        """Check and queue ``msg``; raise OpenIMError to refuse; call ``on_done`` once it is stored."""

    def submit_nowait(
        self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender, on_done: OnDone
    ) -> Pending | None:
        """:meth:`submit` without waiting: None when queued, else what is left to await."""


class OnlineLookup(Protocol):
    async def online_platforms(self, user_ids: Sequence[str]) -> Mapping[str, Sequence[int]]:
        """Platform ids each user is connected on, over all gateways (absent or empty: offline)."""


class SubscriptionIndex(Protocol):
    def update_subscriptions(
        self, conn_id: str, subscribe: Sequence[str], unsubscribe: Sequence[str], *, limit: int
    ) -> bool:
        """Apply a 2005 request to the connection's watch list: unsubscribe first, then subscribe
        unless that would take the list past ``limit`` (then return False, subscribing nothing)."""


# ---------------------------------------------------------------------------------------------
# admission
# ---------------------------------------------------------------------------------------------


def admit(req: WsRequest, user_id: str) -> None:
    """Raise :class:`ProtocolViolation` unless the connection may send this request."""
    if req.send_id != user_id:
        raise ProtocolViolation(f"sendID {req.send_id!r} is not the connection's user")
    if req.req_identifier not in CLIENT_REQUESTS:
        raise ProtocolViolation(f"reqIdentifier {req.req_identifier} is not a client request")


# ---------------------------------------------------------------------------------------------
# 2005 online status
# ---------------------------------------------------------------------------------------------


def status_tips(online: Mapping[str, Sequence[int]], user_ids: Sequence[str]) -> sdkws_pb2.SubUserOnlineStatusTips:
    """One element per user, with its sorted online platforms (empty list = offline)."""
    tips = sdkws_pb2.SubUserOnlineStatusTips()
    for uid in user_ids:
        elem = tips.subscribers.add()
        elem.userID = uid
        elem.onlinePlatformIDs.extend(sorted(set(online.get(uid, ()))))
    return tips


def status_push_frame(user_id: str, platform_ids: Sequence[int]) -> bytes:
    """The 2005 push sent to watchers when ``user_id``'s platforms change (msgIncr and operationID empty)."""
    tips = status_tips({user_id: platform_ids}, [user_id])
    return encode_response(ReqIdentifier.SUB_USER_ONLINE_STATUS, "", "", 0, "", tips.SerializeToString())


# ---------------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------------


@dataclass
class _Result:
    """A handler's success: the reply payload (None = JSON null) and what follows the reply."""

    data: bytes | None
    after: list[bytes] = field(default_factory=list)
    close: bool = False


_Handler = Callable[[Requester, WsRequest], Awaitable[_Result]]
_DEFERRED: Final = _Result(None)  # the reply comes later (1003: after the commit)
_NOTHING: Final = Handled(())


def send_msg_resp(server_msg_id: str, client_msg_id: str, send_time: int) -> bytes:
    """``msg.SendMsgResp{serverMsgID=1, clientMsgID=2, sendTime=3}`` encoded directly: the same bytes
    protobuf writes, without building a message object for every send."""
    out = b""
    if server_msg_id:
        raw = server_msg_id.encode()
        out += b"\x0a" + varint(len(raw)) + raw
    if client_msg_id:
        raw = client_msg_id.encode()
        out += b"\x12" + varint(len(raw)) + raw
    if send_time:
        out += b"\x18" + varint(send_time)
    return out


def _own(req_user_id: str, peer: Requester) -> None:
    # OpenIM answers 1002 when a request names another user (and when it names none).
    if req_user_id != peer.user_id:
        raise no_permission(f"userID {req_user_id!r} is not the connection's user")


class Dispatcher:
    """Runs admitted requests against the services; one instance serves every connection."""

    def __init__(
        self,
        *,
        sync: SyncReader,
        sender: MessageSender,
        online: OnlineLookup,
        subscriptions: SubscriptionIndex,
        metrics: Metrics,
        forget_push_token: Callable[[str, int], Awaitable[None]] | None = None,
        guards: Guards | None = None,
    ) -> None:
        self._forget_push_token = forget_push_token  # 2003: the device's offline-push token goes
        self._guards = guards  # abuse limits (openim.security); None: unlimited
        self._sync = sync
        self._sender = sender
        self._online = online
        self._subs = subscriptions
        self._metrics = metrics
        self._handlers: dict[int, _Handler] = {
            ReqIdentifier.GET_NEWEST_SEQ: self._newest_seq,
            ReqIdentifier.PULL_MSG_BY_RANGE: self._pull_by_range,
            ReqIdentifier.SEND_MSG: self._send_msg,
            ReqIdentifier.SEND_SIGNAL_MSG: self._send_signal,
            ReqIdentifier.PULL_MSG_BY_SEQ_LIST: self._pull_by_seqs,
            ReqIdentifier.GET_CONV_MAX_READ_SEQ: self._has_read_and_max_seq,
            ReqIdentifier.PULL_CONV_LAST_MESSAGE: self._last_messages,
            ReqIdentifier.LOGOUT_MSG: self._logout,
            ReqIdentifier.SET_BACKGROUND_STATUS: self._set_background,
            ReqIdentifier.SUB_USER_ONLINE_STATUS: self._subscribe_status,
        }
        self._req_counters = {code: metrics.ws_requests.labels(req=str(int(code))) for code in self._handlers}

    async def handle(self, peer: Requester, req: WsRequest) -> Handled:
        """Run ``req`` (already admitted) and return the frames to write. Never raises, except
        cancellation: every failure becomes an error reply."""
        handler = self._handlers.get(req.req_identifier)
        if handler is None:  # admit() keeps these out; a caller that skipped it still gets no reply
            raise ProtocolViolation(f"reqIdentifier {req.req_identifier} is not handled")
        self._req_counters[req.req_identifier].inc()
        return await self._answer(peer, req, handler)

    def handle_now(self, peer: Requester, req: WsRequest) -> Handled | Callable[[], Awaitable[Handled]]:
        """:meth:`handle` for a reader that must not wait: the frames when the request is done without
        waiting (a 1003 whose checks are cached: it is queued, its reply comes later), otherwise what is
        left to await for them, in the connection's order."""
        if req.req_identifier != ReqIdentifier.SEND_MSG:
            return partial(self.handle, peer, req)
        self._req_counters[req.req_identifier].inc()
        try:
            pending = self._send_now(peer, req)
        except Exception as exc:  # answered as handle() answers it
            return self._failure(peer, req, exc)
        if pending is None:
            return _NOTHING
        return partial(self._answer, peer, req, pending)

    async def _answer(self, peer: Requester, req: WsRequest, handler: _Handler) -> Handled:
        try:
            result = await handler(peer, req)
        except Exception as exc:  # every failure becomes an error reply (_failure)
            return self._failure(peer, req, exc)
        if result is _DEFERRED:
            return _NOTHING
        reply = peer.codec.encode_response(req.req_identifier, req.msg_incr, req.operation_id, 0, "", result.data)
        return Handled((reply, *result.after), result.close)

    def _failure(self, peer: Requester, req: WsRequest, exc: Exception) -> Handled:
        """The error reply for a request that failed with ``exc`` (a bug is logged with its traceback)."""
        if isinstance(exc, OpenIMError):
            return self._error(peer, req, exc.code, exc.detail)
        if isinstance(exc, DecodeError):
            return self._error(peer, req, ErrCode.ARGS, f"data is not a valid protobuf: {exc}")
        # A bug must cost one request an answer of 500, never the connection.
        log.error(
            "request.failed",
            req=req.req_identifier,
            user_id=peer.user_id,
            conn_id=peer.conn_id,
            operation_id=req.operation_id,
            exc_info=True,  # called inside the except block that caught exc
        )
        return self._error(peer, req, ErrCode.SERVER_INTERNAL, "internal error")

    def _error(self, peer: Requester, req: WsRequest, code: ErrCode, detail: str) -> Handled:
        self._metrics.ws_errors.labels(code=str(int(code))).inc()
        log.info(
            "request.refused",
            req=req.req_identifier,
            code=int(code),
            detail=detail,
            user_id=peer.user_id,
            conn_id=peer.conn_id,
            operation_id=req.operation_id,
        )
        # The envelope has no errDlt: errMsg carries the code's name, as the Go gateway sends it.
        return Handled(
            (peer.codec.encode_response(req.req_identifier, req.msg_incr, req.operation_id, code, code.err_msg),)
        )

    # -- seqs and pulls ----------------------------------------------------------------------------
    async def _newest_seq(self, peer: Requester, req: WsRequest) -> _Result:
        get = sdkws_pb2.GetMaxSeqReq.FromString(req.data)
        _own(get.userID, peer)
        return _Result((await self._sync.newest_seq(peer.user_id)).SerializeToString())

    async def _pull_by_range(self, peer: Requester, req: WsRequest) -> _Result:
        pull = sdkws_pb2.PullMessageBySeqsReq.FromString(req.data)
        _own(pull.userID, peer)
        return _Result((await self._sync.pull_by_range(pull)).SerializeToString())

    async def _pull_by_seqs(self, peer: Requester, req: WsRequest) -> _Result:
        pull = msg_pb2.GetSeqMessageReq.FromString(req.data)
        # OpenIM does not check here; we do, because the pull reads through req.userID's conversation
        # rows and a user never reads another user's conversations (docs/architecture.md, "Security").
        _own(pull.userID, peer)
        return _Result((await self._sync.pull_by_seqs(pull)).SerializeToString())

    async def _has_read_and_max_seq(self, peer: Requester, req: WsRequest) -> _Result:
        get = msg_pb2.GetConversationsHasReadAndMaxSeqReq.FromString(req.data)
        _own(get.userID, peer)
        resp = await self._sync.has_read_and_max_seq(peer.user_id, list(get.conversationIDs), get.returnPinned)
        return _Result(resp.SerializeToString())

    async def _last_messages(self, peer: Requester, req: WsRequest) -> _Result:
        get = msg_pb2.GetLastMessageReq.FromString(req.data)
        _own(get.userID, peer)
        return _Result((await self._sync.last_messages(peer.user_id, list(get.conversationIDs))).SerializeToString())

    # -- sending -------------------------------------------------------------------------------------
    async def _send_msg(self, peer: Requester, req: WsRequest) -> _Result:
        pending = self._send_now(peer, req)
        return _DEFERRED if pending is None else await pending(peer, req)

    def _send_now(self, peer: Requester, req: WsRequest) -> _Handler | None:
        """Check and queue a 1003 without waiting if the msg stage can (None), else the rest to await."""
        if self._guards is not None:  # per-user send rate (openim.security): 1002 "rate limited"
            self._guards.check_send(peer.user_id, peer.is_admin)
        msg = sdkws_pb2.MsgData.FromString(req.data)
        msg_incr, operation_id = req.msg_incr, req.operation_id
        errors = self._metrics.ws_errors
        codec = peer.codec

        def done(job: SendJob) -> None:
            # Called by the transfer stage after the commit (or with the error that prevented it).
            if job.err_code:
                code = ErrCode(job.err_code)
                errors.labels(code=str(job.err_code)).inc()
                peer.push(codec.encode_response(ReqIdentifier.SEND_MSG, msg_incr, operation_id, code, code.err_msg))
                return
            resp = send_msg_resp(job.server_msg_id, job.client_msg_id, job.send_time)
            peer.push(codec.encode_response(ReqIdentifier.SEND_MSG, msg_incr, operation_id, 0, "", resp))
            if job.want_echo and job.push is not None:
                # The fan-out skipped this connection so that its echo comes after the reply, with the
                # request's operationID: the JS SDK then patches its own message instead of showing it twice.
                peer.push(job.push.frame if codec is JSON else codec.from_json_frame(job.push.frame))

        pending = self._sender.submit_nowait(msg, operation_id=operation_id, sender=peer.as_sender, on_done=done)
        if pending is None:
            return None

        async def rest(peer: Requester, req: WsRequest) -> _Result:
            await pending()
            return _DEFERRED

        return rest

    async def _send_signal(self, peer: Requester, req: WsRequest) -> _Result:
        raise args_error("signal messages are not supported")

    # -- connection state ----------------------------------------------------------------------------
    async def _logout(self, peer: Requester, req: WsRequest) -> _Result:
        push_pb2.DelUserPushTokenReq.FromString(req.data)  # validated; the connection's own user/platform count
        if self._forget_push_token is not None:
            try:
                await self._forget_push_token(peer.user_id, peer.platform_id)
            except Exception as exc:  # the logout itself must succeed; a stale token costs one useless push
                log.warning("logout.push_token_failed", user_id=peer.user_id, error=f"{type(exc).__name__}: {exc}")
        return _Result(push_pb2.DelUserPushTokenResp().SerializeToString(), close=True)

    async def _set_background(self, peer: Requester, req: WsRequest) -> _Result:
        status = sdkws_pb2.SetAppBackgroundStatusReq.FromString(req.data)
        peer.background = status.isBackground
        return _Result(None)

    async def _subscribe_status(self, peer: Requester, req: WsRequest) -> _Result:
        sub = sdkws_pb2.SubUserOnlineStatus.FromString(req.data)
        subscribe = list(dict.fromkeys(u for u in sub.subscribeUserID if u))
        unsubscribe = [u for u in sub.unsubscribeUserID if u]
        if not self._subs.update_subscriptions(peer.conn_id, subscribe, unsubscribe, limit=MAX_SUBSCRIPTIONS):
            raise args_error(f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection")
        online = await self._online.online_platforms(subscribe) if subscribe else {}
        return _Result(status_tips(online, subscribe).SerializeToString())
