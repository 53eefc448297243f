"""Groups, members and join requests: OpenIM's group service (its /group routes, sync and notifications).

Three concerns meet here:

* **Rules.** Who may do what (owner 100, admin 60, ordinary 20, non-member, app admin), with OpenIM's
  codes: a non-member operator gets 1004 where OpenIM looks the operator up as a member
  (``_manager``: set info, mute, answer applications) and 1002 where it checks membership first
  (``_member_or_admin``: member lists, kick, invite-as-member checks are 1004 too, see ``invite``).
* **Change + log + notification.** The store writes each change with its version-log entries and the
  members' ``sg_`` conversation rows in one transaction and returns the member-log version after it; the
  notification (15xx) carries that version, goes to the ``n_<groupID>`` stream with the request's
  operationID, and for the ``isSendMsg`` kinds also leaves a stored chat copy in ``sg_<groupID>``.
  A failed notification is logged, not returned: the change is committed and clients converge through
  incremental sync (push is best effort, docs/architecture.md, invariant 4).
* **The hot path.** Every group message asks ``check_group_send`` (membership, mute), the transfer stage
  asks ``member_ids`` (conversation owners) and the push stage ``push_audience``. Those read a member
  list cached per group: changes made in this process invalidate it at once, other processes see them
  within ``CACHE_TTL_S``; presence is then looked up once per push batch by the push stage.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from google.protobuf.message import Message

from openim.clock import now_ms
from openim.ops.logging import get_log
from openim.pipeline.msg import SendService
from openim.services.field_limits import check_fields
from openim.services.group_directory import GroupDirectory, MemberList
from openim.services.group_pb import group_to_pb, member_to_pb, public_user, request_to_pb
from openim.services.notify import Notifier
from openim.services.users import UserService
from openim.services.versioning import check_pagination, id_hash, plan_incremental
from openim.storage.group_records import (
    GroupMemberRecord,
    GroupRecord,
    GroupRequestRecord,
    GroupStatus,
    HandleResult,
    JoinSource,
    RoleLevel,
    Verification,
)
from openim.storage.port import AlreadyExists, Store
from openim.storage.port_groups import GROUP_CHANGED_MARKER, SORT_MARKER
from openim.storage.records import UserRecord, VersionKind, VersionLog, VersionState
from openim.wire.constants import ContentType, SessionType, group_conversation_id
from openim.wire.errors import ErrCode, OpenIMError, args_error, no_permission, not_found
from openim.wire.pb import group_pb2, sdkws_pb2

if TYPE_CHECKING:
    from openim.webhooks.dispatcher import Webhooks

log = get_log("groups")

INVITE_BATCH = 50  # members per insert and per 1509, as OpenIM
BATCH_SYNC_ROW_LIMIT = 500  # the member batch endpoint stops adding groups after this many changed rows
GROUP_AT_TYPE_NOTIFICATION = 4  # conversation.groupAtType after a new announcement
MAX_MEMBER_FILTER = 5

# Notifications that also store a chat copy in sg_ (notification.yml isSendMsg defaults).
CHAT_COPY_TYPES = frozenset(
    {
        ContentType.GROUP_CREATED,
        ContentType.MEMBER_QUIT,
        ContentType.GROUP_OWNER_TRANSFERRED,
        ContentType.MEMBER_KICKED,
        ContentType.MEMBER_INVITED,
        ContentType.MEMBER_ENTER,
        ContentType.GROUP_DISMISSED,
        ContentType.GROUP_MUTED,
        ContentType.GROUP_CANCEL_MUTED,
        ContentType.GROUP_MEMBER_MUTED,
        ContentType.GROUP_MEMBER_CANCEL_MUTED,
        ContentType.GROUP_INFO_SET_ANNOUNCEMENT,
        ContentType.GROUP_INFO_SET_NAME,
    }
)


@dataclass(frozen=True, slots=True)
class Operator:
    """Who performs a group operation: the token's user, and whether that user is an app admin."""

    user_id: str
    is_admin: bool = False


def new_group_id() -> str:
    """OpenIM's generated groupID: the decimal value of the first 8 hex digits of an md5."""
    digest = hashlib.md5(f"{time.time_ns()}-{os.urandom(8).hex()}".encode()).hexdigest()
    return str(int(digest[:8], 16))


def offset_of(pagination: sdkws_pb2.RequestPagination) -> tuple[int, int]:
    check_pagination(pagination)
    return (pagination.pageNumber - 1) * pagination.showNumber, pagination.showNumber


def unique(ids: Sequence[str], name: str) -> list[str]:
    """Non-empty, no duplicates, no empty IDs (1001 otherwise)."""
    if not ids:
        raise args_error(f"{name} is empty")
    if len(set(ids)) != len(ids):
        raise args_error(f"{name} has duplicates")
    if any(not i for i in ids):
        raise args_error(f"{name} has an empty ID")
    return list(ids)


