"""How the group service tells clients what changed (OpenIM's notification.go): the 15xx notifications to a
group's ``n_<groupID>`` stream or to single users, and the tips of an entry and of an application, which
more than one operation sends.

Each change is committed first, with its version-log entries, and the notification carries the member-log
version after it and the request's operationID; the ``isSendMsg`` kinds also leave a stored chat copy in
``sg_<groupID>``. A failed notification is logged, not returned: the change is committed and clients
converge through incremental sync (push is best effort, docs/architecture.md, invariant 4)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf.message import Message

from openim.clock import now_ms
from openim.services.groups.access import Operator
from openim.services.groups.base import GroupBase
from openim.services.groups.convert import group_to_pb, public_user, request_to_pb
from openim.services.groups.directory import MemberList
from openim.services.notify import tell
from openim.storage.groups.records import GroupMemberRecord, GroupRecord, GroupRequestRecord
from openim.storage.messages.records import UserRecord, VersionLog
from openim.wire.constants import ContentType, SessionType
from openim.wire.pb import sdkws_pb2

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


def member_version(version: VersionLog) -> dict[str, Any]:
    """The member-log version fields every group tips message carries."""
    return {"groupMemberVersion": version.version, "groupMemberVersionID": version.version_id}


class GroupNotifications(GroupBase):
    async def _tips_head(self, op: Operator, group_id: str) -> tuple[MemberList, dict[str, Any]]:
        """After a change: the members as committed now, and the fields its tips start with (the group
        with its member count, and the operator as a member)."""
        group, members = await self._dir.fresh(group_id)
        op_pb = await self._op_member(op, group_id, members)
        return members, {"group": group_to_pb(group, len(members.members)), "opUser": op_pb}

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
        await tell(
            self._notifier,
            self._log,
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

    async def _tell_users(
        self, content_type: ContentType, tips: Message, send_id: str, recv_ids: Iterable[str], operation_id: str
    ) -> None:
        """Single-chat notifications (1503, 1505, 1506) to each recipient; the sender's devices are not
        copied each time (one of the recipients is the sender when he should see it)."""
        for recv_id in dict.fromkeys(recv_ids):
            await self._tell(content_type, tips, send_id, recv_id, operation_id, sender_sync=False)

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
        users = await self._users_by_id(r.user_id for r in requests)
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
        vkw = member_version(version)
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
