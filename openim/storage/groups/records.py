"""Plain records of the group tables (groups, group_members, group_requests) that cross the Store port.

Field names equal the column names of openim.storage.schema.groups, so the SQL layer converts a record to a
row with an attribute walk and back with ``Record(*row)``. Times are Unix milliseconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from openim.storage.messages.records import Patch


class RoleLevel(enum.IntEnum):
    """``GroupMemberFullInfo.roleLevel``: higher ranks above lower (member lists sort by it)."""

    ORDINARY = 20
    ADMIN = 60
    OWNER = 100


class GroupStatus(enum.IntEnum):
    OK = 0
    BANNED = 1  # defined by OpenIM, never set by it
    DISMISSED = 2
    MUTED = 3


class Verification(enum.IntEnum):
    """``needVerification``: how a user gets into a group."""

    APPLY_NEEDS_APPROVAL = 0  # applications wait for an admin; invitations enter directly
    ALL_NEED_APPROVAL = 1  # also invitations by ordinary members wait (owner/admin invitations enter)
    DIRECT = 2  # anyone who asks enters


class JoinSource(enum.IntEnum):
    ADMIN = 1
    INVITATION = 2
    SEARCH = 3
    QR_CODE = 4


class HandleResult(enum.IntEnum):
    PENDING = 0
    ACCEPTED = 1
    REFUSED = -1


@dataclass(frozen=True, slots=True)
class GroupRecord:
    group_id: str
    group_name: str = ""
    notification: str = ""
    introduction: str = ""
    face_url: str = ""
    owner_user_id: str = ""
    create_time: int = 0
    ex: str = ""
    status: int = GroupStatus.OK
    creator_user_id: str = ""
    group_type: int = 2
    need_verification: int = Verification.APPLY_NEEDS_APPROVAL
    look_member_info: int = 0
    apply_member_friend: int = 0
    notification_update_time: int = 0
    notification_user_id: str = ""


@dataclass(frozen=True, slots=True)
class GroupMemberRecord:
    group_id: str
    user_id: str
    role_level: int = RoleLevel.ORDINARY
    join_time: int = 0
    nickname: str = ""  # "" = show the user's profile nickname
    face_url: str = ""  # "" = show the user's profile face
    join_source: int = JoinSource.INVITATION
    operator_user_id: str = ""
    ex: str = ""
    mute_end_time: int = 0  # muted while mute_end_time >= now
    inviter_user_id: str = ""


@dataclass(frozen=True, slots=True)
class GroupRequestRecord:
    """One user's application to one group (the latest one: a new application replaces the old)."""

    group_id: str
    user_id: str
    handle_result: int = HandleResult.PENDING
    req_msg: str = ""
    handle_msg: str = ""
    req_time: int = 0
    handle_user_id: str = ""
    handle_time: int = 0
    join_source: int = JoinSource.SEARCH
    inviter_user_id: str = ""
    ex: str = ""


@dataclass(frozen=True, slots=True)
class GroupPatch(Patch):
    """What GroupStore.update_group may set on a GroupRecord (openim.storage.messages.records.Patch)."""

    group_name: str | None = None
    notification: str | None = None
    introduction: str | None = None
    face_url: str | None = None
    ex: str | None = None
    status: int | None = None
    need_verification: int | None = None
    look_member_info: int | None = None
    apply_member_friend: int | None = None
    notification_update_time: int | None = None
    notification_user_id: str | None = None


@dataclass(frozen=True, slots=True)
class MemberPatch(Patch):
    """What GroupStore.update_group_member may set on a GroupMemberRecord."""

    role_level: int | None = None
    nickname: str | None = None
    face_url: str | None = None
    ex: str | None = None
    mute_end_time: int | None = None
