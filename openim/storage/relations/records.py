"""Records of the relation tables (friends, friend requests, blacklists) that cross the Store port.

Like openim.storage.messages.records: frozen dataclasses of plain Python values whose field names equal
the columns of openim.storage.schema.relations, so the queries convert them with an attribute walk. Times
are Unix milliseconds in storage; the API turns FriendInfo/BlackInfo times into seconds where OpenIM does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from openim.storage.messages.records import Patch, VersionLog


class HandleResult(enum.IntEnum):
    """A friend request's state (OpenIM's handleResult)."""

    PENDING = 0
    AGREED = 1
    REFUSED = -1


class AddSource(enum.IntEnum):
    """How a friendship or black entry came to be (OpenIM's addSource)."""

    IMPORTED = 1  # import_friend by an admin
    APPLICATION = 2  # an accepted friend request


@dataclass(frozen=True, slots=True)
class FriendRecord:
    """One direction of a friendship: ``friend_user_id`` is in ``owner_user_id``'s list."""

    owner_user_id: str
    friend_user_id: str
    remark: str = ""
    create_time: int = 0
    add_source: int = 0
    operator_user_id: str = ""
    ex: str = ""
    is_pinned: bool = False


# The friend log's "ordering changed" element (a friend was pinned or unpinned): its entry's version
# becomes ``sortVersion`` of the incremental answer instead of an update (openim.services.relations).
FRIEND_SORT_MARKER = "____S_O_R_T_I_D____"

@dataclass(frozen=True, slots=True)
class FriendPatch(Patch):
    """What Store.update_friends may set on a FriendRecord (openim.storage.messages.records.Patch)."""

    remark: str | None = None
    ex: str | None = None
    is_pinned: bool | None = None


@dataclass(frozen=True, slots=True)
class FriendRequestRecord:
    """The latest request from ``from_user_id`` to ``to_user_id`` (a new request replaces the old one)."""

    from_user_id: str
    to_user_id: str
    handle_result: int = 0  # a HandleResult value
    req_msg: str = ""
    create_time: int = 0
    handler_user_id: str = ""
    handle_msg: str = ""
    handle_time: int = 0
    ex: str = ""


@dataclass(frozen=True, slots=True)
class BlackRecord:
    """``block_user_id`` is on ``owner_user_id``'s blacklist."""

    owner_user_id: str
    block_user_id: str
    create_time: int = 0
    add_source: int = 0
    operator_user_id: str = ""
    ex: str = ""


@dataclass(frozen=True, slots=True)
class FriendsAdded:
    """What creating friendships changed: the rows inserted (pairs that existed are left alone) and,
    per owner that gained a row, that owner's friend version log after its insert entries."""

    inserted: list[FriendRecord] = field(default_factory=list)
    versions: dict[str, VersionLog] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AcceptOutcome:
    """Store.accept_friend_request's result: the request as now stored, and the friendships it made."""

    request: FriendRequestRecord
    added: FriendsAdded
