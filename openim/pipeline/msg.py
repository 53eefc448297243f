"""The msg stage of the send path: validate, permit, stamp, and hand the message to the transfer stage.

:meth:`SendService.submit` is what a connection's reader calls: it checks the message against in-memory
state (a cache miss reads one row), queues it for the transfer stage and returns; the reader reads on.
The transfer stage calls the submitted ``on_done`` after the COMMIT (acked means durable), in this
process directly, or through :class:`openim.pipeline.replies.Replies` when the transfer stage runs in
another process. :meth:`SendService.send` wraps the same path for callers that wait (the REST API,
notifications): it returns a :class:`SendOutcome` only once the message is durable, or at once for
online-only messages (history=false: typing and the like, seq 0, pushed only).

The fan-out skips the connection that sent the message: its own gateway writes the 1003 reply first and
then the echo (``SendOutcome.echo``), which is the order the JS SDK needs to recognise its own message.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import trio

from openim.bus.port import BusUnavailable
from openim.clock import now_ms
from openim.config import MessagingConfig
from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.pipeline.handoff import Handoff
from openim.pipeline.jobs import PushJob, SendJob
from openim.pipeline.partitioning import partition_of
from openim.pipeline.replies import Replies
from openim.pipeline.send_content import check_content_type
from openim.storage.messages.records import UserRecord
from openim.storage.port import Store, StoreUnavailable
from openim.ttl_cache import CacheRegistry, TtlCache
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
# Users and receive options change only through writers that invalidate them (here and, in a cluster, in
# every process); the TTL only bounds an invalidation lost with Redis.
SEND_CACHE_TTL_S = 60.0
# The caches of the reads below (SendService._user, SendService._recv_opt), by name (openim.ttl_cache).
USERS_BY_ID = "users_by_id"
RECEIVE_OPTIONS_BY_OWNER = "receive_options_by_owner"  # an owner's non-default conversation options
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


_ids = random.Random(os.urandom(32))  # seeded per process from the kernel, then no syscall per message


def new_server_msg_id(send_id: str) -> str:
    """32 random hex digits: the shape of OpenIM's ids (an md5 hex digest). Unique, not secret: it is
    shown to every recipient, so a fast generator will do (os.urandom would be a syscall per send)."""
    return f"{_ids.getrandbits(128):032x}"


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

    def check_now(self, msg: sdkws_pb2.MsgData, sender: Sender) -> bool:
        """:meth:`check` from what is in memory: raise as it does, or return True when the message may
        go; False when deciding needs a read (then :meth:`check` must be awaited)."""

    async def audience(self, msg: sdkws_pb2.MsgData) -> tuple[tuple[str, ...], int]:
        """(users who get a conversation row, conversation type) for a chat message."""


OnDone = Callable[[SendJob], None]
# What is left of a submit that could not finish without waiting: await it (it raises as submit does).
Pending = Callable[[], Awaitable[None]]

_ONE_TO_ONE = frozenset({SessionType.SINGLE, SessionType.NOTIFICATION})


class SendService:
    def __init__(
        self,
        *,
        store: Store,
        sends: Handoff[SendJob],
        pushes: Handoff[PushJob],
        replies: Replies,
        in_process: bool,
        node_id: str,
        messaging: MessagingConfig,
        metrics: Metrics,
        caches: CacheRegistry | None = None,
        policy: SendPolicy | None = None,
        hooks: SendHooks | None = None,
    ) -> None:
        self._store = store
        self._sends = sends
        self._pushes = pushes
        self._replies = replies
        self._in_process = in_process  # the transfer stage takes our job objects themselves
        self._node_id = node_id
        self._cfg = messaging
        self._metrics = metrics
        self._policy = policy
        self._hooks = hooks  # webhooks, when any message callback is enabled
        registry = caches if caches is not None else CacheRegistry()  # None: caches of its own (tests)
        self._users: TtlCache[str, UserRecord | None] = registry.cache(USERS_BY_ID, SEND_CACHE_TTL_S)
        self._conv_opts: TtlCache[str, dict[str, int]] = registry.cache(RECEIVE_OPTIONS_BY_OWNER, SEND_CACHE_TTL_S)

    # -- the caches' owners: the services that change what they hold call these ---------------------
    def forget_user(self, user_id: str) -> None:
        """The user's record changed (UserService.update)."""
        self._users.invalidate(user_id)

    def forget_conversation(self, owner_user_id: str, conversation_id: str) -> None:
        """A receive option of the owner's changed (ConversationService)."""
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
        """The recipient's receive option for this conversation. Cached per recipient: only the options
        that differ from the default (usually none), read in one small query on a miss and dropped by the
        writer that changes one (forget_conversation), so a user who hears from many peers costs one
        read, not one per conversation."""
        opts = self._conv_opts.get(owner)
        if opts is None:
            opts = await self._store.get_receive_options(owner)
            self._conv_opts.put(owner, opts)
        return opts.get(conversation_id, 0)

    # -- the send path ------------------------------------------------------------------------------
    async def submit(self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender, on_done: OnDone) -> None:
        """Validate, permit, stamp ``msg`` (mutated in place) and queue it for the transfer stage.

        A refusal raises :class:`OpenIMError` (the caller answers at once). Otherwise ``on_done(job)`` is
        called exactly once, after the message is durable (``job.err_code`` 0, ``job.seq`` set) or with
        the error that kept it from being stored; for an online-only message, before this returns.
        A store or bus outage is answered with a clear error (90002 DatabaseError, or 500 naming the bus),
        never a bare internal error: the client retries with the same clientMsgID, which dedupe makes safe.
        """
        try:
            await self._submit(msg, operation_id, sender, on_done)
        except StoreUnavailable as exc:
            self._metrics.messages_refused.labels(code=str(int(ErrCode.DATABASE))).inc()
            log.warning("send.store_unavailable", error=str(exc.__cause__ or exc))
            raise OpenIMError(ErrCode.DATABASE, "storage unavailable, message not sent; retry") from exc
        except BusUnavailable as exc:
            self._metrics.messages_refused.labels(code=str(int(ErrCode.SERVER_INTERNAL))).inc()
            log.warning("send.bus_unavailable", error=str(exc.__cause__ or exc))
            raise OpenIMError(ErrCode.SERVER_INTERNAL, "message bus unavailable, message not sent; retry") from exc

    async def send(self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender) -> SendOutcome:
        """:meth:`submit` and wait: returns once the message is durable (for the REST API and the
        server's own notifications, which answer only after that)."""
        finished = trio.Event()
        box: list[SendJob] = []

        def done(job: SendJob) -> None:
            box.append(job)
            finished.set()

        await self.submit(msg, operation_id=operation_id, sender=sender, on_done=done)
        with trio.move_on_after(REPLY_TIMEOUT_S):
            await finished.wait()
        if not box:  # the transfer stage stopped (shutdown) before it took this message
            raise OpenIMError(ErrCode.SERVER_INTERNAL, "message not acknowledged by storage in time; retry")
        job = box[0]
        if job.err_code:
            raise OpenIMError(ErrCode(job.err_code), job.err_detail)
        msg.seq, msg.serverMsgID, msg.sendTime = job.seq, job.server_msg_id, job.send_time
        echo = msg if job.want_echo and not job.duplicate and job.seq else None
        return SendOutcome(
            job.server_msg_id, job.client_msg_id, job.send_time, job.seq, job.conversation_id,
            duplicate=job.duplicate, echo=echo,
        )

    def submit_nowait(
        self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender, on_done: OnDone
    ) -> Pending | None:
        """:meth:`submit` without a task switch, for the gateway's reader: None when the message is
        queued for the transfer stage (``on_done`` follows as for submit), or what is left to await.

        It finishes here when everything the checks need is in memory (the usual one-to-one message to
        a peer heard from before) and the hand-off takes the job without waiting. Otherwise it returns
        either the whole :meth:`submit` (nothing was done yet: a cache miss, a before-send callback, a
        group or online-only message) or only the hand-off's ``put`` of the job built here. A refusal
        raises :class:`OpenIMError` at once, as submit does.
        """
        if self._hooks is not None and not sender.system:
            return self._later(msg, operation_id, sender, on_done)
        started = time.perf_counter()
        try:
            self._validate(msg, sender)
            conversation_id = conversation_id_for_msg(msg)
            permitted = self._permit_now(msg, sender, conversation_id)
        except OpenIMError as err:
            self._metrics.messages_refused.labels(code=str(int(err.code))).inc()
            raise
        self._force_options(msg)
        owners = self._owners_now(msg, conversation_id) if permitted else None
        if owners is None:
            return self._later(msg, operation_id, sender, on_done)
        job = self._job(msg, operation_id, sender, on_done, started, conversation_id, owners, int(msg.sessionType))
        return self._queue(job)

    def _later(self, msg: sdkws_pb2.MsgData, operation_id: str, sender: Sender, on_done: OnDone) -> Pending:
        async def rest() -> None:
            await self.submit(msg, operation_id=operation_id, sender=sender, on_done=on_done)

        return rest

    async def _submit(self, msg: sdkws_pb2.MsgData, operation_id: str, sender: Sender, on_done: OnDone) -> None:
        started = time.perf_counter()
        try:
            self._validate(msg, sender)
            conversation_id = conversation_id_for_msg(msg)
            await self._permit(msg, sender, conversation_id)
            if self._hooks is not None and not sender.system:
                await self._hooks.before_send(msg, operation_id=operation_id, is_admin=sender.is_admin)
                conversation_id = conversation_id_for_msg(msg)  # a callback may have changed the message
        except OpenIMError as err:
            self._metrics.messages_refused.labels(code=str(int(err.code))).inc()
            raise
        self._force_options(msg)
        history = option_on(msg.options, Option.HISTORY)
        owners: tuple[str, ...] | None
        conv_type = int(msg.sessionType)
        if not history:
            owners, conv_type = (), 0
        else:
            owners = self._owners_now(msg, conversation_id)
            if owners is None:
                owners, conv_type = await self._audience(msg, conversation_id)
        job = self._job(msg, operation_id, sender, on_done, started, conversation_id, owners, conv_type)
        if not history:
            # Online only: no seq, nothing stored, pushed at once (the sender's connection is skipped).
            exclude = f"{self._node_id}/{sender.conn_id}" if sender.conn_id else ""
            push = PushJob(conversation_id, job.payload, operation_id, exclude_conn=exclude,
                           recipients=job.recipients, group_id=msg.groupID)
            await self._pushes.put(partition_of(conversation_id, self._pushes.partitions), [push])
            job.want_echo = False
            on_done(job)
            return
        pending = self._queue(job)
        if pending is not None:
            await pending()

    @staticmethod
    def _owners_now(msg: sdkws_pb2.MsgData, conversation_id: str) -> tuple[str, ...] | None:
        """Who gets a conversation row for a stored one-to-one message, without a call; None when the
        policy must say (groups) or the message is not a stored chat message."""
        if msg.sessionType not in _ONE_TO_ONE or conversation_id.startswith("n_"):
            return None
        if not option_on(msg.options, Option.HISTORY):
            return None
        return (msg.sendID,) if msg.sendID == msg.recvID else (msg.sendID, msg.recvID)

    def _job(
        self, msg: sdkws_pb2.MsgData, operation_id: str, sender: Sender, on_done: OnDone, started: float,
        conversation_id: str, owners: tuple[str, ...], conv_type: int,
    ) -> SendJob:
        """Stamp ``msg`` and build its job (the message's bytes serialised here, once)."""
        self._stamp(msg)
        recipients = self.recipients_of(msg)
        # Group audiences (every member, the sender included) come from the policy, not recipients_of; the
        # fan-out skips the sending connection either way, so it needs its echo from the gateway.
        job = SendJob(
            payload=msg.SerializeToString(), send_id=msg.sendID, recv_id=msg.recvID, group_id=msg.groupID,
            client_msg_id=msg.clientMsgID, server_msg_id=msg.serverMsgID, send_time=msg.sendTime,
            session_type=msg.sessionType, content_type=msg.contentType, conversation_id=conversation_id,
            conversation_type=conv_type, owners=owners,
            # A group's reader must be one of its owners: a row would otherwise be created for a
            # non-member (an app admin, or a member who just left and sends the 1504 copy).
            reader_user_id=msg.sendID
            if conv_type != 0 and (conv_type != SessionType.READ_GROUP or msg.sendID in owners)
            else "",
            recipients=recipients, operation_id=operation_id, origin_node=self._node_id,
            origin_conn=sender.conn_id, done=self._completion(msg, operation_id, sender, on_done, started),
        )
        job.want_echo = sender.conn_id != "" and (
            msg.sessionType == SessionType.READ_GROUP or sender.user_id in recipients
        )
        return job

    def _queue(self, job: SendJob) -> Pending | None:
        """Hand a stored message's job to the transfer stage: None when it took the job at once, else
        the ``put`` to await (a full in-process queue, or the bus: I/O)."""
        if not self._in_process:
            self._replies.expect(job)
        partition = partition_of(job.conversation_id, self._sends.partitions)
        if self._sends.put_nowait(partition, (job,)):
            return None

        async def put() -> None:
            try:
                await self._sends.put(partition, (job,))
            except BusUnavailable:
                if not self._in_process:
                    self._replies.forget(job)
                raise

        return put

    def _completion(
        self, msg: sdkws_pb2.MsgData, operation_id: str, sender: Sender, on_done: OnDone, started: float
    ) -> OnDone:
        """The job's ``done``: metrics and after-callbacks, then the caller's ``on_done``."""
        metrics = self._metrics
        hooks = self._hooks if not sender.system else None

        def done(job: SendJob) -> None:
            if not job.err_code:
                metrics.send_latency.observe(time.perf_counter() - started)
                if hooks is not None and not job.duplicate:
                    msg.seq, msg.serverMsgID, msg.sendTime = job.seq, job.server_msg_id, job.send_time
                    hooks.after_send(msg, operation_id=operation_id)
            on_done(job)

        return done

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

    async def _permit(self, msg: sdkws_pb2.MsgData, sender: Sender, conversation_id: str) -> None:
        if sender.system or self._permit_now(msg, sender, conversation_id):
            return
        if msg.sessionType in _ONE_TO_ONE:
            recv = self._users.get(msg.recvID) or await self._user(msg.recvID)
            if recv is None:
                raise OpenIMError(ErrCode.RECORD_NOT_FOUND, f"recvID {msg.recvID} is not a registered user")
            privileged = sender.is_admin
            if not privileged:
                sender_user = self._users.get(msg.sendID) or await self._user(msg.sendID)
                privileged = sender_user is not None and sender_user.app_manager_level >= APP_ADMIN_LEVEL
            if not privileged:
                if self._policy is not None:
                    await self._policy.check(msg, sender)
                self._apply_recv_opt(msg, recv, await self._recv_opt(msg.recvID, conversation_id))
        elif self._policy is not None:
            await self._policy.check(msg, sender)
        else:
            raise OpenIMError(ErrCode.NOT_IN_GROUP_YET, f"group {msg.groupID} does not exist")

    def _permit_now(self, msg: sdkws_pb2.MsgData, sender: Sender, conversation_id: str) -> bool:
        """:meth:`_permit` from the caches alone: True when permitted, raises when refused, False when
        something is not cached (then _permit reads it). The same rules, in the same order."""
        if sender.system:
            return True
        if msg.sessionType not in _ONE_TO_ONE:
            return False  # groups: the policy's membership check may read
        recv = self._users.get(msg.recvID)
        if recv is None:
            return False
        if sender.is_admin:
            return True
        sender_user = self._users.get(msg.sendID)
        if sender_user is None:
            return False
        if sender_user.app_manager_level >= APP_ADMIN_LEVEL:
            return True
        if self._policy is not None and not self._policy.check_now(msg, sender):
            return False
        opts = self._conv_opts.get(msg.recvID)
        if opts is None:
            return False
        self._apply_recv_opt(msg, recv, opts.get(conversation_id, 0))
        return True

    @staticmethod
    def _apply_recv_opt(msg: sdkws_pb2.MsgData, recv: UserRecord, conversation_opt: int) -> None:
        """The recipient's receive option (the stricter of the global and the conversation's)."""
        opt = max(recv.global_recv_msg_opt, conversation_opt)
        if opt == RECV_OPT_NOT_RECEIVE:
            raise args_error("message is not sent: the recipient does not receive messages")
        if opt == RECV_OPT_NO_OFFLINE_PUSH:
            msg.options[Option.OFFLINE_PUSH] = False

    def _stamp(self, msg: sdkws_pb2.MsgData) -> None:
        msg.serverMsgID = new_server_msg_id(msg.sendID)
        if msg.sendTime <= 0:
            msg.sendTime = now_ms()
        msg.status = MsgStatus.SUCCESS
        msg.seq = 0

    @staticmethod
    def _force_options(msg: sdkws_pb2.MsgData) -> None:
        """The options a content type may not have (typing is never stored, ...), before anything reads them."""
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
