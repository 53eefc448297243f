"""SqlStore's group methods (a mixin over SqlBase).

Each method runs one transaction body of openim.storage.groups.queries; reads go to a reader, every
change (with its version-log and conversation-row writes) to the writer in one transaction. Written out
are only those that skip the database for empty inputs (openim.storage.sql.base).
"""

from __future__ import annotations

from collections.abc import Sequence

from openim.storage.groups import queries as q
from openim.storage.groups.records import GroupMemberRecord, GroupRecord
from openim.storage.sql.base import SqlBase, reads, writes


class SqlGroupStore(SqlBase):
    """Implements openim.storage.groups.port.GroupStore for SqlStore."""

    # -- groups -----------------------------------------------------------------------------------
    create_group = writes(q.create_group)

    async def get_groups(self, group_ids: Sequence[str]) -> list[GroupRecord]:
        if not group_ids:
            return []
        return await self._read(lambda: q.get_groups(group_ids))

    async def count_group_members(self, group_ids: Sequence[str]) -> dict[str, int]:
        if not group_ids:
            return {}
        counts = await self._read(lambda: q.count_group_members(group_ids))
        return {gid: counts.get(gid, 0) for gid in group_ids}

    search_groups = reads(q.search_groups)
    update_group = writes(q.update_group)
    dismiss_group = writes(q.dismiss_group)

    # -- members ----------------------------------------------------------------------------------
    add_group_members = writes(q.add_group_members)
    remove_group_members = writes(q.remove_group_members)

    async def get_group_members(self, group_id: str, user_ids: Sequence[str] | None = None) -> list[GroupMemberRecord]:
        if user_ids is not None and not user_ids:
            return []
        return await self._read(lambda: q.get_group_members(group_id, user_ids))

    page_group_members = reads(q.page_group_members)
    update_group_member = writes(q.update_group_member)
    transfer_group_owner = writes(q.transfer_group_owner)
    get_joined_group_ids = reads(q.get_joined_group_ids)

    # -- requests ---------------------------------------------------------------------------------
    save_group_request = writes(q.save_group_request)
    get_group_requests = reads(q.get_group_requests)
    count_pending_group_requests = reads(q.count_pending_group_requests)
    handle_group_request = writes(q.handle_group_request)
