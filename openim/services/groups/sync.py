"""Incremental sync of the groups a user joined and of a group's members (OpenIM's sync.go): the version-log
answers (openim.services.versioning holds the rule every versioned list shares) and the full-ID endpoints
with their hash check."""

from __future__ import annotations

from collections.abc import Sequence

from openim.services.groups.access import Operator
from openim.services.groups.base import GroupBase
from openim.services.groups.convert import group_to_pb
from openim.services.versioning import full_ids, plan_incremental
from openim.storage.groups.port import GROUP_CHANGED_MARKER, SORT_MARKER
from openim.storage.groups.records import GroupRecord, GroupStatus
from openim.storage.messages.records import VersionKind
from openim.wire.errors import args_error
from openim.wire.pb import group_pb2

BATCH_SYNC_ROW_LIMIT = 500  # the member batch endpoint stops adding groups after this many changed rows


class GroupSync(GroupBase):
    async def incremental_join_groups(
        self, user_id: str, version_id: str, version: int
    ) -> group_pb2.getIncrementalJoinGroupResp:
        current = await self._store.get_version_log(
            VersionKind.GROUP_JOIN, user_id, since=version if version > 0 else None
        )
        plan = plan_incremental(current, version_id, version)
        resp = group_pb2.getIncrementalJoinGroupResp(version=plan.version, versionID=plan.version_id, full=plan.full)
        resp.delete.extend(plan.delete_ids)
        wanted = plan.insert_ids + plan.update_ids
        if wanted:
            infos = {g.groupID: g for g in await self.groups_info(wanted)}
            resp.insert.extend(infos[g] for g in plan.insert_ids if g in infos)
            resp.update.extend(infos[g] for g in plan.update_ids if g in infos)
        return resp

    async def incremental_members(
        self, op: Operator, group_id: str, version_id: str, version: int
    ) -> group_pb2.getIncrementalGroupMemberResp:
        group = await self._live_group(group_id)
        await self._member_or_admin(op, group_id)
        return await self._incremental_members(group, version_id, version)

    async def _incremental_members(
        self, group: GroupRecord, version_id: str, version: int
    ) -> group_pb2.getIncrementalGroupMemberResp:
        """The member log's changes since ``version``; the group-changed and sort markers are no members:
        they add the group to the answer and set ``sortVersion``."""
        current = await self._store.get_version_log(
            VersionKind.GROUP_MEMBER, group.group_id, since=version if version > 0 else None
        )
        plan = plan_incremental(current, version_id, version)
        resp = group_pb2.getIncrementalGroupMemberResp(version=plan.version, versionID=plan.version_id, full=plan.full)
        special = {GROUP_CHANGED_MARKER, SORT_MARKER}
        if not plan.full:
            for entry in current.entries:
                if entry.e_id == SORT_MARKER and entry.version > version:
                    resp.sortVersion = entry.version
        group_changed = any(e in special for e in plan.update_ids)
        inserts = [u for u in plan.insert_ids if u not in special]
        updates = [u for u in plan.update_ids if u not in special]
        resp.delete.extend(u for u in plan.delete_ids if u not in special)
        members = await self._dir.member_list(group.group_id)
        if inserts or updates:
            shown = {
                m.userID: m
                for m in await self._members_pb([members.by_id[u] for u in inserts + updates if u in members.by_id])
            }
            resp.insert.extend(shown[u] for u in inserts if u in shown)
            resp.update.extend(shown[u] for u in updates if u in shown)
        if plan.full or group_changed or inserts or updates or resp.delete:
            resp.group.CopyFrom(group_to_pb(group, len(members.members)))
        return resp

    async def incremental_members_batch(
        self, op: Operator, reqs: Sequence[group_pb2.getIncrementalGroupMemberReq]
    ) -> group_pb2.BatchGetIncrementalGroupMemberResp:
        """Per group as the single call; dismissed groups and groups the user has left are skipped
        (the SDK asks for every group it knew, and a left one must not fail its whole sync). Stops
        adding groups once BATCH_SYNC_ROW_LIMIT changed rows are in the answer."""
        resp = group_pb2.BatchGetIncrementalGroupMemberResp()
        rows = 0
        groups = {g.group_id: g for g in await self._store.get_groups([r.groupID for r in reqs if r.groupID])}
        for req in reqs:
            group = groups.get(req.groupID)
            if group is None or group.status == GroupStatus.DISMISSED:
                continue
            if not op.is_admin and op.user_id not in (await self._dir.member_list(group.group_id)).by_id:
                continue
            one = await self._incremental_members(group, req.versionID, req.version)
            resp.respList[req.groupID].CopyFrom(one)
            rows += len(one.insert) + len(one.update) + len(one.delete)
            if rows >= BATCH_SYNC_ROW_LIMIT:
                break
        return resp

    async def full_join_group_ids(self, user_id: str, client_hash: int) -> group_pb2.GetFullJoinGroupIDsResp:
        current = await self._store.get_version_log(VersionKind.GROUP_JOIN, user_id)
        ids = await self._store.get_joined_group_ids(user_id)
        equal, listed = full_ids(ids, client_hash)
        return group_pb2.GetFullJoinGroupIDsResp(
            version=current.version, versionID=current.version_id, equal=equal, groupIDs=listed
        )

    async def full_member_ids(
        self, op: Operator, group_id: str, client_hash: int
    ) -> group_pb2.GetFullGroupMemberUserIDsResp:
        if not group_id:
            raise args_error("groupID is empty")
        await self._dir.group(group_id)
        await self._member_or_admin(op, group_id)
        current = await self._store.get_version_log(VersionKind.GROUP_MEMBER, group_id)
        self._dir.forget(group_id)  # the IDs must not be older than the version they are paired with
        ids = (await self._dir.member_list(group_id)).ids
        equal, listed = full_ids(ids, client_hash)
        return group_pb2.GetFullGroupMemberUserIDsResp(
            version=current.version, versionID=current.version_id, equal=equal, userIDs=listed
        )
