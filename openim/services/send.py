"""The msg stage of the send path (DESIGN.md section 3): validate, permit, stamp, then hand to transfer
and wait until the message is durable.

Callers (the gateway for 1003, the REST API for /msg/send_msg, the notification sender) get a
:class:`SendOutcome` only after the transfer stage has committed the message and its seq (invariant 1),
or at once for online-only messages (history=false: typing and the like, seq 0, pushed only).

The fan-out skips the connection that sent the message: its own gateway writes the 1003 reply first and
then the echo (``SendOutcome.echo``), which is the order the JS SDK needs to recognise its own message.
"""

from __future__ import annotations

import hashlib
import os
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import trio

from openim.bus.port import Bus, BusUnavailable
from openim.config import MessagingConfig
from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.services.cache import TtlCache
from openim.services.inbox import NodeInbox
from openim.services.internal import KIND_REPLY, PushItem, SendReply, TransferItem
from openim.services.send_content import check_content_type
from openim.storage.port import Store, StoreUnavailable
from openim.storage.records import UserRecord
from openim.wire.constants import (
    ContentType,
    MsgStatus,
    Option,
    SessionType,
    conversation_id_for_msg,
    option_on,
)
from openim.wire.errors import ErrCode, OpenIMError, args_error
from openim.wire.pb import sdkws_pb2

log = get_log("send")

TRANSFER_TOPIC = "transfer"
PUSH_TOPIC = "push"
REPLY_TIMEOUT_S = 15.0
RECV_OPT_NOT_RECEIVE = 1
RECV_OPT_NO_OFFLINE_PUSH = 2
CACHE_TTL_S = 5.0
APP_ADMIN_LEVEL = 2

# contentType -> options forced off by the server (OpenIM's encapsulateMsgData rules).
_FORCED_OFF: dict[int, tuple[str, ...]] = {
    ContentType.TYPING: (
        Option.HISTORY, Option.PERSISTENT, Option.SENDER_SYNC, Option.CONVERSATION_UPDATE,
        Option.SENDER_CONVERSATION_UPDATE, Option.UNREAD_COUNT, Option.OFFLINE_PUSH,
    ),
    ContentType.REVOKE: (Option.UNREAD_COUNT, Option.OFFLINE_PUSH),
    ContentType.HAS_READ_RECEIPT: (
        Option.CONVERSATION_UPDATE, Option.SENDER_CONVERSATION_UPDATE, Option.UNREAD_COUNT, Option.OFFLINE_PUSH,
    ),
}