def check_member_info_permission(
    op: Operator, dbs: Mapping[str, GroupMemberRecord], items: Sequence[group_pb2.SetGroupMemberInfo]
) -> None:
    """set_group_member_info's matrix for the items of one group (OpenIM's rules and codes): the owner
    edits anyone but cannot change his own role (1001); an admin edits himself and ordinary members; an
    ordinary member only himself; nobody raises his own role (1002). A target that is not a member is
    1001; an operator who is not a member is 1002 unless app admin."""
    targets = [i.userID for i in items]
    missing = [t for t in targets if t not in dbs]
    if missing:
        raise args_error(f"user {missing[0]} not in group")
    if op.is_admin and op.user_id not in dbs:
        return
    me = dbs.get(op.user_id)
    if me is None:
        if op.is_admin:
            return
        raise no_permission("operator not in group")
    if op.is_admin:
        return
    for target in (dbs[t] for t in targets):
        if me.role_level == RoleLevel.ADMIN:
            if target.role_level == RoleLevel.OWNER:
                raise no_permission("an admin cannot change the group owner")
            if target.role_level == RoleLevel.ADMIN and target.user_id != op.user_id:
                raise no_permission("an admin cannot change another admin")
        elif me.role_level != RoleLevel.OWNER and target.user_id != op.user_id:
            raise no_permission("ordinary members may only change themselves")
    for item in items:
        if item.userID == op.user_id and item.HasField("roleLevel"):
            if item.roleLevel.value > me.role_level:
                raise no_permission("nobody raises his own role level")
            if me.role_level == RoleLevel.OWNER:
                raise args_error("the group owner cannot change his own role level")


# ---------------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------------


# SetGroupMemberInfo's text wrappers -> the stored member fields they set.
_MEMBER_TEXTS: Final = (("nickname", "nickname"), ("faceURL", "face_url"), ("ex", "ex"))


