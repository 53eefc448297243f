"""SqlStore's friends/blacklist methods (a mixin over SqlBase).

Each method picks a reader or the writer for one body of openim.storage.relations.queries; written out
are only those that skip the database for empty inputs (openim.storage.sql.base).
"""

from __future__ import annotations

from collections.abc import Sequence

from openim.storage.messages.records import VersionLog
from openim.storage.relations import queries as q
from openim.storage.relations.records import BlackRecord, FriendPatch, FriendRecord, FriendsAdded
from openim.storage.sql.base import SqlBase, reads, writes


class SqlRelationStore(SqlBase):
    """Implements openim.storage.relations.port.RelationStore for SqlStore."""

    # -- friends ------------------------------------------------------------------------------------
    async def get_friends(self, owner_user_id: str, friend_user_ids: Sequence[str] | None = None) -> list[FriendRecord]:
        if friend_user_ids is not None and not friend_user_ids:
            return []
        return await self._read(lambda: q.get_friends(owner_user_id, friend_user_ids))

    page_friends = reads(q.page_friends)
    get_friend_ids = reads(q.get_friend_ids)
    get_friend_owners = reads(q.get_friend_owners)

    async def add_friends(self, rows: Sequence[FriendRecord]) -> FriendsAdded:
        if not rows:
            return FriendsAdded()
        return await self._write(lambda: q.add_friends(rows))

    delete_friend = writes(q.delete_friend)

    async def update_friends(
        self, owner_user_id: str, friend_user_ids: Sequence[str], patch: FriendPatch
    ) -> VersionLog | None:
        if not friend_user_ids or not patch.changed():
            return None
        return await self._write(lambda: q.update_friends(owner_user_id, friend_user_ids, patch))

    # -- friend requests ----------------------------------------------------------------------------
    upsert_friend_request = writes(q.upsert_friend_request)
    get_friend_requests_between = reads(q.get_friend_requests_between)
    page_friend_requests = reads(q.page_friend_requests)
    count_pending_friend_requests = reads(q.count_pending_friend_requests)
    accept_friend_request = writes(q.accept_friend_request)
    refuse_friend_request = writes(q.refuse_friend_request)

    # -- blacklists ---------------------------------------------------------------------------------
    add_black = writes(q.add_black)
    remove_black = writes(q.remove_black)

    async def get_blacks(self, owner_user_id: str, block_user_ids: Sequence[str] | None = None) -> list[BlackRecord]:
        if block_user_ids is not None and not block_user_ids:
            return []
        return await self._read(lambda: q.get_blacks(owner_user_id, block_user_ids))

    page_blacks = reads(q.page_blacks)
