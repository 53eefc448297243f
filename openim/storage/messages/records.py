"""Plain records that cross the Store port: users, tokens and bans, messages and seqs, conversation rows,
and the version logs (which every area's changes write); and :class:`Patch`, what an update sets on a row.

They are frozen dataclasses of Python values: the domain never sees a SQLAlchemy row or a driver type,
and adapters never see protobuf. Times are Unix milliseconds unless a name says otherwise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Protocol, Self, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


@dataclass(frozen=True, slots=True)
class Patch:
    """The fields of one record that an update sets: the base of each updatable record's patch
    (:class:`UserPatch`, :class:`ConversationPatch` here; FriendPatch, GroupPatch and MemberPatch in the
    other areas' records). A patch's attributes are its record's (so the table's columns), each None for
    "unchanged": no column a patch sets may be NULL (openim.storage.schema), so None never means "set to
    NULL". A patch that sets nothing changes nothing.
    """

    def changed(self) -> dict[str, object]:
        """attribute -> value of the fields this patch sets, in the order the patch declares them."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}

    def applied_to(self, record: R) -> R:
        """``record`` (of the patch's record type) with this patch's fields set."""
        return replace(record, **self.changed())

    def changes_to(self, record: object) -> Self:
        """This patch without the fields ``record`` holds already: what it really changes there."""
        return replace(self, **{name: None for name, value in self.changed().items() if getattr(record, name) == value})


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: str
    nickname: str = ""
    face_url: str = ""
    ex: str = ""
    create_time: int = 0
    app_manager_level: int = 0
    global_recv_msg_opt: int = 0


@dataclass(frozen=True, slots=True)
class UserPatch(Patch):
    """What Store.update_user may set on a UserRecord (a profile: never user_id or create_time)."""

    nickname: str | None = None
    face_url: str | None = None
    ex: str | None = None
    app_manager_level: int | None = None
    global_recv_msg_opt: int | None = None


class TokenState(enum.IntEnum):
    """OpenIM's token status values (what makes a valid JWT "not exist" or "kicked")."""

    NORMAL = 0
    INVALID = 1
    KICKED = 2
    EXPIRED = 3


@dataclass(frozen=True, slots=True)
class TokenRecord:
    user_id: str
    platform_id: int
    token: str
    state: TokenState
    expire_time: int  # ms
    create_time: int = 0  # ms


@dataclass(frozen=True, slots=True)
class TokenStateChange:
    """One ``set_token_states`` request, for :meth:`Store.set_token_states_many` (many in one transaction)."""

    user_id: str
    platform_ids: tuple[int, ...]
    state: TokenState
    except_token: str = ""
    created_before_ms: int | None = None


@dataclass(frozen=True, slots=True)
class BanRecord:
    """An operator's ban of a user: while it exists the user gets no token (so cannot log in)."""

    user_id: str
    reason: str = ""
    operator_user_id: str = ""
    create_time: int = 0  # ms


@dataclass(frozen=True, slots=True)
class ConversationSeq:
    """Conversation-wide seq state; the SQL row is the source of truth for seqs (docs/architecture.md, invariant 2)."""

    conversation_id: str
    max_seq: int = 0
    min_seq: int = 0
    max_seq_time: int = 0  # ms time of the latest seq allocation


@dataclass(frozen=True, slots=True)
class UserConversation:
    """One user's view of one conversation (OpenIM's conversation.Conversation plus read state)."""

    owner_user_id: str
    conversation_id: str
    conversation_type: int  # 1 single, 3 group, 4 notification
    user_id: str = ""  # the peer, for single chats
    group_id: str = ""
    recv_msg_opt: int = 0
    is_pinned: bool = False
    is_private_chat: bool = False
    burn_duration: int = 0
    group_at_type: int = 0
    attached_info: str = ""
    ex: str = ""
    min_seq: int = 0  # per-user lower bound (clear history)
    max_seq: int = 0  # per-user upper bound (left the group), 0 = none
    has_read_seq: int = 0
    msg_destruct_time: int = 0
    is_msg_destruct: bool = False
    latest_msg_destruct_time: int = 0
    create_time: int = 0
    update_time: int = 0