def partition_of(conversation_id: str, partitions: int) -> int:
    """Stable across processes and restarts (Python's hash() is salted per process)."""
    return zlib.crc32(conversation_id.encode()) % partitions


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_server_msg_id(send_id: str) -> str:
    return hashlib.md5(f"{time.time_ns()}-{send_id}-{os.urandom(8).hex()}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Sender:
    """Who asks to send: the authenticated user, or the system (notifications, admin REST sends)."""

    user_id: str
    platform_id: int = 0
    is_admin: bool = False
    conn_id: str = ""  # the gateway connection it came from, "" for REST/system
    system: bool = False  # server-generated: skip permission checks


@dataclass(frozen=True, slots=True)
class SendOutcome:
    server_msg_id: str
    client_msg_id: str
    send_time: int
    seq: int
    conversation_id: str
    duplicate: bool = False
    # The stored message (seq set, status 2) for the sending connection's own echo, or None when that
    # connection must not get one (typing, senderSync off, or a duplicate that was pushed before).
    echo: sdkws_pb2.MsgData | None = None


class SendHooks(Protocol):
    """Callbacks around a send (openim.webhooks.messages): before may refuse or change the message, after
    only queues and returns at once."""

    async def before_send(self, msg: sdkws_pb2.MsgData, *, operation_id: str, is_admin: bool) -> None: ...

    def after_send(self, msg: sdkws_pb2.MsgData, *, operation_id: str) -> None: ...


class SendPolicy(Protocol):
    """Permission and audience rules that depend on relations (friends, blacklist, groups)."""

    async def check(self, msg: sdkws_pb2.MsgData, sender: Sender) -> None:
        """Raise OpenIMError to refuse (1302 blocked, 1303 not friends, 1203 not in group, ...)."""

    async def audience(self, msg: sdkws_pb2.MsgData) -> tuple[tuple[str, ...], int]:
        """(users who get a conversation row, conversation type) for a chat message."""


@dataclass
class _Pending:
    done: trio.Event = field(default_factory=trio.Event)
    reply: SendReply | None = None


class SendService:
    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        inbox: NodeInbox,
        node_id: str,
        messaging: MessagingConfig,
        metrics: Metrics,
        policy: SendPolicy | None = None,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
    ) -> None:
        self._store = store
        self._reply_timeout = reply_timeout_s
        self._bus = bus
        self._node_id = node_id
        self._cfg = messaging
        self._metrics = metrics
        self._policy = policy
        self._hooks: SendHooks | None = None  # webhooks, when any message callback is enabled
        self._pending: dict[str, _Pending] = {}
        self._seq = 0
        self._users: TtlCache[str, UserRecord | None] = TtlCache(CACHE_TTL_S)
        self._conv_opts: TtlCache[str, dict[str, int]] = TtlCache(CACHE_TTL_S)
        inbox.register(KIND_REPLY, self._on_reply)

    def set_policy(self, policy: SendPolicy) -> None:
        self._policy = policy

    def set_hooks(self, hooks: SendHooks) -> None:
        self._hooks = hooks

    # -- caches the API invalidates when it changes what they hold ----------------------------------
    def forget_user(self, user_id: str) -> None:
        self._users.invalidate(user_id)

    def forget_conversation(self, owner_user_id: str, conversation_id: str) -> None:
        self._conv_opts.invalidate(owner_user_id)

    async def _user(self, user_id: str) -> UserRecord | None:
        cached = self._users.get(user_id)
        if cached is not None:
            return cached
        users = await self._store.get_users([user_id])
        user = users[0] if users else None
        if user is not None:
            self._users.put(user_id, user)
        return user

    async def _recv_opt(self, owner: str, conversation_id: str) -> int:
        """The recipient's receive option for this conversation. Cached per recipient (only the rows that
        differ from the default), so a user who hears from many peers costs one read per TTL, not one
        per conversation."""
        opts = self._conv_opts.get(owner)
        if opts is None:
            rows = await self._store.get_user_conversations(owner)
            opts = {r.conversation_id: r.recv_msg_opt for r in rows if r.recv_msg_opt}
            self._conv_opts.put(owner, opts)
        return opts.get(conversation_id, 0)

    # -- the send path ------------------------------------------------------------------------------
    async def send(self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender) -> SendOutcome:
        """Validate, permit, stamp and persist ``msg`` (mutated in place); return once durable.

        A store or bus outage is answered with a clear error (90002 DatabaseError, or 500 naming the bus),
        never a bare internal error: the client retries with the same clientMsgID, which dedupe makes safe.
        """
        try:
            return await self._send(msg, operation_id=operation_id, sender=sender)
        except StoreUnavailable as exc:
            self._metrics.messages_refused.labels(code=str(int(ErrCode.DATABASE))).inc()
            log.warning("send.store_unavailable", error=str(exc.__cause__ or exc))
            raise OpenIMError(ErrCode.DATABASE, "storage unavailable, message not sent; retry") from exc
        except BusUnavailable as exc:
            self._metrics.messages_refused.labels(code=str(int(ErrCode.SERVER_INTERNAL))).inc()
            log.warning("send.bus_unavailable", error=str(exc.__cause__ or exc))
            raise OpenIMError(ErrCode.SERVER_INTERNAL, "message bus unavailable, message not sent; retry") from exc

    async def _send(self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender) -> SendOutcome:
        started = time.perf_counter()
        try:
            self._validate(msg, sender)
            await self._permit(msg, sender)
            if self._hooks is not None and not sender.system:
                await self._hooks.before_send(msg, operation_id=operation_id, is_admin=sender.is_admin)
        except OpenIMError as err:
            self._metrics.messages_refused.labels(code=str(int(err.code))).inc()
            raise
        self._stamp(msg)
        conversation_id = conversation_id_for_msg(msg)
        recipients = self.recipients_of(msg)
        # Group audiences (every member, the sender included) come from the policy, not recipients_of; the
        # fan-out skips the sending connection either way, so it needs its echo from the gateway.
        echo_wanted = sender.conn_id != "" and (
            msg.sessionType == SessionType.READ_GROUP or sender.user_id in recipients
        )
        if not option_on(msg.options, Option.HISTORY):
            # Online only: no seq, nothing stored, pushed at once (the sender's connection is skipped).
            await self._push_now(msg, conversation_id, operation_id, sender, recipients)
            return SendOutcome(msg.serverMsgID, msg.clientMsgID, msg.sendTime, 0, conversation_id)
        owners, conv_type = await self._audience(msg, conversation_id)
        reply = await self._submit(
            TransferItem(
                request_id="",
                origin_node=self._node_id,
                origin_conn=sender.conn_id,
                operation_id=operation_id,
                conversation_id=conversation_id,
                conversation_type=conv_type,
                msg=msg.SerializeToString(),
                owners=owners,
                # A group's reader must be one of its owners: a row would otherwise be created for a
                # non-member (an app admin, or a member who just left and sends the 1504 copy).
                reader_user_id=msg.sendID
                if conv_type != 0 and (conv_type != SessionType.READ_GROUP or msg.sendID in owners)
                else "",
                recipients=recipients,
            )
        )
        if reply.err_code:
            raise OpenIMError(ErrCode(reply.err_code), reply.err_detail)
        msg.seq = reply.seq
        msg.serverMsgID = reply.server_msg_id
        msg.sendTime = reply.send_time
        self._metrics.messages_sent.inc()
        self._metrics.send_latency.observe(time.perf_counter() - started)
        if self._hooks is not None and not sender.system and not reply.duplicate:
            self._hooks.after_send(msg, operation_id=operation_id)
        return SendOutcome(
            reply.server_msg_id, msg.clientMsgID, reply.send_time, reply.seq, conversation_id,
            duplicate=reply.duplicate, echo=msg if echo_wanted and not reply.duplicate else None,
        )

    def _validate(self, msg: sdkws_pb2.MsgData, sender: Sender) -> None:
        if msg.sendID != sender.user_id and not (sender.is_admin or sender.system):
            raise OpenIMError(ErrCode.NO_PERMISSION, f"sendID {msg.sendID} is not the logged-in user")
        if not msg.sendID:
            raise args_error("sendID is empty")
        if not msg.clientMsgID:
            raise args_error("clientMsgID is empty")
        if msg.contentType <= 0:
            raise args_error("contentType is empty")
        check_content_type(msg.contentType, is_admin=sender.is_admin, system=sender.system)
        st = msg.sessionType
        if st in (SessionType.SINGLE, SessionType.NOTIFICATION):
            if not msg.recvID:
                raise args_error("recvID is empty")
        elif st == SessionType.READ_GROUP:
            if not msg.groupID:
                raise args_error("groupID is empty")
        else:
            raise args_error(f"unknown sessionType {st}")

    async def _permit(self, msg: sdkws_pb2.MsgData, sender: Sender) -> None:
        if sender.system:
            return
        if msg.sessionType in (SessionType.SINGLE, SessionType.NOTIFICATION):
            recv = await self._user(msg.recvID)
            if recv is None:
                raise OpenIMError(ErrCode.RECORD_NOT_FOUND, f"recvID {msg.recvID} is not a registered user")
            privileged = sender.is_admin
            if not privileged:
                sender_user = await self._user(msg.sendID)
                privileged = sender_user is not None and sender_user.app_manager_level >= APP_ADMIN_LEVEL
            if not privileged:
                if self._policy is not None:
                    await self._policy.check(msg, sender)
                conv_id = conversation_id_for_msg(msg)
                opt = max(recv.global_recv_msg_opt, await self._recv_opt(msg.recvID, conv_id))
                if opt == RECV_OPT_NOT_RECEIVE:
                    raise args_error("message is not sent: the recipient does not receive messages")
                if opt == RECV_OPT_NO_OFFLINE_PUSH:
                    msg.options[Option.OFFLINE_PUSH] = False
        elif self._policy is not None:
            await self._policy.check(msg, sender)
        else:
            raise OpenIMError(ErrCode.NOT_IN_GROUP_YET, f"group {msg.groupID} does not exist")

    def _stamp(self, msg: sdkws_pb2.MsgData) -> None:
        msg.serverMsgID = new_server_msg_id(msg.sendID)
        if msg.sendTime <= 0:
            msg.sendTime = now_ms()
        msg.status = MsgStatus.SUCCESS
        msg.seq = 0
        for key in _FORCED_OFF.get(msg.contentType, ()):
            msg.options[key] = False

    def recipients_of(self, msg: sdkws_pb2.MsgData) -> tuple[str, ...]:
        """Who gets the push for a one-to-one/notification message (group audiences come from the policy)."""
        if msg.sessionType == SessionType.READ_GROUP:
            return ()
        if msg.sendID != msg.recvID and self._cfg.sender_sync and option_on(msg.options, Option.SENDER_SYNC):
            return (msg.recvID, msg.sendID)
        return (msg.recvID,)

    async def _audience(self, msg: sdkws_pb2.MsgData, conversation_id: str) -> tuple[tuple[str, ...], int]:
        if conversation_id.startswith("n_"):
            return (), 0  # notification streams have no per-user conversation rows
        if msg.sessionType in (SessionType.SINGLE, SessionType.NOTIFICATION):
            owners = (msg.sendID,) if msg.sendID == msg.recvID else (msg.sendID, msg.recvID)
            return owners, int(msg.sessionType)
        if self._policy is None:
            raise OpenIMError(ErrCode.NOT_IN_GROUP_YET, f"group {msg.groupID} does not exist")
        return await self._policy.audience(msg)

    async def _submit(self, item: TransferItem) -> SendReply:
        self._seq += 1
        request_id = f"{self._seq}"
        pending = _Pending()
        self._pending[request_id] = pending
        item = TransferItem(
            request_id, item.origin_node, item.origin_conn, item.operation_id, item.conversation_id,
            item.conversation_type, item.msg, item.owners, item.reader_user_id, item.recipients,
        )
        try:
            partition = partition_of(item.conversation_id, self._cfg.transfer_partitions)
            await self._bus.queue_put(TRANSFER_TOPIC, partition, [item.encode()])
            with trio.move_on_after(self._reply_timeout):
                await pending.done.wait()
        finally:
            del self._pending[request_id]
        if pending.reply is None:
            raise OpenIMError(ErrCode.SERVER_INTERNAL, "message not acknowledged by storage in time; retry")
        return pending.reply

    def _on_reply(self, body: bytes) -> None:
        reply = SendReply.decode(body)
        pending = self._pending.get(reply.request_id)
        if pending is not None:  # else the caller gave up (timeout); the retry will dedupe
            pending.reply = reply
            pending.done.set()

    async def _push_now(
        self,
        msg: sdkws_pb2.MsgData,
        conversation_id: str,
        operation_id: str,
        sender: Sender,
        recipients: Sequence[str],
    ) -> None:
        exclude = f"{self._node_id}/{sender.conn_id}" if sender.conn_id else ""
        item = PushItem(operation_id, conversation_id, msg.SerializeToString(), exclude, tuple(recipients))
        partition = partition_of(conversation_id, self._cfg.transfer_partitions)
        await self._bus.queue_put(PUSH_TOPIC, partition, [item.encode()])

