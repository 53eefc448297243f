"""The Store port, part three: groups, members and join requests.

Every membership change writes its version-log entries in the SAME transaction as the
change: a client that syncs right after a commit can never see a member without the log entry that
announces it, or the reverse. Joining also (re)opens the member's ``sg_<groupID>`` conversation row, and
leaving freezes it at the conversation's current max seq, in that transaction too, so the read window
(openim.services.sync.Window) always matches the membership.

The mutating methods return the header of the group's member log *after* the change: notifications
carry it as ``groupMemberVersion``/``groupMemberVersionID``, which the SDK stores as its sync point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openim.storage.groups.records import GroupMemberRecord, GroupPatch, GroupRecord, GroupRequestRecord, MemberPatch
from openim.storage.messages.records import VersionLog

# Special e_ids of the member log: "" = the group record changed, SORT_MARKER = member order changed.
GROUP_CHANGED_MARKER = ""
SORT_MARKER = "____S_O_R_T_I_D____"


class GroupStore(Protocol):
    """Group, member and group-request storage; see openim.storage.groups.records."""

    # -- groups -----------------------------------------------------------------------------------
    async def create_group(self, group: GroupRecord, members: Sequence[GroupMemberRecord]) -> VersionLog:
        """Insert the group and its members (AlreadyExists if the group_id is taken, nothing written).
        Logs: member[group] insert every member; join[each member] insert the group. Creates every
        member's ``sg_`` conversation row. Returns the member-log header."""

    async def get_groups(self, group_ids: Sequence[str]) -> list[GroupRecord]:
        """The existing ones among ``group_ids``, in request order."""

    async def count_group_members(self, group_ids: Sequence[str]) -> dict[str, int]:
        """Member count of each listed group (0 for unknown groups)."""

    async def search_groups(
        self, *, offset: int, limit: int, group_id: str = "", name: str = ""
    ) -> tuple[int, list[GroupRecord]]:
        """(total, page) of groups, by exact ``group_id`` or case-insensitive substring of the name;
        ordered by create_time then group_id."""

    async def update_group(self, group_id: str, patch: GroupPatch) -> VersionLog | None:
        """Set the fields ``patch`` sets (an empty one sets nothing) and log member[group] update ``""``;
        None if the group does not exist."""

    async def dismiss_group(self, group_id: str, *, delete_members: bool) -> list[str]:
        """Mark the group dismissed. With ``delete_members`` remove every member (join[each] delete,
        the member log itself deleted) and return their IDs; else log member[group] update ``""``."""

    # -- members ----------------------------------------------------------------------------------
    async def add_group_members(
        self, group_id: str, members: Sequence[GroupMemberRecord]
    ) -> tuple[list[str], VersionLog]:
        """Insert the members that are not members yet; return (IDs inserted, member-log header). Logs
        member[group] insert and join[each] insert for the inserted ones; (re)opens their ``sg_`` rows
        (a frozen max_seq from an earlier departure is cleared)."""

    async def remove_group_members(self, group_id: str, user_ids: Sequence[str]) -> tuple[list[str], VersionLog]:
        """Delete those members; return (IDs deleted, member-log header). Logs member[group] delete and
        join[each] delete; freezes their ``sg_`` rows at the conversation's current max seq (rows of a
        conversation without any message are deleted instead: there is nothing they may keep)."""

    async def get_group_members(self, group_id: str, user_ids: Sequence[str] | None = None) -> list[GroupMemberRecord]:
        """All members (None) or the listed ones that are members; role_level desc, join_time asc."""

    async def page_group_members(
        self, group_id: str, *, offset: int, limit: int, keyword: str = ""
    ) -> tuple[int, list[GroupMemberRecord]]:
        """(total, page) in member order; ``keyword`` matches user_id, the member nickname, or the
        profile nickname of members without one (case-insensitive substring)."""

    async def update_group_member(
        self, group_id: str, user_id: str, patch: MemberPatch, *, sort_changed: bool = False
    ) -> VersionLog | None:
        """Set the fields ``patch`` sets (an empty one sets nothing); log member[group] update user (+
        SORT_MARKER when ``sort_changed``). None if not a member."""

    async def transfer_group_owner(
        self, group_id: str, old_owner: str, new_owner: str, old_owner_role: int
    ) -> VersionLog:
        """new_owner becomes owner (and is unmuted), old_owner takes ``old_owner_role``, the group's
        owner_user_id follows; logs member[group] update SORT_MARKER, old, new."""

    async def get_joined_group_ids(self, user_id: str, *, min_role: int = 0) -> list[str]:
        """Groups the user is a member of with role_level >= ``min_role``, in join order."""

    # -- requests ---------------------------------------------------------------------------------
    async def save_group_request(self, request: GroupRequestRecord) -> None:
        """Insert, or replace the user's earlier request to that group (a new application resets it)."""

    async def get_group_requests(
        self,
        *,
        group_ids: Sequence[str] | None = None,
        user_ids: Sequence[str] | None = None,
        handle_results: Sequence[int] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[GroupRequestRecord]]:
        """(total, page) of requests matching every given filter (None = any; an empty list matches
        nothing), newest first."""

    async def count_pending_group_requests(self, manager_user_id: str, min_role: int, since_ms: int = 0) -> int:
        """Unanswered requests to the groups where the user's role_level is at least ``min_role`` (made after
        ``since_ms`` when it is not 0)."""

    async def handle_group_request(
        self, group_id: str, user_id: str, *, handle_result: int, handle_msg: str, handle_user_id: str, now_ms: int
    ) -> bool:
        """Record the answer to a PENDING request; False if there is none (missing or handled already)."""