@dataclass(frozen=True, slots=True)
class ConversationPatch(Patch):
    """What Store.update_user_conversation may set on a UserConversation: the owner's settings and read
    window, never the row's keys, kind, peer or times."""

    recv_msg_opt: int | None = None
    is_pinned: bool | None = None
    is_private_chat: bool | None = None
    burn_duration: int | None = None
    group_at_type: int | None = None
    attached_info: str | None = None
    ex: str | None = None
    min_seq: int | None = None
    max_seq: int | None = None
    has_read_seq: int | None = None
    msg_destruct_time: int | None = None
    is_msg_destruct: bool | None = None
    latest_msg_destruct_time: int | None = None


# The fields of UserConversation that an upsert overwrites on an existing row: those a patch may set.
USER_CONVERSATION_MUTABLE = frozenset(f.name for f in fields(ConversationPatch))


class MessageToStore(Protocol):
    """What Store.persist_messages reads of each message: :class:`NewMessage`, or any object with these
    attributes (the send path hands its own jobs over as they are, without a copy per message)."""

    @property
    def conversation_id(self) -> str: ...
    @property
    def send_id(self) -> str: ...
    @property
    def client_msg_id(self) -> str: ...
    @property
    def server_msg_id(self) -> str: ...
    @property
    def send_time(self) -> int: ...
    @property
    def session_type(self) -> int: ...
    @property
    def content_type(self) -> int: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def recv_id(self) -> str: ...
    @property
    def group_id(self) -> str: ...
    @property
    def owners(self) -> tuple[str, ...]: ...
    @property
    def conversation_type(self) -> int: ...
    @property
    def reader_user_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message the transfer stage hands to Store.persist_messages.

    ``payload`` is the encoded MsgData *without* seq and status: readers append those two fields (protobuf
    merges concatenated encodings), so the store never needs to understand the wire format.
    """

    conversation_id: str
    send_id: str
    client_msg_id: str
    server_msg_id: str
    send_time: int
    session_type: int
    content_type: int
    payload: bytes
    recv_id: str = ""
    group_id: str = ""
    # Users whose per-user conversation row must exist after this message (created with defaults if missing):
    # both peers of a single chat, every member of a group.
    owners: tuple[str, ...] = ()
    conversation_type: int = 1
    # When set, this user's has_read_seq is raised to the new seq (the sender has read his own message).
    reader_user_id: str = ""


@dataclass(frozen=True, slots=True)
class PersistResult:
    """Outcome for one NewMessage, in input order.

    ``duplicate`` is True when (send_id, client_msg_id) was already stored: then seq/server_msg_id/send_time
    are the ORIGINAL message's (docs/architecture.md, invariant 3: a retry returns the original result).
    """

    conversation_id: str
    seq: int
    server_msg_id: str
    send_time: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class StoredMessage:
    conversation_id: str
    seq: int
    send_id: str
    client_msg_id: str
    server_msg_id: str
    send_time: int
    session_type: int
    content_type: int
    payload: bytes  # MsgData without seq/status (see NewMessage)
    recv_id: str = ""
    group_id: str = ""
    revoke: bytes | None = None  # encoded revoke details once revoked, else None
    # Read by someone other than its sender (OpenIM's per-message flag, pulled as MsgData.isRead).
    is_read: bool = False


class VersionKind(enum.StrEnum):
    """The incremental-sync version logs (openim.services.versioning reads them)."""

    FRIEND = "friend"
    GROUP_JOIN = "group_join"
    GROUP_MEMBER = "group_member"
    CONVERSATION = "conversation"
    BLACK = "black"  # an owner's blacklist (d_id = owner, e_id = the blocked user)


class VersionState(enum.IntEnum):
    INSERT = 1
    DELETE = 2
    UPDATE = 3


@dataclass(frozen=True, slots=True)
class VersionEntry:
    e_id: str
    state: VersionState
    version: int


@dataclass(frozen=True, slots=True)
class VersionLog:
    """The header of one (kind, d_id) log plus, when asked for, the entries newer than a version."""

    version_id: str  # 24 hex chars, new each time the log is (re)created
    version: int
    entries: list[VersionEntry] = field(default_factory=list)
