"""A group's life (OpenIM's group.go, the group half): create it, read and search groups, set its info and
announcement, mute it, transfer its ownership and dismiss it, each announced with its own 15xx."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

from openim.clock import now_ms
from openim.services.field_limits import check_fields
from openim.services.groups.access import Operator
from openim.services.groups.callbacks import (
    create_group_hook,
    dismiss_hook,
    group_info_changes,
    set_group_info_hook,
)
from openim.services.groups.convert import group_to_pb
from openim.services.groups.notifications import GroupNotifications, member_version
from openim.services.versioning import page_window
from openim.services.wrappers import wrapped_patch
from openim.storage.groups.records import (
    GroupMemberRecord,
    GroupPatch,
    GroupRecord,
    GroupStatus,
    JoinSource,
    RoleLevel,
    Verification,
)
from openim.storage.messages.records import ConversationPatch, VersionKind, VersionLog, VersionState
from openim.storage.port import AlreadyExists
from openim.wire.constants import ContentType, group_conversation_id
from openim.wire.errors import ErrCode, OpenIMError, args_error, no_permission, not_found
from openim.wire.pb import group_pb2, sdkws_pb2

GROUP_AT_TYPE_NOTIFICATION = 4  # conversation.groupAtType after a new announcement


def new_group_id() -> str:
    """OpenIM's generated groupID: the decimal value of the first 8 hex digits of an md5."""
    digest = hashlib.md5(f"{time.time_ns()}-{os.urandom(8).hex()}".encode()).hexdigest()
    return str(int(digest[:8], 16))


def check_create_request(op: Operator, req: group_pb2.CreateGroupReq) -> list[str]:
    """create_group's arguments: a working group, texts that fit, an owner the operator may act for and
    distinct members. Returns everyone to be in the group (members, admins, then the owner)."""
    info = req.groupInfo
    if not req.HasField("groupInfo"):
        raise args_error("groupInfo is empty")
    if info.groupType != 2:
        raise args_error("groupType must be 2 (working group)")
    check_fields({"group_name": info.groupName, "notification": info.notification,
                  "introduction": info.introduction, "face_url": info.faceURL, "ex": info.ex})  # fmt: skip
    if not req.ownerUserID:
        raise args_error("ownerUserID is empty")
    if not op.is_admin and op.user_id != req.ownerUserID:
        raise no_permission(f"{op.user_id} may not create a group for {req.ownerUserID}")
    everyone = [*req.memberUserIDs, *req.adminUserIDs, req.ownerUserID]
    if len(set(everyone)) != len(everyone) or any(not u for u in everyone):
        raise args_error("memberUserIDs, adminUserIDs and ownerUserID must be distinct user IDs")
    return everyone


def new_group(op: Operator, req: group_pb2.CreateGroupReq, now: int) -> tuple[GroupRecord, list[GroupMemberRecord]]:
    """The group a create request describes (its own ID or a generated one) and its first members: the
    owner, the admins, then the ordinary members, all invited by the operator."""
    info = req.groupInfo
    group = GroupRecord(
        group_id=info.groupID or new_group_id(),
        group_name=info.groupName,
        notification=info.notification,
        introduction=info.introduction,
        face_url=info.faceURL,
        owner_user_id=req.ownerUserID,
        create_time=now,
        ex=info.ex,
        creator_user_id=op.user_id,
        group_type=2,
        need_verification=info.needVerification,
        look_member_info=info.lookMemberInfo,
        apply_member_friend=info.applyMemberFriend,
        notification_update_time=now if info.notification else 0,
        notification_user_id=op.user_id if info.notification else "",
    )

    def member(user_id: str, role: RoleLevel) -> GroupMemberRecord:
        return GroupMemberRecord(
            group.group_id,
            user_id,
            role_level=role,
            join_time=now,
            join_source=JoinSource.INVITATION,
            operator_user_id=op.user_id,
            inviter_user_id=op.user_id,
        )

    members = [member(req.ownerUserID, RoleLevel.OWNER)]
    members += [member(u, RoleLevel.ADMIN) for u in req.adminUserIDs]
    members += [member(u, RoleLevel.ORDINARY) for u in req.memberUserIDs]
    return group, members


