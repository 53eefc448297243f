"""Who is in a group (OpenIM's group.go, the member half): join, invite, kick, quit, mute a member, set a
member's info, and the member reads (pages, profiles, IDs, the abstract hash)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.message import Message

from openim.clock import now_ms
from openim.services.field_limits import check_fields
from openim.services.groups.access import (
    Operator,
    check_may_kick,
    check_may_mute,
    check_member_info_permission,
    check_member_items,
    member_patch,
    unique,
)
from openim.services.groups.callbacks import (
    apply_join_hook,
    apply_member_info_changes,
    invite_hook,
    join_hook,
    member_info_hook,
)
from openim.services.groups.convert import group_to_pb
from openim.services.groups.directory import MemberList
from openim.services.groups.notifications import GroupNotifications, member_version
from openim.services.versioning import id_hash, page_window
from openim.storage.groups.records import (
    GroupMemberRecord,
    GroupRecord,
    GroupRequestRecord,
    JoinSource,
    MemberPatch,
    RoleLevel,
    Verification,
)
from openim.wire.constants import ContentType, group_conversation_id
from openim.wire.errors import ErrCode, OpenIMError, args_error, no_permission, not_found
from openim.wire.pb import group_pb2, sdkws_pb2

INVITE_BATCH = 50  # members per insert and per 1509, as OpenIM
MAX_MEMBER_FILTER = 5


class GroupMembership(GroupNotifications):
    async def join(self, op: Operator, req: group_pb2.JoinGroupReq, operation_id: str) -> None:
        """join_group: the applicant is ``inviterUserID`` (the SDK sends itself). Direct entry when the
        group says so, else a request the owner and admins answer."""
        applicant = req.inviterUserID
        if not applicant:
            raise args_error("inviterUserID is empty")
        if not op.is_admin and op.user_id != applicant:
            raise no_permission(f"{op.user_id} may not apply for {applicant}")
        if req.joinSource not in tuple(JoinSource):
            raise args_error("joinSource must be 1..4")
        check_fields({"req_msg": req.reqMessage, "ex": req.ex})
        group = await self._live_group(req.groupID)
        members = await self._dir.member_list(req.groupID)
        if applicant in members.by_id:
            raise args_error(f"{applicant} is in the group already")
        if not await self._users.exists(applicant):
            raise not_found(f"user {applicant} not found")
        if self.webhooks is not None:
            await self.webhooks.before("beforeApplyJoinGroup", apply_join_hook(req, group), operation_id=operation_id)
        if group.need_verification == Verification.DIRECT:
            await self._enter_directly(op, group, req, operation_id)
            return
        request = GroupRequestRecord(
            req.groupID, applicant, req_msg=req.reqMessage, req_time=now_ms(), join_source=req.joinSource, ex=req.ex
        )
        await self._store.save_group_request(request)
        await self._announce_application(group, members, [request], applicant, operation_id)

    async def _enter_directly(
        self, op: Operator, group: GroupRecord, req: group_pb2.JoinGroupReq, operation_id: str
    ) -> None:
        """A join to a group that lets anyone in: the applicant is a member at once (1510)."""
        entrant = GroupMemberRecord(
            req.groupID,
            req.inviterUserID,
            join_time=now_ms(),
            join_source=req.joinSource,
            operator_user_id=op.user_id,
            ex=req.ex,
        )
        entrants = await self._members_joining(group, [entrant], operation_id)
        added, version = await self._store.add_group_members(req.groupID, entrants)
        if added:
            await self._announce_entry(op, req.groupID, added, version, inviter="", operation_id=operation_id)
            if self.webhooks is not None:
                self.webhooks.after("afterJoinGroup", join_hook(req), operation_id=operation_id)

    async def invite(
        self,
        op: Operator,
        group_id: str,
        user_ids: Sequence[str],
        reason: str,
        operation_id: str,
        *,
        send_message: bool | None = None,
    ) -> None:
        """An ordinary member's invitation to a group where all need approval becomes requests (1503);
        otherwise the invited are members at once, announced per INVITE_BATCH (1509)."""
        invited = unique(user_ids, "invitedUserIDs")
        check_fields({"req_msg": reason})
        group = await self._live_group(group_id)
        users = await self._users_by_id(invited)
        if len(users) != len(invited):
            raise not_found("user not found: " + ", ".join(u for u in invited if u not in users))
        members = await self._dir.member_list(group_id)
        me = members.by_id.get(op.user_id)
        if not op.is_admin and me is None:
            raise not_found(f"{op.user_id} is not a member of {group_id}")
        inside = [u for u in invited if u in members.by_id]
        if inside:
            raise args_error(f"{inside[0]} is in the group already")
        if self.webhooks is not None and self.webhooks.enabled("beforeInviteUserToGroup"):
            body = invite_hook(group_id, reason, invited)
            await self.webhooks.before("beforeInviteUserToGroup", body, operation_id=operation_id)
        ordinary_inviter = not op.is_admin and me is not None and me.role_level < RoleLevel.ADMIN
        if group.need_verification == Verification.ALL_NEED_APPROVAL and ordinary_inviter:
            await self._invite_by_request(op, group, members, invited, reason, operation_id)
            return
        now = now_ms()
        entrants = [
            GroupMemberRecord(
                group_id,
                u,
                join_time=now,
                join_source=JoinSource.INVITATION,
                operator_user_id=op.user_id,
                inviter_user_id=op.user_id,
            )
            for u in invited
        ]
        entrants = await self._members_joining(group, entrants, operation_id)
        for start in range(0, len(entrants), INVITE_BATCH):
            batch = entrants[start : start + INVITE_BATCH]
            added, version = await self._store.add_group_members(group_id, batch)
            if added:
                await self._announce_entry(
                    op, group_id, added, version, inviter=op.user_id, operation_id=operation_id, chat_copy=send_message
                )

    async def _invite_by_request(
        self,
        op: Operator,
        group: GroupRecord,
        members: MemberList,
        invited: Sequence[str],
        reason: str,
        operation_id: str,
    ) -> None:
        """An invitation the owner and admins must approve: one request per invited user, with the
        inviter on it."""
        now = now_ms()
        requests = [
            GroupRequestRecord(
                group.group_id,
                u,
                req_msg=reason,
                req_time=now,
                join_source=JoinSource.INVITATION,
                inviter_user_id=op.user_id,
            )
            for u in invited
        ]
        for request in requests:
            await self._store.save_group_request(request)
        await self._announce_application(group, members, requests, op.user_id, operation_id)

    async def kick(
        self,
        op: Operator,
        group_id: str,
        user_ids: Sequence[str],
        reason: str,
        operation_id: str,
        *,
        send_message: bool | None = None,
    ) -> None:
        """Nobody kicks himself or the owner; the rest as check_may_kick says (1508 to the group, the
        kicked included)."""
        targets = unique(user_ids, "kickedUserIDs")
        if op.user_id in targets:
            raise args_error("the operator cannot kick himself")
        group = await self._live_group(group_id)
        if group.owner_user_id in targets:
            raise args_error("the group owner cannot be kicked")
        members = await self._dir.member_list(group_id)
        for target in targets:
            member = members.by_id.get(target)
            if member is None:
                raise OpenIMError(ErrCode.USER_ID_NOT_FOUND, f"{target} is not a member of {group_id}")
            check_may_kick(op, members.by_id.get(op.user_id), member)
        kicked_pb = await self._members_pb([members.by_id[t] for t in targets])
        op_pb = await self._op_member(op, group_id, members)
        removed, version = await self._store.remove_group_members(group_id, targets)
        if self.webhooks is not None and removed:
            hook = {"groupID": group_id, "kickedUserIDs": list(removed), "reason": reason}
            self.webhooks.after("afterKickGroupMember", hook, operation_id=operation_id)
        group, members = await self._dir.fresh(group_id)
        tips = sdkws_pb2.MemberKickedTips(
            group=group_to_pb(group, len(members.members)),
            opUser=op_pb,
            kickedUserList=[k for k in kicked_pb if k.userID in removed],
            operationTime=now_ms(),
            **member_version(version),
        )
        if removed:
            await self._tell_group(ContentType.MEMBER_KICKED, tips, op, group_id, operation_id, chat_copy=send_message)

    async def quit(self, op: Operator, group_id: str, user_id: str, operation_id: str) -> None:
        """Anyone but the owner leaves (he transfers or dismisses first); 1504 to the group and to him."""
        if not user_id:
            raise args_error("userID is empty")
        if not op.is_admin and op.user_id != user_id:
            raise no_permission(f"{op.user_id} may not act for {user_id}")
        if not group_id:
            raise args_error("groupID is empty")
        await self._dir.group(group_id)
        members = await self._dir.member_list(group_id)
        me = members.by_id.get(user_id)
        if me is None:
            raise not_found(f"{user_id} is not a member of {group_id}")
        if me.role_level == RoleLevel.OWNER:
            raise no_permission("the group owner cannot quit; transfer or dismiss the group")
        quitter = (await self._members_pb([me]))[0]
        removed, version = await self._store.remove_group_members(group_id, [user_id])
        if not removed:
            return
        if self.webhooks is not None:
            self.webhooks.after("afterQuitGroup", {"groupID": group_id, "userID": user_id}, operation_id=operation_id)
        group, members = await self._dir.fresh(group_id)
        tips = sdkws_pb2.MemberQuitTips(
            group=group_to_pb(group, len(members.members)),
            quitUser=quitter,
            operationTime=now_ms(),
            **member_version(version),
        )
        await self._tell_group(ContentType.MEMBER_QUIT, tips, Operator(user_id, op.is_admin), group_id, operation_id)

    async def mute_member(self, op: Operator, group_id: str, user_id: str, seconds: int, operation_id: str) -> None:
        """mute_group_member (seconds > 0) and cancel_mute_group_member (seconds 0)."""
        if not group_id or not user_id:
            raise args_error("groupID and userID are required")
        await self._live_group(group_id)
        members = await self._dir.member_list(group_id)
        target = members.by_id.get(user_id)
        if target is None:
            raise not_found(f"{user_id} is not a member of {group_id}")
        if not op.is_admin:
            me = members.by_id.get(op.user_id)
            if me is None:
                raise not_found(f"{op.user_id} is not a member of {group_id}")
            check_may_mute(me, target)
        now = now_ms()
        end = now + seconds * 1000 if seconds > 0 else 0
        version = await self._store.update_group_member(group_id, user_id, MemberPatch(mute_end_time=end))
        if version is None:
            raise not_found(f"{user_id} is not a member of {group_id}")
        members, head = await self._tips_head(op, group_id)
        muted = (await self._members_pb([members.by_id[user_id]]))[0]
        kw: dict[str, Any] = {**head, "operationTime": now, "mutedUser": muted, **member_version(version)}
        if seconds > 0:
            tips: Message = sdkws_pb2.GroupMemberMutedTips(mutedSeconds=seconds, **kw)
            await self._tell_group(ContentType.GROUP_MEMBER_MUTED, tips, op, group_id, operation_id)
        else:
            tips = sdkws_pb2.GroupMemberCancelMutedTips(**kw)
            await self._tell_group(ContentType.GROUP_MEMBER_CANCEL_MUTED, tips, op, group_id, operation_id)

    async def set_member_info(
        self, op: Operator, items: Sequence[group_pb2.SetGroupMemberInfo], operation_id: str
    ) -> None:
        """Every item is checked (check_member_items, then per group check_member_info_permission) before
        any is written; each then changes and announces on its own."""
        check_member_items(items)
        by_group: dict[str, list[group_pb2.SetGroupMemberInfo]] = {}
        for item in items:
            by_group.setdefault(item.groupID, []).append(item)
        for group_id, group_items in by_group.items():
            if len({i.userID for i in group_items}) != len(group_items):
                raise args_error(f"a member of {group_id} is listed twice")
            await self._live_group(group_id)
            check_member_info_permission(op, (await self._dir.member_list(group_id)).by_id, group_items)
        hooks = self.webhooks
        if hooks is not None and hooks.enabled("beforeSetGroupMemberInfo"):
            # Every item is asked before any is written (as OpenIM); what the answers leave is checked
            # again as a request is, rights included.
            for item in items:
                body = member_info_hook(item)
                answer = await hooks.before("beforeSetGroupMemberInfo", body, operation_id=operation_id)
                apply_member_info_changes(item, answer.body if answer is not None else None)
            check_member_items(items)
            for group_id, group_items in by_group.items():
                check_member_info_permission(op, (await self._dir.member_list(group_id)).by_id, group_items)
        for group_items in by_group.values():
            for item in group_items:
                await self._set_one_member(op, item, operation_id)
        if hooks is not None and hooks.enabled("afterSetGroupMemberInfo"):
            for item in items:
                hooks.after("afterSetGroupMemberInfo", member_info_hook(item), operation_id=operation_id)

    async def _set_one_member(self, op: Operator, item: group_pb2.SetGroupMemberInfo, operation_id: str) -> None:
        patch = member_patch(item)
        if not patch.changed():
            return
        role_changed = patch.role_level is not None
        version = await self._store.update_group_member(item.groupID, item.userID, patch, sort_changed=role_changed)
        if version is None:
            raise args_error(f"{item.userID} is not a member of {item.groupID}")
        members, head = await self._tips_head(op, item.groupID)
        tips = sdkws_pb2.GroupMemberInfoSetTips(
            **head,
            operationTime=now_ms(),
            changedUser=(await self._members_pb([members.by_id[item.userID]]))[0],
            groupSortVersion=version.version if role_changed else 0,
            **member_version(version),
        )
        if role_changed:
            kind = (
                ContentType.GROUP_MEMBER_SET_TO_ADMIN
                if patch.role_level == RoleLevel.ADMIN
                else ContentType.GROUP_MEMBER_SET_TO_ORDINARY_USER
            )
            await self._tell_group(kind, tips, op, item.groupID, operation_id)
        if set(patch.changed()) - {"role_level"}:
            await self._tell_group(ContentType.GROUP_MEMBER_INFO_SET, tips, op, item.groupID, operation_id)

    # -- member reads -------------------------------------------------------------------------------
    async def member_page(
        self, op: Operator, group_id: str, filter_: int, keyword: str, pagination: sdkws_pb2.RequestPagination
    ) -> tuple[int, list[sdkws_pb2.GroupMemberFullInfo]]:
        if not group_id:
            raise args_error("groupID is empty")
        if not 0 <= filter_ <= MAX_MEMBER_FILTER:
            raise args_error("filter must be 0..5")
        offset, limit = page_window(pagination)
        await self._member_or_admin(op, group_id)
        total, members = await self._store.page_group_members(group_id, offset=offset, limit=limit, keyword=keyword)
        return total, await self._members_pb(members)

    async def members_info(
        self, op: Operator, group_id: str, user_ids: Sequence[str]
    ) -> list[sdkws_pb2.GroupMemberFullInfo]:
        if not group_id:
            raise args_error("groupID is empty")
        if not user_ids:
            raise args_error("userIDs is empty")
        if not await self._store.get_user_conversations(op.user_id, [group_conversation_id(group_id)]):
            # Former members keep their conversation (frozen) and the SDK names the senders of its
            # history through this route; OpenIM refuses them, which breaks their history view.
            await self._member_or_admin(op, group_id)
        by_id = (await self._dir.member_list(group_id)).by_id
        return await self._members_pb([by_id[u] for u in dict.fromkeys(user_ids) if u in by_id])

    async def member_user_ids(self, op: Operator, group_id: str) -> list[str]:
        if not group_id:
            raise args_error("groupID is empty")
        await self._member_or_admin(op, group_id)
        return (await self._dir.member_list(group_id)).ids

    async def abstract_info(self, op: Operator, group_ids: Sequence[str]) -> group_pb2.GetGroupAbstractInfoResp:
        resp = group_pb2.GetGroupAbstractInfoResp()
        for group_id in unique(group_ids, "groupIDs"):
            await self._dir.group(group_id)
            await self._member_or_admin(op, group_id)
            ids = (await self._dir.member_list(group_id)).ids
            resp.groupAbstractInfos.add(
                groupID=group_id, groupMemberNumber=len(ids), groupMemberListHash=id_hash(sorted(ids))
            )
        return resp