class GroupService:
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
        self._store = store
        self._notifier = notifier
        self._send = send
        self._users = users
        self._dir = directory if directory is not None else GroupDirectory(store)
        self.webhooks = webhooks  # OpenIM's group callbacks, None when none is enabled

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

    # -- wire helpers --------------------------------------------------------------------------------
    async def _profiles(self, user_ids: Iterable[str]) -> dict[str, UserRecord]:
        ids = list(dict.fromkeys(u for u in user_ids if u))
        return {u.user_id: u for u in await self._users.get(ids)} if ids else {}

    async def _members_pb(self, members: Sequence[GroupMemberRecord]) -> list[sdkws_pb2.GroupMemberFullInfo]:
        users = await self._profiles(m.user_id for m in members)
        return [member_to_pb(m, users.get(m.user_id)) for m in members]

    async def _groups_pb(self, groups: Sequence[GroupRecord]) -> list[sdkws_pb2.GroupInfo]:
        counts = await self._store.count_group_members([g.group_id for g in groups])
        return [group_to_pb(g, counts.get(g.group_id, 0)) for g in groups]

    async def _op_member(self, op: Operator, group_id: str, members: MemberList) -> sdkws_pb2.GroupMemberFullInfo:
        """The operator as tips show him: his member record, or (app admin outside the group) a
        record made of his profile."""
        record = members.by_id.get(op.user_id) or GroupMemberRecord(group_id, op.user_id, role_level=0)
        return (await self._members_pb([record]))[0]

    # -- notifications -------------------------------------------------------------------------------
    async def _tell_group(
        self,
        content_type: ContentType,
        tips: Message,
        op: Operator,
        group_id: str,
        operation_id: str,
        *,
        chat_copy: bool | None = None,
        sender: UserRecord | None = None,
    ) -> None:
        copy = content_type in CHAT_COPY_TYPES if chat_copy is None else chat_copy
        try:
            await self._notifier.notify(
                content_type=int(content_type),
                tips=tips,
                send_id=op.user_id,
                group_id=group_id,
                session_type=SessionType.READ_GROUP,
                operation_id=operation_id,
                sender_nickname=sender.nickname if sender else "",
                sender_face_url=sender.face_url if sender else "",
                chat_copy=copy,
            )
        except OpenIMError as err:
            log.warning("notify.failed", content_type=int(content_type), group_id=group_id, error=str(err))

    async def _tell_users(
        self, content_type: ContentType, tips: Message, send_id: str, recv_ids: Iterable[str], operation_id: str
    ) -> None:
        """Single-chat notifications (1503, 1505, 1506) to each recipient; the sender's devices are not
        copied each time (one of the recipients is the sender when he should see it)."""
        for recv_id in dict.fromkeys(recv_ids):
            try:
                await self._notifier.notify(
                    content_type=int(content_type),
                    tips=tips,
                    send_id=send_id,
                    recv_id=recv_id,
                    operation_id=operation_id,
                    sender_sync=False,
                )
            except OpenIMError as err:
                log.warning("notify.failed", content_type=int(content_type), recv_id=recv_id, error=str(err))

    # =============================================================================================
    # Groups
    # =============================================================================================
    async def create_group(self, op: Operator, req: group_pb2.CreateGroupReq, operation_id: str) -> sdkws_pb2.GroupInfo:
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
        users = await self._profiles(everyone)
        missing = [u for u in everyone if u not in users]
        if missing:
            raise OpenIMError(ErrCode.USER_ID_NOT_FOUND, f"user {missing[0]} is not registered")
        hook: dict[str, Any] = {}
        if self.webhooks is not None:
            hook = {
                "groupID": info.groupID, "groupName": info.groupName, "notification": info.notification,
                "introduction": info.introduction, "faceURL": info.faceURL, "ownerUserID": req.ownerUserID,
                "ex": info.ex, "groupType": info.groupType, "needVerification": info.needVerification,
                "creatorUserID": op.user_id,
                "initMemberList": [{"userID": u, "roleLevel": 100 if u == req.ownerUserID else
                                    60 if u in req.adminUserIDs else 20} for u in everyone],
            }
            await self.webhooks.before("beforeCreateGroup", hook, operation_id=operation_id)
        if info.needVerification not in tuple(Verification):
            raise args_error("groupInfo.needVerification must be 0, 1 or 2")
        now = now_ms()
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
        try:
            version = await self._store.create_group(group, members)
        except AlreadyExists as exc:
            if info.groupID:
                raise OpenIMError(ErrCode.GROUP_ID_EXISTED, f"group {group.group_id} exists") from exc
            raise OpenIMError(ErrCode.SERVER_INTERNAL, "generated group ID collided; retry") from exc
        group, listed = await self._dir.fresh(group.group_id)
        info_pb = group_to_pb(group, len(listed.members))
        members_pb = await self._members_pb(listed.members)
        tips = sdkws_pb2.GroupCreatedTips(
            group=info_pb,
            opUser=await self._op_member(op, group.group_id, listed),
            memberList=members_pb,
            operationTime=now,
            groupMemberVersion=version.version,
            groupMemberVersionID=version.version_id,
        )
        tips.groupOwnerUser.CopyFrom(members_pb[0])
        chat_copy = req.sendMessage if req.HasField("sendMessage") else None
        await self._tell_group(ContentType.GROUP_CREATED, tips, op, group.group_id, operation_id, chat_copy=chat_copy)
        if group.notification:
            announcement = sdkws_pb2.GroupInfoSetAnnouncementTips(
                opUser=tips.opUser,
                group=info_pb,
                groupMemberVersion=version.version,
                groupMemberVersionID=version.version_id,
            )
            await self._tell_group(
                ContentType.GROUP_INFO_SET_ANNOUNCEMENT, announcement, op, group.group_id, operation_id
            )
        if self.webhooks is not None:
            self.webhooks.after("afterCreateGroup", {**hook, "groupID": group.group_id}, operation_id=operation_id)
        return info_pb

    async def groups_info(self, group_ids: Sequence[str]) -> list[sdkws_pb2.GroupInfo]:
        return await self._groups_pb(await self._store.get_groups(list(dict.fromkeys(group_ids))))

    async def joined_groups(
        self, user_id: str, pagination: sdkws_pb2.RequestPagination
    ) -> tuple[int, list[sdkws_pb2.GroupInfo]]:
        offset, limit = offset_of(pagination)
        ids = await self._store.get_joined_group_ids(user_id)
        return len(ids), await self._groups_pb(await self._store.get_groups(ids[offset : offset + limit]))

    async def search_groups(
        self, pagination: sdkws_pb2.RequestPagination, group_id: str, name: str
    ) -> group_pb2.GetGroupsResp:
        offset, limit = offset_of(pagination)
        total, groups = await self._store.search_groups(offset=offset, limit=limit, group_id=group_id, name=name)
        owners = await self._profiles(g.owner_user_id for g in groups)
        resp = group_pb2.GetGroupsResp(total=total)
        for g, info in zip(groups, await self._groups_pb(groups), strict=True):
            owner = owners.get(g.owner_user_id)
            resp.groups.add(
                groupInfo=info, groupOwnerUserName=owner.nickname if owner else "", groupOwnerUserID=g.owner_user_id
            )
        return resp

    async def set_group_info(self, op: Operator, group_id: str, changes: Mapping[str, Any], operation_id: str) -> None:
        """set_group_info_ex / set_group_info: ``changes`` holds GroupRecord fields to set (present
        wrappers only). Announces each kind of change with its own notification."""
        await self._manager(op, group_id)
        await self._live_group(group_id)
        if "group_name" in changes and not str(changes["group_name"]).strip():
            raise args_error("groupName cannot be empty")
        if "need_verification" in changes and changes["need_verification"] not in tuple(Verification):
            raise args_error("needVerification must be 0, 1 or 2")
        check_fields(changes)
        if not changes:
            return
        patch = dict(changes)
        now = now_ms()
        if "notification" in patch:
            patch["notification_user_id"] = op.user_id
            patch["notification_update_time"] = now
        version = await self._store.update_group(group_id, patch)
        if version is None:
            raise not_found(f"group {group_id} not found")
        group, members = await self._dir.fresh(group_id)
        info = group_to_pb(group, len(members.members))
        op_pb = await self._op_member(op, group_id, members)
        sender = (await self._profiles([op.user_id])).get(op.user_id)
        vkw: dict[str, Any] = {"groupMemberVersion": version.version, "groupMemberVersionID": version.version_id}
        if "notification" in changes:
            await self._mark_announcement(group_id, members.ids)
            await self._tell_group(
                ContentType.GROUP_INFO_SET_ANNOUNCEMENT,
                sdkws_pb2.GroupInfoSetAnnouncementTips(opUser=op_pb, group=info, **vkw),
                op,
                group_id,
                operation_id,
                chat_copy=bool(changes["notification"]),
                sender=sender,
            )
        if "group_name" in changes:
            await self._tell_group(
                ContentType.GROUP_INFO_SET_NAME,
                sdkws_pb2.GroupInfoSetNameTips(opUser=op_pb, group=info, **vkw),
                op,
                group_id,
                operation_id,
                sender=sender,
            )
        if set(changes) - {"notification", "group_name"}:
            await self._tell_group(
                ContentType.GROUP_INFO_SET,
                sdkws_pb2.GroupInfoSetTips(opUser=op_pb, group=info, **vkw),
                op,
                group_id,
                operation_id,
                sender=sender,
            )

    async def _mark_announcement(self, group_id: str, member_ids: Sequence[str]) -> None:
        """A new announcement flags every member's group conversation (groupAtType 4, the SDK shows
        "group announcement"); logged in each owner's conversation log so the SDK picks it up. One
        write per member: announcements are rare, and the flag is each member's own to reset."""
        conversation_id = group_conversation_id(group_id)
        for owner in member_ids:
            if await self._store.update_user_conversation(
                owner, conversation_id, {"group_at_type": GROUP_AT_TYPE_NOTIFICATION}
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
            hook = {"groupID": group_id, "ownerID": group.owner_user_id, "groupType": group.group_type,
                    "membersID": [m.user_id for m in members_before.members]}
            self.webhooks.after("afterDismissGroup", hook, operation_id=operation_id)
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
        version = await self._store.update_group(group_id, {"status": int(status)})
        if version is None:
            raise not_found(f"group {group_id} not found")
        group, members = await self._dir.fresh(group_id)
        kw: dict[str, Any] = {
            "group": group_to_pb(group, len(members.members)),
            "opUser": await self._op_member(op, group_id, members),
            "operationTime": now_ms(),
            "groupMemberVersion": version.version,
            "groupMemberVersionID": version.version_id,
        }
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
        group, members = await self._dir.fresh(group_id)
        old_pb, new_pb = await self._members_pb([members.by_id[old_owner], members.by_id[new_owner]])
        tips = sdkws_pb2.GroupOwnerTransferredTips(
            group=group_to_pb(group, len(members.members)),
            opUser=await self._op_member(op, group_id, members),
            newGroupOwner=new_pb,
            oldGroupOwner=old_owner,
            operationTime=now_ms(),
            oldGroupOwnerInfo=old_pb,
            groupMemberVersion=version.version,
            groupMemberVersionID=version.version_id,
        )
        await self._tell_group(ContentType.GROUP_OWNER_TRANSFERRED, tips, op, group_id, operation_id)

    # =============================================================================================
    # Membership
    # =============================================================================================
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
            hook = {"groupID": req.groupID, "groupType": group.group_type, "applyID": applicant,
                    "reqMessage": req.reqMessage, "ex": req.ex}
            await self.webhooks.before("beforeApplyJoinGroup", hook, operation_id=operation_id)
        now = now_ms()
        if group.need_verification == Verification.DIRECT:
            entrant = GroupMemberRecord(
                req.groupID,
                applicant,
                join_time=now,
                join_source=req.joinSource,
                operator_user_id=op.user_id,
                ex=req.ex,
            )
            added, version = await self._store.add_group_members(req.groupID, [entrant])
            if added:
                await self._announce_entry(op, req.groupID, added, version, inviter="", operation_id=operation_id)
                if self.webhooks is not None:
                    hook = {"groupID": req.groupID, "reqMessage": req.reqMessage, "joinSource": req.joinSource,
                            "inviterUserID": applicant}
                    self.webhooks.after("afterJoinGroup", hook, operation_id=operation_id)
            return
        request = GroupRequestRecord(
            req.groupID, applicant, req_msg=req.reqMessage, req_time=now, join_source=req.joinSource, ex=req.ex
        )
        await self._store.save_group_request(request)
        await self._announce_application(group, members, [request], applicant, operation_id)

    async def _announce_application(
        self,
        group: GroupRecord,
        members: MemberList,
        requests: Sequence[GroupRequestRecord],
        send_id: str,
        operation_id: str,
    ) -> None:
        """1503 to every owner/admin and to the applicant himself (single chat)."""
        info = group_to_pb(group, len(members.members))
        users = await self._profiles(r.user_id for r in requests)
        for request in requests:
            user = users.get(request.user_id)
            tips = sdkws_pb2.JoinGroupApplicationTips(
                group=info,
                applicant=public_user(request.user_id, user),
                reqMsg=request.req_msg,
                uuid=f"{request.group_id}-{request.user_id}-{request.req_time}",
                request=request_to_pb(request, user, info),
            )
            await self._tell_users(
                ContentType.JOIN_GROUP_APPLICATION, tips, send_id, [*members.managers(), request.user_id], operation_id
            )

    async def _announce_entry(
        self,
        op: Operator,
        group_id: str,
        entrants: Sequence[str],
        version: VersionLog,
        *,
        inviter: str,
        operation_id: str,
        chat_copy: bool | None = None,
    ) -> None:
        """1510 MemberEnter for one entrant without an inviter, else 1509 MemberInvited."""
        group, members = await self._dir.fresh(group_id)
        info = group_to_pb(group, len(members.members))
        entered = await self._members_pb([members.by_id[u] for u in entrants if u in members.by_id])
        vkw: dict[str, Any] = {"groupMemberVersion": version.version, "groupMemberVersionID": version.version_id}
        if not inviter and len(entered) == 1:
            tips: Message = sdkws_pb2.MemberEnterTips(group=info, entrantUser=entered[0], operationTime=now_ms(), **vkw)
            await self._tell_group(ContentType.MEMBER_ENTER, tips, op, group_id, operation_id, chat_copy=chat_copy)
            return
        invited = sdkws_pb2.MemberInvitedTips(
            group=info,
            opUser=await self._op_member(op, group_id, members),
            invitedUserList=entered,
            operationTime=now_ms(),
            **vkw,
        )
        if inviter:
            record = members.by_id.get(inviter) or GroupMemberRecord(group_id, inviter, role_level=0)
            invited.inviterUser.CopyFrom((await self._members_pb([record]))[0])
        await self._tell_group(ContentType.MEMBER_INVITED, invited, op, group_id, operation_id, chat_copy=chat_copy)

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
        invited = unique(user_ids, "invitedUserIDs")
        check_fields({"req_msg": reason})
        group = await self._live_group(group_id)
        users = await self._profiles(invited)
        if len(users) != len(invited):
            raise not_found("user not found: " + ", ".join(u for u in invited if u not in users))
        members = await self._dir.member_list(group_id)
        me = members.by_id.get(op.user_id)
        if not op.is_admin and me is None:
            raise not_found(f"{op.user_id} is not a member of {group_id}")
        inside = [u for u in invited if u in members.by_id]
        if inside:
            raise args_error(f"{inside[0]} is in the group already")
        now = now_ms()
        ordinary_inviter = not op.is_admin and me is not None and me.role_level < RoleLevel.ADMIN
        if group.need_verification == Verification.ALL_NEED_APPROVAL and ordinary_inviter:
            requests = [
                GroupRequestRecord(
                    group_id,
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
            return
        for start in range(0, len(invited), INVITE_BATCH):
            batch = [
                GroupMemberRecord(
                    group_id,
                    u,
                    join_time=now,
                    join_source=JoinSource.INVITATION,
                    operator_user_id=op.user_id,
                    inviter_user_id=op.user_id,
                )
                for u in invited[start : start + INVITE_BATCH]
            ]
            added, version = await self._store.add_group_members(group_id, batch)
            if added:
                await self._announce_entry(
                    op,
                    group_id,
                    added,
                    version,
                    inviter=op.user_id,
                    operation_id=operation_id,
                    chat_copy=send_message,
                )

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
        targets = unique(user_ids, "kickedUserIDs")
        if op.user_id in targets:
            raise args_error("the operator cannot kick himself")
        group = await self._live_group(group_id)
        if group.owner_user_id in targets:
            raise args_error("the group owner cannot be kicked")
        members = await self._dir.member_list(group_id)
        me = members.by_id.get(op.user_id)
        for target in targets:
            member = members.by_id.get(target)
            if member is None:
                raise OpenIMError(ErrCode.USER_ID_NOT_FOUND, f"{target} is not a member of {group_id}")
            if op.is_admin:
                continue
            if me is None:
                raise no_permission("operator not in group")
            if me.role_level == RoleLevel.OWNER:
                continue
            if me.role_level == RoleLevel.ADMIN and member.role_level == RoleLevel.ORDINARY:
                continue
            raise no_permission("the group owner kicks anyone, an admin only ordinary members")
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
            groupMemberVersion=version.version,
            groupMemberVersionID=version.version_id,
        )
        if removed:
            await self._tell_group(ContentType.MEMBER_KICKED, tips, op, group_id, operation_id, chat_copy=send_message)

    async def quit(self, op: Operator, group_id: str, user_id: str, operation_id: str) -> None:
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
            groupMemberVersion=version.version,
            groupMemberVersionID=version.version_id,
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
            if target.role_level == RoleLevel.OWNER:
                raise no_permission("the group owner cannot be muted")
            if target.role_level == RoleLevel.ADMIN and me.role_level != RoleLevel.OWNER:
                raise no_permission("only the group owner mutes an admin")
            if target.role_level == RoleLevel.ORDINARY and me.role_level < RoleLevel.ADMIN:
                raise no_permission("only the group owner or an admin mutes a member")
        now = now_ms()
        end = now + seconds * 1000 if seconds > 0 else 0
        version = await self._store.update_group_member(group_id, user_id, {"mute_end_time": end})
        if version is None:
            raise not_found(f"{user_id} is not a member of {group_id}")
        group, members = await self._dir.fresh(group_id)
        muted = (await self._members_pb([members.by_id[user_id]]))[0]
        kw: dict[str, Any] = {
            "group": group_to_pb(group, len(members.members)),
            "opUser": await self._op_member(op, group_id, members),
            "operationTime": now,
            "mutedUser": muted,
            "groupMemberVersion": version.version,
            "groupMemberVersionID": version.version_id,
        }
        if seconds > 0:
            await self._tell_group(
                ContentType.GROUP_MEMBER_MUTED,
                sdkws_pb2.GroupMemberMutedTips(mutedSeconds=seconds, **kw),
                op,
                group_id,
                operation_id,
            )
        else:
            await self._tell_group(
                ContentType.GROUP_MEMBER_CANCEL_MUTED,
                sdkws_pb2.GroupMemberCancelMutedTips(**kw),
                op,
                group_id,
                operation_id,
            )

    async def set_member_info(
        self, op: Operator, items: Sequence[group_pb2.SetGroupMemberInfo], operation_id: str
    ) -> None:
        if not items:
            raise args_error("members is empty")
        for item in items:
            if not item.groupID or not item.userID:
                raise args_error("members: groupID and userID are required")
            check_fields({attr: getattr(item, name).value for name, attr in _MEMBER_TEXTS if item.HasField(name)})
            if item.HasField("roleLevel"):
                if item.roleLevel.value == RoleLevel.OWNER:
                    raise no_permission("the owner role is given by transfer_group only")
                if item.roleLevel.value not in (RoleLevel.ADMIN, RoleLevel.ORDINARY):
                    raise args_error("roleLevel must be 60 or 20")
        by_group: dict[str, list[group_pb2.SetGroupMemberInfo]] = {}
        for item in items:
            by_group.setdefault(item.groupID, []).append(item)
        for group_id, group_items in by_group.items():
            if len({i.userID for i in group_items}) != len(group_items):
                raise args_error(f"a member of {group_id} is listed twice")
            await self._live_group(group_id)
            check_member_info_permission(op, (await self._dir.member_list(group_id)).by_id, group_items)
        for group_items in by_group.values():
            for item in group_items:
                await self._set_one_member(op, item, operation_id)

    async def _set_one_member(self, op: Operator, item: group_pb2.SetGroupMemberInfo, operation_id: str) -> None:
        changes: dict[str, Any] = {}
        for name, attr in (
            ("nickname", "nickname"),
            ("faceURL", "face_url"),
            ("ex", "ex"),
            ("roleLevel", "role_level"),
        ):
            if item.HasField(name):
                changes[attr] = getattr(item, name).value
        if not changes:
            return
        role_changed = "role_level" in changes
        version = await self._store.update_group_member(item.groupID, item.userID, changes, sort_changed=role_changed)
        if version is None:
            raise args_error(f"{item.userID} is not a member of {item.groupID}")
        group, members = await self._dir.fresh(item.groupID)
        tips = sdkws_pb2.GroupMemberInfoSetTips(
            group=group_to_pb(group, len(members.members)),
            opUser=await self._op_member(op, item.groupID, members),
            operationTime=now_ms(),
            changedUser=(await self._members_pb([members.by_id[item.userID]]))[0],
            groupMemberVersion=version.version,
            groupMemberVersionID=version.version_id,
            groupSortVersion=version.version if role_changed else 0,
        )
        if role_changed:
            kind = (
                ContentType.GROUP_MEMBER_SET_TO_ADMIN
                if changes["role_level"] == RoleLevel.ADMIN
                else ContentType.GROUP_MEMBER_SET_TO_ORDINARY_USER
            )
            await self._tell_group(kind, tips, op, item.groupID, operation_id)
        if set(changes) - {"role_level"}:
            await self._tell_group(ContentType.GROUP_MEMBER_INFO_SET, tips, op, item.groupID, operation_id)

    # -- member reads -------------------------------------------------------------------------------
    async def member_page(
        self, op: Operator, group_id: str, filter_: int, keyword: str, pagination: sdkws_pb2.RequestPagination
    ) -> tuple[int, list[sdkws_pb2.GroupMemberFullInfo]]:
        if not group_id:
            raise args_error("groupID is empty")
        if not 0 <= filter_ <= MAX_MEMBER_FILTER:
            raise args_error("filter must be 0..5")
        offset, limit = offset_of(pagination)
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

    # =============================================================================================
    # Applications
    # =============================================================================================
    async def _requests_pb(self, requests: Sequence[GroupRequestRecord]) -> list[sdkws_pb2.GroupRequest]:
        users = await self._profiles(r.user_id for r in requests)
        groups = {
            g.groupID: g
            for g in await self._groups_pb(await self._store.get_groups(list({r.group_id for r in requests})))
        }
        return [request_to_pb(r, users.get(r.user_id), groups.get(r.group_id)) for r in requests]

    async def applications_received(
        self,
        op: Operator,
        user_id: str,
        group_ids: Sequence[str],
        handle_results: Sequence[int],
        pagination: sdkws_pb2.RequestPagination,
    ) -> tuple[int, list[sdkws_pb2.GroupRequest]]:
        """Applications to the groups ``user_id`` owns or administers (or to the listed ones, which he
        must administer)."""
        offset, limit = offset_of(pagination)
        managed = await self._store.get_joined_group_ids(user_id, min_role=RoleLevel.ADMIN)
        if group_ids:
            outside = [g for g in group_ids if g not in managed]
            if outside and not op.is_admin:
                raise no_permission(f"{user_id} does not administer group {outside[0]}")
            managed = list(dict.fromkeys(group_ids))
        total, rows = await self._store.get_group_requests(
            group_ids=managed, handle_results=list(handle_results) or None, offset=offset, limit=limit
        )
        return total, await self._requests_pb(rows)

    async def applications_made(
        self,
        user_id: str,
        group_ids: Sequence[str],
        handle_results: Sequence[int],
        pagination: sdkws_pb2.RequestPagination,
    ) -> tuple[int, list[sdkws_pb2.GroupRequest]]:
        offset, limit = offset_of(pagination)
        total, rows = await self._store.get_group_requests(
            group_ids=list(group_ids) or None,
            user_ids=[user_id],
            handle_results=list(handle_results) or None,
            offset=offset,
            limit=limit,
        )
        return total, await self._requests_pb(rows)

    async def requests_of(
        self, op: Operator, group_id: str, user_ids: Sequence[str]
    ) -> tuple[int, list[sdkws_pb2.GroupRequest]]:
        """get_specified_user_group_request_info (one user) and get_group_users_req_application_list:
        a user reads his own request; the group's owner/admins (or an app admin) read anyone's."""
        if not group_id:
            raise args_error("groupID is empty")
        if not user_ids or any(not u for u in user_ids):
            raise args_error("userID is empty")
        await self._dir.group(group_id)
        if list(user_ids) != [op.user_id] and not op.is_admin:
            me = (await self._dir.member_list(group_id)).by_id.get(op.user_id)
            if me is None or me.role_level < RoleLevel.ADMIN:
                raise no_permission("only the group owner or an admin reads others' applications")
        total, rows = await self._store.get_group_requests(group_ids=[group_id], user_ids=list(user_ids))
        return total, await self._requests_pb(rows)

    async def respond(
        self, op: Operator, group_id: str, applicant: str, handled_msg: str, result: int, operation_id: str
    ) -> None:
        """group_application_response: accept (1) lets the applicant in and tells everyone, refuse (-1)
        tells the applicant and the managers."""
        if not group_id or not applicant:
            raise args_error("groupID and fromUserID are required")
        if result not in (HandleResult.ACCEPTED, HandleResult.REFUSED):
            raise args_error("handleResult must be 1 or -1")
        check_fields({"handle_msg": handled_msg})
        await self._manager(op, group_id)
        group = await self._live_group(group_id)
        _, found = await self._store.get_group_requests(group_ids=[group_id], user_ids=[applicant])
        if not found:
            raise not_found(f"no application of {applicant} to {group_id}")
        if found[0].handle_result != HandleResult.PENDING:
            raise OpenIMError(ErrCode.GROUP_REQUEST_HANDLED, "the application was handled already")
        now = now_ms()
        if not await self._store.handle_group_request(
            group_id, applicant, handle_result=result, handle_msg=handled_msg, handle_user_id=op.user_id, now_ms=now
        ):
            raise OpenIMError(ErrCode.GROUP_REQUEST_HANDLED, "the application was handled already")
        request = found[0]
        handled = GroupRequestRecord(
            request.group_id,
            request.user_id,
            result,
            request.req_msg,
            handled_msg,
            request.req_time,
            op.user_id,
            now,
            request.join_source,
            request.inviter_user_id,
            request.ex,
        )
        added: list[str] = []
        version: VersionLog | None = None
        if result == HandleResult.ACCEPTED:
            entrant = GroupMemberRecord(
                group_id,
                applicant,
                join_time=now,
                join_source=request.join_source,
                operator_user_id=op.user_id,
                inviter_user_id=request.inviter_user_id,
                ex=request.ex,
            )
            added, version = await self._store.add_group_members(group_id, [entrant])
        group, members = await self._dir.fresh(group_id)
        info = group_to_pb(group, len(members.members))
        op_pb = await self._op_member(op, group_id, members)
        request_pb = (await self._requests_pb([handled]))[0]
        kind = (
            ContentType.GROUP_APPLICATION_ACCEPTED
            if result == HandleResult.ACCEPTED
            else ContentType.GROUP_APPLICATION_REJECTED
        )
        tips_cls = (
            sdkws_pb2.GroupApplicationAcceptedTips
            if result == HandleResult.ACCEPTED
            else sdkws_pb2.GroupApplicationRejectedTips
        )
        uuid = f"{group_id}-{applicant}-{request.req_time}"
        managers = [m for m in members.managers() if m != applicant]
        for receiver_as, recipients in ((1, managers), (0, [applicant])):
            tips = tips_cls(
                group=info, opUser=op_pb, handleMsg=handled_msg, receiverAs=receiver_as, uuid=uuid, request=request_pb
            )
            await self._tell_users(kind, tips, op.user_id, recipients, operation_id)
        if added and version is not None:
            await self._announce_entry(
                op, group_id, added, version, inviter=request.inviter_user_id, operation_id=operation_id
            )

    # =============================================================================================
    # Incremental sync (openim.services.versioning)
    # =============================================================================================
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
        resp = group_pb2.GetFullJoinGroupIDsResp(version=current.version, versionID=current.version_id)
        if client_hash == id_hash(ids):
            resp.equal = True
        else:
            resp.groupIDs.extend(ids)
        return resp

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
        resp = group_pb2.GetFullGroupMemberUserIDsResp(version=current.version, versionID=current.version_id)
        if client_hash == id_hash(ids):
            resp.equal = True
        else:
            resp.userIDs.extend(ids)
        return resp

    # -- set_group_info(_ex) requests: which wire field sets which GroupRecord attribute ---------------
    _INFO_FIELDS: Final = {
        "groupName": "group_name",
        "notification": "notification",
        "introduction": "introduction",
        "faceURL": "face_url",
        "ex": "ex",
        "needVerification": "need_verification",
        "lookMemberInfo": "look_member_info",
        "applyMemberFriend": "apply_member_friend",
    }

    async def set_group_info_ex(self, op: Operator, req: group_pb2.SetGroupInfoExReq, operation_id: str) -> None:
        """/group/set_group_info_ex: the wrappers that are present set their field."""
        changes = {attr: getattr(req, name).value for name, attr in self._INFO_FIELDS.items() if req.HasField(name)}
        await self.set_group_info(op, req.groupID, changes, operation_id)

    async def set_group_info_legacy(self, op: Operator, info: sdkws_pb2.GroupInfoForSet, operation_id: str) -> None:
        """/group/set_group_info: empty strings mean "unchanged"; the wrappers mean what they say."""
        changes: dict[str, Any] = {}
        for name in ("groupName", "notification", "introduction", "faceURL"):
            if getattr(info, name):
                changes[self._INFO_FIELDS[name]] = getattr(info, name)
        for name in ("ex", "needVerification", "lookMemberInfo", "applyMemberFriend"):
            if info.HasField(name):
                changes[self._INFO_FIELDS[name]] = getattr(info, name).value
        await self.set_group_info(op, info.groupID, changes, operation_id)
