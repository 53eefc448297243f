"""What travels through the pipeline: a send on its way to storage, and a stored message to fan out.

Both are plain mutable objects with slots: the transfer stage fills in the outcome of a :class:`SendJob`
in place and hands the same object to whoever waits for it (no copy, no encoding in one process).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from openim.wire.constants import is_notification_conversation
from openim.wire.envelope import encode_push
from openim.wire.msgdata import varint

__all__ = ["PushJob", "SendJob", "push_messages_bytes"]

# sdkws.PushMessages: field 1 msgs / field 2 notificationMsgs, map<string, PullMsgs>; a map entry is
# {1: key, 2: value}; PullMsgs field 1 is the repeated MsgData.
_MSGS_TAG: Final = b"\x0a"
_NOTIFICATION_MSGS_TAG: Final = b"\x12"
_KEY_TAG: Final = b"\x0a"
_VALUE_TAG: Final = b"\x12"
_PULL_MSGS_TAG: Final = b"\x0a"


def _ld(tag: bytes, body: bytes) -> bytes:
    return tag + varint(len(body)) + body


def push_messages_bytes(conversation_id: str, msg: bytes) -> bytes:
    """The encoding of ``PushMessages{msgs or notificationMsgs: {conversation_id: PullMsgs{Msgs: [msg]}}}``,
    built from the bytes directly (the same bytes protobuf would write, without building the message)."""
    entry = _ld(_KEY_TAG, conversation_id.encode()) + _ld(_VALUE_TAG, _ld(_PULL_MSGS_TAG, msg))
    tag = _NOTIFICATION_MSGS_TAG if is_notification_conversation(conversation_id) else _MSGS_TAG
    return _ld(tag, entry)


class PushJob:
    """A message to deliver to the live connections of ``recipients`` (empty: the push stage resolves
    the audience, e.g. a group's members). ``frame`` is the 2001 frame, encoded once on first use and
    then shared by every recipient connection and the sender's echo."""

    __slots__ = ("_frame", "conversation_id", "exclude_conn", "group_id", "msg", "operation_id", "recipients")

    def __init__(
        self,
        conversation_id: str,
        msg: bytes,
        operation_id: str,
        *,
        exclude_conn: str = "",
        recipients: tuple[str, ...] = (),
        group_id: str = "",
        frame: bytes = b"",
    ) -> None:
        self.conversation_id = conversation_id
        self.msg = msg  # final MsgData bytes: seq set (0 for online-only), status 2
        self.operation_id = operation_id
        self.exclude_conn = exclude_conn  # "<node>/<conn>": it gets its echo from its own gateway instead
        self.recipients = recipients
        self.group_id = group_id
        self._frame = frame

    @property
    def frame(self) -> bytes:
        if not self._frame:
            self._frame = encode_push(push_messages_bytes(self.conversation_id, self.msg), self.operation_id)
        return self._frame


Done = Callable[["SendJob"], None]


class SendJob:
    """One validated, stamped message from the msg stage to the transfer stage, and back.

    The msg stage sets the request part; the transfer stage sets the outcome (``seq``...``err_detail``)
    and, for a stored message, ``push`` (the fan-out of it, whose frame doubles as the sender's echo),
    then calls ``done`` in the process that submitted it.
    """

    __slots__ = (
        "client_msg_id", "content_type", "conversation_id", "conversation_type", "done", "duplicate", "err_code",
        "err_detail", "group_id", "operation_id", "origin_conn", "origin_node", "owners", "payload", "push",
        "reader_user_id", "recipients", "recv_id", "request_id", "send_id", "send_time", "seq", "server_msg_id",
        "session_type", "want_echo",
    )

    def __init__(
        self,
        *,
        payload: bytes,
        send_id: str,
        recv_id: str,
        group_id: str,
        client_msg_id: str,
        server_msg_id: str,
        send_time: int,
        session_type: int,
        content_type: int,
        conversation_id: str,
        conversation_type: int,
        owners: tuple[str, ...],
        reader_user_id: str,
        recipients: tuple[str, ...],
        operation_id: str,
        origin_node: str,
        origin_conn: str,
        request_id: int = 0,
        done: Done | None = None,
    ) -> None:
        self.payload = payload  # MsgData bytes with status 2 and without seq: what the store keeps
        self.send_id = send_id
        self.recv_id = recv_id
        self.group_id = group_id
        self.client_msg_id = client_msg_id
        self.server_msg_id = server_msg_id
        self.send_time = send_time
        self.session_type = session_type
        self.content_type = content_type
        self.conversation_id = conversation_id
        self.conversation_type = conversation_type
        self.owners = owners
        self.reader_user_id = reader_user_id
        self.recipients = recipients
        self.operation_id = operation_id
        self.origin_node = origin_node
        self.origin_conn = origin_conn
        self.request_id = request_id
        self.done = done
        # the outcome, set by the transfer stage
        self.seq = 0
        self.duplicate = False
        self.err_code = 0
        self.err_detail = ""
        self.push: PushJob | None = None
        self.want_echo = False  # the sending connection gets push.frame as its echo, after the reply
