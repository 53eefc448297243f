"""Groups and member lists as the send path and the group service read them: cached per group, dropped by
whoever changes one (``forget``; across a cluster openim.cluster.coherence carries that to every process,
by the caches' names in the process's CacheRegistry: ``groups_by_id``, ``group_members_by_group``).
The send path asks ``check_group_send`` (membership, mutes), ``member_ids`` (conversation owners) and
``push_audience`` (who gets a group message's push) here, so it needs nothing of the group service.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from openim.clock import now_ms
from openim.pipeline.msg import Sender
from openim.storage.groups.records import GroupMemberRecord, GroupRecord, GroupStatus, RoleLevel
from openim.storage.port import Store
from openim.ttl_cache import CacheRegistry, TtlCache
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode, OpenIMError, not_found
from openim.wire.pb import sdkws_pb2

CACHE_TTL_S = 5.0
GROUPS_BY_ID = "groups_by_id"  # the caches of group() and member_list()
GROUP_MEMBERS_BY_GROUP = "group_members_by_group"


@dataclass(frozen=True, slots=True)
class MemberList:
    """One group's members in member order (role desc, join time asc), indexed by user."""

    members: tuple[GroupMemberRecord, ...]
    by_id: Mapping[str, GroupMemberRecord]

    @classmethod
    def of(cls, members: Iterable[GroupMemberRecord]) -> MemberList:
        ordered = tuple(members)
        return cls(ordered, {m.user_id: m for m in ordered})

    @property
    def ids(self) -> list[str]:
        return [m.user_id for m in self.members]

    def managers(self) -> list[str]:
        return [m.user_id for m in self.members if m.role_level >= RoleLevel.ADMIN]


def removed_users(msg: sdkws_pb2.MsgData) -> list[str]:
    """Users a 1504/1508 notification is about: they are no members any more when it is pushed, yet
    OpenIM delivers it to them (their SDK learns from it that they left)."""
    if msg.contentType not in (ContentType.MEMBER_QUIT, ContentType.MEMBER_KICKED):
        return []
    try:
        tips = json.loads(json.loads(msg.content)["detail"])
        if msg.contentType == ContentType.MEMBER_QUIT:
            return [str(tips["quitUser"]["userID"])]
        return [str(u["userID"]) for u in tips["kickedUserList"]]
    except (ValueError, KeyError, TypeError):
        return []


class GroupDirectory:
    def __init__(self, store: Store, caches: CacheRegistry | None = None) -> None:
        self._store = store
        registry = caches if caches is not None else CacheRegistry()  # None: caches of its own (tests)
        self._members: TtlCache[str, MemberList] = registry.cache(
            GROUP_MEMBERS_BY_GROUP, CACHE_TTL_S, max_entries=20_000
        )
        self._groups: TtlCache[str, GroupRecord] = registry.cache(GROUPS_BY_ID, CACHE_TTL_S, max_entries=50_000)

    async def check_group_send(self, msg: sdkws_pb2.MsgData, sender: Sender) -> None:
        """Raise 1004 unknown group, 1204 dismissed, 1203 not a member, 1402 muted member, 1403 muted
        group (owner and admins pass the group mute, the owner passes everything)."""
        group = await self.group(msg.groupID)
        if group.status == GroupStatus.DISMISSED:
            raise OpenIMError(ErrCode.DISMISSED_ALREADY, f"group {msg.groupID} is dismissed")
        if sender.is_admin:
            return
        member = (await self.member_list(msg.groupID)).by_id.get(msg.sendID)
        if member is None:
            raise OpenIMError(ErrCode.NOT_IN_GROUP_YET, f"{msg.sendID} is not a member of {msg.groupID}")
        if member.role_level == RoleLevel.OWNER:
            return
        if member.mute_end_time >= now_ms():
            raise OpenIMError(ErrCode.MUTED_IN_GROUP, f"{msg.sendID} is muted until {member.mute_end_time}")
        if group.status == GroupStatus.MUTED and member.role_level != RoleLevel.ADMIN:
            raise OpenIMError(ErrCode.MUTED_GROUP, f"group {msg.groupID} is muted")

    async def member_ids(self, group_id: str) -> Sequence[str]:
        """Current member user IDs (cached; used for conversation rows and push audiences)."""
        return (await self.member_list(group_id)).ids

    async def push_audience(self, msg: sdkws_pb2.MsgData) -> Sequence[str]:
        """Who gets a group message's push: the current members, plus the users a quit/kick
        notification removed (OpenIM delivers those notifications to them too)."""
        members = await self.member_ids(msg.groupID)
        extra = removed_users(msg)
        return list(dict.fromkeys([*members, *extra])) if extra else members

    async def member_list(self, group_id: str) -> MemberList:
        cached = self._members.get(group_id)
        if cached is not None:
            return cached
        fresh = MemberList.of(await self._store.get_group_members(group_id))
        self._members.put(group_id, fresh)
        return fresh

    async def group(self, group_id: str) -> GroupRecord:
        """The group or 1004 (cached like the member list)."""
        cached = self._groups.get(group_id)
        if cached is not None:
            return cached
        found = await self._store.get_groups([group_id])
        if not found:
            raise not_found(f"group {group_id} not found")
        self._groups.put(group_id, found[0])
        return found[0]

    def forget(self, group_id: str) -> None:
        self._members.invalidate(group_id)
        self._groups.invalidate(group_id)

    async def fresh(self, group_id: str) -> tuple[GroupRecord, MemberList]:
        """The group and members as committed now (after a change of ours)."""
        self.forget(group_id)
        return await self.group(group_id), await self.member_list(group_id)
