"""SqlStore's group methods (a mixin over SqlStore._read/_write).

Each method runs one transaction body of openim.storage._queries_groups; reads go to a reader, every
change (with its version-log and conversation-row writes) to the writer in one transaction.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from openim.storage import _queries_groups as g
from openim.storage._txn import T, TxnFactory
from openim.storage.group_records import GroupMemberRecord, GroupRecord, GroupRequestRecord
from openim.storage.records import VersionLog


class GroupQueries(abc.ABC):
    """Implements openim.storage.port_groups.GroupStore for SqlStore."""

    @abc.abstractmethod
    async def _read(self, body: TxnFactory[T]) -> T: ...

    @abc.abstractmethod
    async def _write(self, body: TxnFactory[T]) -> T: ...

    # -- groups -----------------------------------------------------------------------------------
    async def create_group(self, group: GroupRecord, members: Sequence[GroupMemberRecord]) -> VersionLog:
        return await self._write(lambda: g.create_group(group, members))

    async def get_groups(self, group_ids: Sequence[str]) -> list[GroupRecord]:
        if not group_ids:
            return []
        return await self._read(lambda: g.get_groups(group_ids))

    async def count_group_members(self, group_ids: Sequence[str]) -> dict[str, int]:
        if not group_ids:
            return {}
        counts = await self._read(lambda: g.count_group_members(group_ids))
        return {gid: counts.get(gid, 0) for gid in group_ids}

    async def search_groups(
        self, *, offset: int, limit: int, group_id: str = "", name: str = ""
    ) -> tuple[int, list[GroupRecord]]:
        return await self._read(lambda: g.search_groups(offset, limit, group_id, name))

    async def update_group(self, group_id: str, changes: Mapping[str, Any]) -> VersionLog | None:
        return await self._write(lambda: g.update_group(group_id, changes))

    async def dismiss_group(self, group_id: str, *, delete_members: bool) -> list[str]:
        return await self._write(lambda: g.dismiss_group(group_id, delete_members))

    # -- members ----------------------------------------------------------------------------------
    async def add_group_members(
        self, group_id: str, members: Sequence[GroupMemberRecord]
    ) -> tuple[list[str], VersionLog]:
        return await self._write(lambda: g.add_group_members(group_id, members))

    async def remove_group_members(self, group_id: str, user_ids: Sequence[str]) -> tuple[list[str], VersionLog]:
        return await self._write(lambda: g.remove_group_members(group_id, user_ids))

    async def get_group_members(self, group_id: str, user_ids: Sequence[str] | None = None) -> list[GroupMemberRecord]:
        if user_ids is not None and not user_ids:
            return []
        return await self._read(lambda: g.get_group_members(group_id, user_ids))

    async def page_group_members(
        self, group_id: str, *, offset: int, limit: int, keyword: str = ""
    ) -> tuple[int, list[GroupMemberRecord]]:
        return await self._read(lambda: g.page_group_members(group_id, offset, limit, keyword))

    async def update_group_member(
        self, group_id: str, user_id: str, changes: Mapping[str, Any], *, sort_changed: bool = False
    ) -> VersionLog | None:
        return await self._write(lambda: g.update_group_member(group_id, user_id, changes, sort_changed))

    async def transfer_group_owner(
        self, group_id: str, old_owner: str, new_owner: str, old_owner_role: int
    ) -> VersionLog:
        return await self._write(lambda: g.transfer_group_owner(group_id, old_owner, new_owner, old_owner_role))

    async def get_joined_group_ids(self, user_id: str, *, min_role: int = 0) -> list[str]:
        return await self._read(lambda: g.get_joined_group_ids(user_id, min_role))

    # -- requests ---------------------------------------------------------------------------------
    async def save_group_request(self, request: GroupRequestRecord) -> None:
        await self._write(lambda: g.save_group_request(request))

    async def get_group_requests(
        self,
        *,
        group_ids: Sequence[str] | None = None,
        user_ids: Sequence[str] | None = None,
        handle_results: Sequence[int] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[GroupRequestRecord]]:
        return await self._read(lambda: g.get_group_requests(group_ids, user_ids, handle_results, offset, limit))

    async def handle_group_request(
        self, group_id: str, user_id: str, *, handle_result: int, handle_msg: str, handle_user_id: str, now_ms: int
    ) -> bool:
        return await self._write(
            lambda: g.handle_group_request(group_id, user_id, handle_result, handle_msg, handle_user_id, now_ms)
        )
