"""Applications to join a group (OpenIM's group.go, the request half): the lists received and made, one
user's requests, and the answer of an owner or admin, which lets the applicant in or tells him no."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from openim.clock import now_ms
from openim.services.field_limits import check_fields
from openim.services.groups.access import Operator
from openim.services.groups.convert import group_to_pb, request_to_pb
from openim.services.groups.notifications import GroupNotifications
from openim.services.versioning import page_window
from openim.storage.groups.records import GroupMemberRecord, GroupRequestRecord, HandleResult, RoleLevel
from openim.storage.messages.records import VersionLog
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode, OpenIMError, args_error, no_permission, not_found
from openim.wire.pb import sdkws_pb2


class GroupRequests(GroupNotifications):
    async def _requests_pb(self, requests: Sequence[GroupRequestRecord]) -> list[sdkws_pb2.GroupRequest]:
        users = await self._users_by_id(r.user_id for r in requests)
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
        offset, limit = page_window(pagination)
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
        offset, limit = page_window(pagination)
        total, rows = await self._store.get_group_requests(
            group_ids=list(group_ids) or None,
            user_ids=[user_id],
            handle_results=list(handle_results) or None,
            offset=offset,
            limit=limit,
        )
        return total, await self._requests_pb(rows)

    async def pending_count(self, user_id: str, since_ms: int) -> int:
        """Applications still unanswered to the groups ``user_id`` owns or administers (made after
        ``since_ms``; 0 = all): the badge on the SDK's "group notifications" entry."""
        if since_ms < 0:
            raise args_error("time must not be negative")
        return await self._store.count_pending_group_requests(user_id, RoleLevel.ADMIN, since_ms)

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
        tells the applicant and the managers. A request is answered once (1206 after that)."""
        if not group_id or not applicant:
            raise args_error("groupID and fromUserID are required")
        if result not in (HandleResult.ACCEPTED, HandleResult.REFUSED):
            raise args_error("handleResult must be 1 or -1")
        check_fields({"handle_msg": handled_msg})
        await self._manager(op, group_id)
        await self._live_group(group_id)
        _, found = await self._store.get_group_requests(group_ids=[group_id], user_ids=[applicant])
        if not found:
            raise not_found(f"no application of {applicant} to {group_id}")
        if found[0].handle_result != HandleResult.PENDING:
            raise OpenIMError(ErrCode.GROUP_REQUEST_HANDLED, "the application was handled already")
        now = now_ms()
        entrant: GroupMemberRecord | None = None
        if result == HandleResult.ACCEPTED:
            # Asked before the application is marked handled, so a refusal leaves it pending.
            request = found[0]
            entrant = GroupMemberRecord(
                group_id,
                applicant,
                join_time=now,
                join_source=request.join_source,
                operator_user_id=op.user_id,
                inviter_user_id=request.inviter_user_id,
                ex=request.ex,
            )
            group = await self._live_group(group_id)
            entrant = (await self._members_joining(group, [entrant], operation_id))[0]
        if not await self._store.handle_group_request(
            group_id, applicant, handle_result=result, handle_msg=handled_msg, handle_user_id=op.user_id, now_ms=now
        ):
            raise OpenIMError(ErrCode.GROUP_REQUEST_HANDLED, "the application was handled already")
        handled = replace(
            found[0], handle_result=result, handle_msg=handled_msg, handle_user_id=op.user_id, handle_time=now
        )
        added: list[str] = []
        version: VersionLog | None = None
        if entrant is not None:
            # The applicant of an accepted request becomes a member (joined when it was answered).
            added, version = await self._store.add_group_members(group_id, [entrant])
        await self._announce_response(op, handled, operation_id)
        if added and version is not None:
            await self._announce_entry(
                op, group_id, added, version, inviter=handled.inviter_user_id, operation_id=operation_id
            )

    async def _announce_response(self, op: Operator, handled: GroupRequestRecord, operation_id: str) -> None:
        """1505 (accepted) or 1506 (refused) to the managers (receiverAs 1) and to the applicant (0)."""
        group, members = await self._dir.fresh(handled.group_id)
        info = group_to_pb(group, len(members.members))
        op_pb = await self._op_member(op, handled.group_id, members)
        request_pb = (await self._requests_pb([handled]))[0]
        accepted = handled.handle_result == HandleResult.ACCEPTED
        kind = ContentType.GROUP_APPLICATION_ACCEPTED if accepted else ContentType.GROUP_APPLICATION_REJECTED
        tips_cls = sdkws_pb2.GroupApplicationAcceptedTips if accepted else sdkws_pb2.GroupApplicationRejectedTips
        uuid = f"{handled.group_id}-{handled.user_id}-{handled.req_time}"
        managers = [m for m in members.managers() if m != handled.user_id]
        for receiver_as, recipients in ((1, managers), (0, [handled.user_id])):
            tips = tips_cls(
                group=info,
                opUser=op_pb,
                handleMsg=handled.handle_msg,
                receiverAs=receiver_as,
                uuid=uuid,
                request=request_pb,
            )
            await self._tell_users(kind, tips, op.user_id, recipients, operation_id)