# set_group_info(_ex) requests: which wire field sets which GroupRecord attribute. The legacy request has
# wrappers for the last four only.
LEGACY_WRAPPED_FIELDS: Final = {
    "ex": "ex",
    "needVerification": "need_verification",
    "lookMemberInfo": "look_member_info",
    "applyMemberFriend": "apply_member_friend",
}
INFO_FIELDS: Final = {
    "groupName": "group_name",
    "notification": "notification",
    "introduction": "introduction",
    "faceURL": "face_url",
    **LEGACY_WRAPPED_FIELDS,
}


class GroupLifecycle(GroupNotifications):
    async def create_group(self, op: Operator, req: group_pb2.CreateGroupReq, operation_id: str) -> sdkws_pb2.GroupInfo:
        everyone = check_create_request(op, req)
        users = await self._users_by_id(everyone)
        missing = [u for u in everyone if u not in users]
        if missing:
            raise OpenIMError(ErrCode.USER_ID_NOT_FOUND, f"user {missing[0]} is not registered")
        hook: dict[str, Any] = {}
        if self.webhooks is not None:
            hook = create_group_hook(op, req, everyone)
            await self.webhooks.before("beforeCreateGroup", hook, operation_id=operation_id)
        if req.groupInfo.needVerification not in tuple(Verification):
            raise args_error("groupInfo.needVerification must be 0, 1 or 2")
        group, members = new_group(op, req, now_ms())
        members = await self._members_joining(group, members, operation_id)
        try:
            version = await self._store.create_group(group, members)
        except AlreadyExists as exc:
            if req.groupInfo.groupID:
                raise OpenIMError(ErrCode.GROUP_ID_EXISTED, f"group {group.group_id} exists") from exc
            raise OpenIMError(ErrCode.SERVER_INTERNAL, "generated group ID collided; retry") from exc
        info_pb = await self._announce_creation(op, req, group.group_id, version, operation_id)
        if self.webhooks is not None:
            self.webhooks.after("afterCreateGroup", {**hook, "groupID": group.group_id}, operation_id=operation_id)
        return info_pb

    async def _announce_creation(
        self, op: Operator, req: group_pb2.CreateGroupReq, group_id: str, version: VersionLog, operation_id: str
    ) -> sdkws_pb2.GroupInfo:
        """1501 GroupCreated (its chat copy as the request's sendMessage says), then 1519 when the group
        starts with an announcement. Returns the group as created."""
        group, listed = await self._dir.fresh(group_id)
        info_pb = group_to_pb(group, len(listed.members))
        members_pb = await self._members_pb(listed.members)
        tips = sdkws_pb2.GroupCreatedTips(
            group=info_pb,
            opUser=await self._op_member(op, group_id, listed),
            memberList=members_pb,
            operationTime=group.create_time,
            **member_version(version),
        )
        tips.groupOwnerUser.CopyFrom(members_pb[0])
        chat_copy = req.sendMessage if req.HasField("sendMessage") else None
        await self._tell_group(ContentType.GROUP_CREATED, tips, op, group_id, operation_id, chat_copy=chat_copy)
        if group.notification:
            announcement = sdkws_pb2.GroupInfoSetAnnouncementTips(
                opUser=tips.opUser, group=info_pb, **member_version(version)
            )
            await self._tell_group(ContentType.GROUP_INFO_SET_ANNOUNCEMENT, announcement, op, group_id, operation_id)
        return info_pb

    async def joined_groups(
        self, user_id: str, pagination: sdkws_pb2.RequestPagination
    ) -> tuple[int, list[sdkws_pb2.GroupInfo]]:
        offset, limit = page_window(pagination)
        ids = await self._store.get_joined_group_ids(user_id)
        return len(ids), await self._groups_pb(await self._store.get_groups(ids[offset : offset + limit]))

    async def search_groups(
        self, pagination: sdkws_pb2.RequestPagination, group_id: str, name: str
    ) -> group_pb2.GetGroupsResp:
        offset, limit = page_window(pagination)
        total, groups = await self._store.search_groups(offset=offset, limit=limit, group_id=group_id, name=name)
        owners = await self._users_by_id(g.owner_user_id for g in groups)
        resp = group_pb2.GetGroupsResp(total=total)
        for g, info in zip(groups, await self._groups_pb(groups), strict=True):
            owner = owners.get(g.owner_user_id)
            resp.groups.add(
                groupInfo=info, groupOwnerUserName=owner.nickname if owner else "", groupOwnerUserID=g.owner_user_id
            )
        return resp

    async def set_group_info_ex(self, op: Operator, req: group_pb2.SetGroupInfoExReq, operation_id: str) -> None:
        """/group/set_group_info_ex: the wrappers that are present set their field."""
        patch = wrapped_patch(GroupPatch, req, INFO_FIELDS)
        hooks = ("beforeSetGroupInfoEx", "afterSetGroupInfoEx")
        await self.set_group_info(op, req.groupID, patch, operation_id, hooks=hooks)

    async def set_group_info_legacy(self, op: Operator, info: sdkws_pb2.GroupInfoForSet, operation_id: str) -> None:
        """/group/set_group_info: empty strings mean "unchanged"; the wrappers mean what they say."""
        patch = replace(
            wrapped_patch(GroupPatch, info, LEGACY_WRAPPED_FIELDS),
            group_name=info.groupName or None,
            notification=info.notification or None,
            introduction=info.introduction or None,
            face_url=info.faceURL or None,
        )
        hooks = ("beforeSetGroupInfo", "afterSetGroupInfo")
        await self.set_group_info(op, info.groupID, patch, operation_id, hooks=hooks)

    async def set_group_info(
        self, op: Operator, group_id: str, patch: GroupPatch, operation_id: str, *, hooks: tuple[str, str] | None = None
    ) -> None:
        """set_group_info_ex / set_group_info: ``patch`` holds what the request sets (present wrappers
        only). Announces each kind of change with its own notification. ``hooks`` names the (before, after)
        callbacks of the route: the before-callback, asked once the operator's rights are checked, may
        refuse or replace fields; what it leaves is checked as a request is."""
        await self._manager(op, group_id)
        await self._live_group(group_id)
        before_hook, after_hook = hooks if hooks is not None and self.webhooks is not None else ("", "")
        legacy = before_hook == "beforeSetGroupInfo"
        if before_hook and self.webhooks is not None and self.webhooks.enabled(before_hook):
            body = set_group_info_hook(group_id, patch, legacy=legacy, before=True)
            answer = await self.webhooks.before(before_hook, body, operation_id=operation_id)
            changes = group_info_changes(answer.body if answer is not None else None, legacy=legacy)
            if changes:
                patch = replace(patch, **changes)
        if patch.group_name is not None and not patch.group_name.strip():
            raise args_error("groupName cannot be empty")
        if patch.need_verification is not None and patch.need_verification not in tuple(Verification):
            raise args_error("needVerification must be 0, 1 or 2")
        check_fields(patch.changed())
        if not patch.changed():
            return
        stored = patch
        if patch.notification is not None:
            stored = replace(patch, notification_user_id=op.user_id, notification_update_time=now_ms())
        version = await self._store.update_group(group_id, stored)
        if version is None:
            raise not_found(f"group {group_id} not found")
        await self._announce_info_set(op, group_id, patch, version, operation_id)
        if after_hook and self.webhooks is not None and self.webhooks.enabled(after_hook):
            body = set_group_info_hook(group_id, patch, legacy=legacy, before=False)
            self.webhooks.after(after_hook, body, operation_id=operation_id)

    async def _announce_info_set(
        self, op: Operator, group_id: str, patch: GroupPatch, version: VersionLog, operation_id: str
    ) -> None:
        """1519 for a new announcement (its chat copy only when it is not emptied), 1520 for a new name,
        1502 for any other field; the operator's profile names the sender."""
        group, members = await self._dir.fresh(group_id)
        info = group_to_pb(group, len(members.members))
        op_pb = await self._op_member(op, group_id, members)
        sender = (await self._users_by_id([op.user_id])).get(op.user_id)
        vkw = member_version(version)
        told: list[tuple[ContentType, Any, bool | None]] = []
        if patch.notification is not None:
            await self._mark_announcement(group_id, members.ids)
            tips = sdkws_pb2.GroupInfoSetAnnouncementTips(opUser=op_pb, group=info, **vkw)
            told.append((ContentType.GROUP_INFO_SET_ANNOUNCEMENT, tips, bool(patch.notification)))
        if patch.group_name is not None:
            told.append(
                (ContentType.GROUP_INFO_SET_NAME, sdkws_pb2.GroupInfoSetNameTips(opUser=op_pb, group=info, **vkw), None)
            )
        if set(patch.changed()) - {"notification", "group_name"}:
            told.append((ContentType.GROUP_INFO_SET, sdkws_pb2.GroupInfoSetTips(opUser=op_pb, group=info, **vkw), None))
        for kind, tips_of_kind, chat_copy in told:
            await self._tell_group(kind, tips_of_kind, op, group_id, operation_id, chat_copy=chat_copy, sender=sender)

    async def _mark_announcement(self, group_id: str, member_ids: Sequence[str]) -> None:
        """A new announcement flags every member's group conversation (groupAtType 4, the SDK shows
        "group announcement"); logged in each owner's conversation log so the SDK picks it up. One
        write per member: announcements are rare, and the flag is each member's own to reset."""
        conversation_id = group_conversation_id(group_id)
        for owner in member_ids:
            if await self._store.update_user_conversation(
                owner, conversation_id, ConversationPatch(group_at_type=GROUP_AT_TYPE_NOTIFICATION)
            ):
                await self._store.bump_version(VersionKind.CONVERSATION, owner, [conversation_id], VersionState.UPDATE)

    async def dismiss(
        self, op: Operator, group_id: str, delete_member: bool, operation_id: str, *, send_message: bool | None = None
    ) -> None:
        if not group_id:
            raise args_error("groupID is empty")
        group = await self._dir.group(group_id)
        if not op.is_admin and group.owner_user_id != op.user_id:
            raise no_permission("only the group owner may dismiss the group")
        if group.status == GroupStatus.DISMISSED and not delete_member:
            raise OpenIMError(ErrCode.DISMISSED_ALREADY, f"group {group_id} is dismissed already")
        members_before = await self._dir.member_list(group_id)
        op_pb = await self._op_member(op, group_id, members_before)
        await self._store.dismiss_group(group_id, delete_members=delete_member)
        if self.webhooks is not None:
            self.webhooks.after("afterDismissGroup", dismiss_hook(group, members_before.ids), operation_id=operation_id)
        group, members = await self._dir.fresh(group_id)
        if delete_member:
            return  # OpenIM announces nothing then: the members' join logs tell their clients
        tips = sdkws_pb2.GroupDismissedTips(
            group=group_to_pb(group, len(members.members)), opUser=op_pb, operationTime=now_ms()
        )
        await self._tell_group(ContentType.GROUP_DISMISSED, tips, op, group_id, operation_id, chat_copy=send_message)

    async def mute_group(self, op: Operator, group_id: str, mute: bool, operation_id: str) -> None:
        await self._manager(op, group_id)
        await self._live_group(group_id)
        status = GroupStatus.MUTED if mute else GroupStatus.OK
        version = await self._store.update_group(group_id, GroupPatch(status=int(status)))
        if version is None:
            raise not_found(f"group {group_id} not found")
        _, head = await self._tips_head(op, group_id)
        kw: dict[str, Any] = {**head, "operationTime": now_ms(), **member_version(version)}
        if mute:
            await self._tell_group(ContentType.GROUP_MUTED, sdkws_pb2.GroupMutedTips(**kw), op, group_id, operation_id)
        else:
            await self._tell_group(
                ContentType.GROUP_CANCEL_MUTED, sdkws_pb2.GroupCancelMutedTips(**kw), op, group_id, operation_id
            )

    async def transfer(self, op: Operator, group_id: str, old_owner: str, new_owner: str, operation_id: str) -> None:
        if not op.is_admin and op.user_id != old_owner:
            raise no_permission(f"{op.user_id} may not act for {old_owner}")
        await self._live_group(group_id)
        if not new_owner or old_owner == new_owner:
            raise args_error("newOwnerUserID must be another member")
        members = await self._dir.member_list(group_id)
        old, new = members.by_id.get(old_owner), members.by_id.get(new_owner)
        if old is None or new is None:
            raise args_error("old and new owner must both be members")
        if old.role_level != RoleLevel.OWNER:
            raise no_permission(f"{old_owner} is not the group owner")
        version = await self._store.transfer_group_owner(group_id, old_owner, new_owner, new.role_level)
        if self.webhooks is not None:
            hook = {"groupID": group_id, "oldOwnerUserID": old_owner, "newOwnerUserID": new_owner}
            self.webhooks.after("afterTransferGroupOwner", hook, operation_id=operation_id)
        members, head = await self._tips_head(op, group_id)
        old_pb, new_pb = await self._members_pb([members.by_id[old_owner], members.by_id[new_owner]])
        tips = sdkws_pb2.GroupOwnerTransferredTips(
            **head,
            newGroupOwner=new_pb,
            oldGroupOwner=old_owner,
            operationTime=now_ms(),
            oldGroupOwnerInfo=old_pb,
            **member_version(version),
        )
        await self._tell_group(ContentType.GROUP_OWNER_TRANSFERRED, tips, op, group_id, operation_id)
