"""GroupBase: what every part of the group service shares, the collaborators (store, notifier, users, the
group directory, the callbacks) and the reads each operation starts from: the live group, the operator's
rights in it as the store knows them, and records as protobuf with the users' profiles filled in.

The rights here follow OpenIM's codes: a non-member operator gets 1004 where OpenIM looks the operator up
as a member (``_manager``: set info, mute, answer applications) and 1002 where it checks membership first
(``_member_or_admin``: member lists; kick and invite check on their own, see membership.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from openim.ops.logging import get_log
from openim.pipeline.msg import SendService
from openim.services.field_limits import check_fields
from openim.services.groups.access import Operator
from openim.services.groups.callbacks import apply_member_changes, members_join_hook
from openim.services.groups.convert import group_to_pb, member_to_pb
from openim.services.groups.directory import GroupDirectory, MemberList
from openim.services.notify import Notifier
from openim.services.service_base import ServiceBase
from openim.services.users import UserService
from openim.storage.groups.records import GroupMemberRecord, GroupRecord, GroupStatus, RoleLevel
from openim.storage.port import Store
from openim.wire.errors import ErrCode, OpenIMError, args_error, no_permission, not_found
from openim.wire.pb import sdkws_pb2

if TYPE_CHECKING:
    from openim.webhooks.dispatcher import Webhooks


class GroupBase(ServiceBase):
    _log = get_log("groups")

    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        send: SendService,
        users: UserService,
        *,
        directory: GroupDirectory | None = None,
        webhooks: Webhooks | None = None,
    ) -> None:
        super().__init__(store, notifier, send, users, webhooks)  # webhooks: OpenIM's group callbacks
        self._dir = directory if directory is not None else GroupDirectory(store)

    @property
    def directory(self) -> GroupDirectory:
        """The cached groups and member lists this service reads and invalidates (the send path's too)."""
        return self._dir

    async def _live_group(self, group_id: str) -> GroupRecord:
        if not group_id:
            raise args_error("groupID is empty")
        group = await self._dir.group(group_id)
        if group.status == GroupStatus.DISMISSED:
            raise OpenIMError(ErrCode.DISMISSED_ALREADY, f"group {group_id} is dismissed")
        return group

    # -- permission helpers --------------------------------------------------------------------------
    async def _manager(self, op: Operator, group_id: str) -> GroupMemberRecord | None:
        """OpenIM's checkManageGroup: app admin, or a member who is owner/admin (a non-member operator
        is 1004, an ordinary one 1002). Returns the operator's member record (None for app admins)."""
        me = (await self._dir.member_list(group_id)).by_id.get(op.user_id)
        if op.is_admin:
            return me
        if me is None:
            raise not_found(f"{op.user_id} is not a member of {group_id}")
        if me.role_level < RoleLevel.ADMIN:
            raise no_permission("only the group owner or an admin may do this")
        return me

    async def _member_or_admin(self, op: Operator, group_id: str) -> None:
        """OpenIM's checkAdminOrInGroup: app admin or member, else 1002."""
        if op.is_admin:
            return
        if op.user_id not in (await self._dir.member_list(group_id)).by_id:
            raise no_permission(f"{op.user_id} is not a member of {group_id}")

    # -- callbacks -----------------------------------------------------------------------------------
    async def _members_joining(
        self, group: GroupRecord, members: Sequence[GroupMemberRecord], operation_id: str
    ) -> list[GroupMemberRecord]:
        """beforeMemberJoinGroup for users about to become members of ``group`` (at its creation, by
        invitation, by a direct join or an accepted application): it may refuse them all or change
        their member fields. The members as they are to be stored."""
        hooks = self.webhooks
        if hooks is None or not hooks.enabled("beforeMemberJoinGroup") or not members:
            return list(members)
        body = members_join_hook(group.group_id, group.ex, members)
        answer = await hooks.before("beforeMemberJoinGroup", body, operation_id=operation_id)
        changed = apply_member_changes(members, answer.body if answer is not None else None)
        for m in changed:
            check_fields({"nickname": m.nickname, "face_url": m.face_url, "ex": m.ex}, subject=f"member {m.user_id}: ")
        return changed

    # -- wire helpers --------------------------------------------------------------------------------
    async def _members_pb(self, members: Sequence[GroupMemberRecord]) -> list[sdkws_pb2.GroupMemberFullInfo]:
        users = await self._users_by_id(m.user_id for m in members)
        return [member_to_pb(m, users.get(m.user_id)) for m in members]

    async def _groups_pb(self, groups: Sequence[GroupRecord]) -> list[sdkws_pb2.GroupInfo]:
        counts = await self._store.count_group_members([g.group_id for g in groups])
        return [group_to_pb(g, counts.get(g.group_id, 0)) for g in groups]

    async def _op_member(self, op: Operator, group_id: str, members: MemberList) -> sdkws_pb2.GroupMemberFullInfo:
        """The operator as tips show him: his member record, or (app admin outside the group) a
        record made of his profile."""
        record = members.by_id.get(op.user_id) or GroupMemberRecord(group_id, op.user_id, role_level=0)
        return (await self._members_pb([record]))[0]

    async def groups_info(self, group_ids: Sequence[str]) -> list[sdkws_pb2.GroupInfo]:
        return await self._groups_pb(await self._store.get_groups(list(dict.fromkeys(group_ids))))
