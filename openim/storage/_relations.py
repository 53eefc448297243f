"""SqlStore's friends/blacklist methods (a mixin over SqlStore._read/_write).

Each method is a thin wrapper that picks a reader or the writer for one body of
openim.storage._queries_relations, and skips the database for empty inputs.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from openim.storage import _queries_relations as q
from openim.storage._txn import T, TxnFactory
from openim.storage.records import VersionLog
from openim.storage.relation_records import (
    AcceptOutcome,
    BlackRecord,
    FriendRecord,
    FriendRequestRecord,
    FriendsAdded,
)


class RelationQueries(abc.ABC):
    """Implements openim.storage.port_relations.RelationStore for SqlStore."""

    @abc.abstractmethod
    async def _read(self, body: TxnFactory[T]) -> T: ...

    @abc.abstractmethod
    async def _write(self, body: TxnFactory[T]) -> T: ...

    # -- friends ------------------------------------------------------------------------------------
    async def get_friends(self, owner_user_id: str, friend_user_ids: Sequence[str] | None = None) -> list[FriendRecord]:
        if friend_user_ids is not None and not friend_user_ids:
            return []
        return await self._read(lambda: q.get_friends(owner_user_id, friend_user_ids))

    async def page_friends(self, owner_user_id: str, *, offset: int, limit: int) -> tuple[int, list[FriendRecord]]:
        return await self._read(lambda: q.page_friends(owner_user_id, offset, limit))

    async def get_friend_ids(self, owner_user_id: str) -> list[str]:
        return await self._read(lambda: q.get_friend_ids(owner_user_id))

    async def get_friend_owners(self, friend_user_id: str) -> list[str]:
        return await self._read(lambda: q.get_friend_owners(friend_user_id))

    async def add_friends(self, rows: Sequence[FriendRecord]) -> FriendsAdded:
        if not rows:
            return FriendsAdded()
        return await self._write(lambda: q.add_friends(rows))

    async def delete_friend(self, owner_user_id: str, friend_user_id: str) -> VersionLog | None:
        return await self._write(lambda: q.delete_friend(owner_user_id, friend_user_id))

    async def update_friends(
        self, owner_user_id: str, friend_user_ids: Sequence[str], changes: Mapping[str, Any]
    ) -> VersionLog | None:
        if not friend_user_ids or not changes:
            return None
        return await self._write(lambda: q.update_friends(owner_user_id, friend_user_ids, changes))

    # -- friend requests ----------------------------------------------------------------------------
    async def upsert_friend_request(self, request: FriendRequestRecord) -> None:
        await self._write(lambda: q.upsert_friend_request(request))

    async def get_friend_requests_between(self, user_a: str, user_b: str) -> list[FriendRequestRecord]:
        return await self._read(lambda: q.get_friend_requests_between(user_a, user_b))

    async def page_friend_requests(
        self,
        user_id: str,
        *,
        received: bool,
        handle_results: Sequence[int] = (),
        offset: int,
        limit: int,
    ) -> tuple[int, list[FriendRequestRecord]]:
        return await self._read(lambda: q.page_friend_requests(user_id, received, handle_results, offset, limit))

    async def accept_friend_request(
        self,
        from_user_id: str,
        to_user_id: str,
        *,
        handler_user_id: str,
        handle_msg: str,
        now_ms: int,
        add_source: int,
    ) -> AcceptOutcome | None:
        return await self._write(
            lambda: q.accept_friend_request(from_user_id, to_user_id, handler_user_id, handle_msg, now_ms, add_source)
        )

    async def refuse_friend_request(
        self, from_user_id: str, to_user_id: str, *, handler_user_id: str, handle_msg: str, now_ms: int
    ) -> FriendRequestRecord | None:
        return await self._write(
            lambda: q.refuse_friend_request(from_user_id, to_user_id, handler_user_id, handle_msg, now_ms)
        )

    # -- blacklists ---------------------------------------------------------------------------------
    async def add_black(self, black: BlackRecord) -> bool:
        return await self._write(lambda: q.add_black(black))

    async def remove_black(self, owner_user_id: str, block_user_id: str) -> bool:
        return await self._write(lambda: q.remove_black(owner_user_id, block_user_id))

    async def get_blacks(self, owner_user_id: str, block_user_ids: Sequence[str] | None = None) -> list[BlackRecord]:
        if block_user_ids is not None and not block_user_ids:
            return []
        return await self._read(lambda: q.get_blacks(owner_user_id, block_user_ids))

    async def page_blacks(self, owner_user_id: str, *, offset: int, limit: int) -> tuple[int, list[BlackRecord]]:
        return await self._read(lambda: q.page_blacks(owner_user_id, offset, limit))
