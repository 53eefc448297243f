"""Friends, friend requests and blacklists: OpenIM's relation service (its /friend routes, sync and notifications).

Friendship is directional, as in OpenIM: a row (owner, friend) puts ``friend`` in ``owner``'s list.
Accepting a request makes both rows, deleting a friend removes only the caller's row. Every row change
lands in the owner's friend version log (kind FRIEND, d_id = owner, e_id = friend) in the same
transaction as the row (see openim.storage.relations.queries), so ``get_incremental_friends`` can
bring an offline client up to date; the read rule and ``idHash`` are those every versioned list shares
(openim.services.versioning: plan_incremental, id_hash).

After each change the service sends the 12xx notification OpenIM sends, carrying the request's
operationID. Notifications are online pushes only (not stored): a failed push is logged, never returned
to the caller, because the change is committed and clients converge through incremental sync.

The send path asks :meth:`RelationService.check_single_send` about every single-chat message. It reads the
recipient's blacklist (and, under friend_verify, friend list) once and keeps it, so a chat does not cost a
SQL read per message: every change here drops the recipient's entry at once and, in a cluster, in every
other process (openim.cluster.coherence); ``SEND_CACHE_TTL_S`` only bounds an invalidation lost with Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from google.protobuf.message import Message

from openim.clock import now_ms
from openim.config import MessagingConfig
from openim.ops.logging import get_log
from openim.pipeline.msg import SendService
from openim.services.conversations import user_to_pb
from openim.services.field_limits import check_fields
from openim.services.notify import Notifier
from openim.services.relation_rules import RelationRules
from openim.services.service_base import ServiceBase
from openim.services.users import UserService
from openim.services.versioning import full_ids, page_window, plan_incremental
from openim.services.wrappers import wrapped_patch
from openim.storage.messages.records import UserRecord, VersionKind, VersionLog, VersionState
from openim.storage.port import Store
from openim.storage.relations.records import (
    FRIEND_SORT_MARKER,
    AddSource,
    BlackRecord,
    FriendPatch,
    FriendRecord,
    FriendRequestRecord,
    FriendsAdded,
    HandleResult,
)
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode, OpenIMError, args_error, not_found
from openim.wire.pb import relation_pb2, sdkws_pb2

if TYPE_CHECKING:
    from openim.webhooks.dispatcher import Webhooks

log = get_log("relations")

MAX_IMPORT = 1000  # friendUserIDs per import_friend (OpenIM's limit)
MAX_LOOKUP = 1000  # IDs per designated / specified lookup

__all__ = ["FRIEND_SORT_MARKER", "MAX_IMPORT", "MAX_LOOKUP", "RelationService"]


def distinct_ids(ids: Sequence[str], name: str, *, limit: int = MAX_LOOKUP) -> list[str]:
    """OpenIM's list validators: no empty ID, no duplicate (1001), and a bound on the size."""
    if any(not i for i in ids):
        raise args_error(f"{name} holds an empty userID")
    if len(set(ids)) != len(ids):
        raise args_error(f"{name} repeated")
    if len(ids) > limit:
        raise args_error(f"{name}: at most {limit} userIDs per request")
    return list(ids)


# -- records -> wire ----------------------------------------------------------------------------------


def _user_info(user_id: str, users: Mapping[str, UserRecord]) -> sdkws_pb2.UserInfo:
    """The friend's profile inside FriendInfo: OpenIM fills these four fields and leaves the rest zero."""
    user = users.get(user_id)
    if user is None:
        return sdkws_pb2.UserInfo(userID=user_id)
    return sdkws_pb2.UserInfo(userID=user_id, nickname=user.nickname, faceURL=user.face_url, ex=user.ex)


def friend_info(row: FriendRecord, users: Mapping[str, UserRecord], *, ms: bool = False) -> sdkws_pb2.FriendInfo:
    """FriendInfo as the lists and the incremental sync send it: createTime in SECONDS (OpenIM's
    convert), unless ``ms`` (get_specified_friends_info uses milliseconds)."""
    return sdkws_pb2.FriendInfo(
        ownerUserID=row.owner_user_id,
        remark=row.remark,
        createTime=row.create_time if ms else row.create_time // 1000,
        friendUser=_user_info(row.friend_user_id, users),
        addSource=row.add_source,
        operatorUserID=row.operator_user_id,
        ex=row.ex,
        isPinned=row.is_pinned,
    )


def black_info(row: BlackRecord, users: Mapping[str, UserRecord], *, ms: bool) -> sdkws_pb2.BlackInfo:
    """BlackInfo: createTime in seconds in get_black_list, in milliseconds in get_specified_blacks."""
    user = users.get(row.block_user_id)
    public = sdkws_pb2.PublicUserInfo(userID=row.block_user_id)
    if user is not None:
        public = sdkws_pb2.PublicUserInfo(
            userID=user.user_id, nickname=user.nickname, faceURL=user.face_url, ex=user.ex
        )
    return sdkws_pb2.BlackInfo(
        ownerUserID=row.owner_user_id,
        createTime=row.create_time if ms else row.create_time // 1000,
        blackUserInfo=public,
        addSource=row.add_source,
        operatorUserID=row.operator_user_id,
        ex=row.ex,
    )


def request_info(row: FriendRequestRecord, users: Mapping[str, UserRecord]) -> sdkws_pb2.FriendRequest:
    sender, receiver = users.get(row.from_user_id), users.get(row.to_user_id)
    return sdkws_pb2.FriendRequest(
        fromUserID=row.from_user_id,
        fromNickname=sender.nickname if sender else "",
        fromFaceURL=sender.face_url if sender else "",
        toUserID=row.to_user_id,
        toNickname=receiver.nickname if receiver else "",
        toFaceURL=receiver.face_url if receiver else "",
        handleResult=row.handle_result,
        reqMsg=row.req_msg,
        createTime=row.create_time,
        handlerUserID=row.handler_user_id,
        handleMsg=row.handle_msg,
        handleTime=row.handle_time,
        ex=row.ex,
    )


def _pair_tips(tips_type: Callable[..., Message], owner: str, friend: str, version: VersionLog) -> Message:
    """A tips message about the pair ``owner`` -> ``friend`` with the owner's friend-list version after the
    change (FriendDeletedTips, FriendInfoChangedTips, FriendApplicationApprovedTips)."""
    return tips_type(
        fromToUserID=sdkws_pb2.FromToUserID(fromUserID=owner, toUserID=friend),
        friendVersion=version.version,
        friendVersionID=version.version_id,
    )


def split_sort_marker(current: VersionLog) -> tuple[VersionLog, int]:
    """Take the sort marker out of a friend log read: its version becomes ``sortVersion`` and it does
    not count toward the 200-change limit (OpenIM strips it before building the answer)."""
    marker = [e.version for e in current.entries if e.e_id == FRIEND_SORT_MARKER]
    if not marker:
        return current, 0
    return replace(current, entries=[e for e in current.entries if e.e_id != FRIEND_SORT_MARKER]), max(marker)


class RelationService(ServiceBase):
    _log = log

    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        send: SendService,
        users: UserService,
        messaging: MessagingConfig,
        *,
        rules: RelationRules | None = None,
        webhooks: Webhooks | None = None,
    ) -> None:
        super().__init__(store, notifier, send, users, webhooks)  # webhooks: OpenIM's friend callbacks
        self._messaging = messaging
        self._rules = rules if rules is not None else RelationRules(store, messaging)

    @property
    def rules(self) -> RelationRules:
        """The cached lists the send path checks; this service drops an owner's when it changes them."""
        return self._rules

    # -- helpers ------------------------------------------------------------------------------------
    async def _require_users(self, *ids: str) -> dict[str, UserRecord]:
        found = await self._users_by_id(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise not_found(f"user {missing[0]} not found")
        return found

    async def _friend_log(self, owner: str) -> VersionLog:
        return await self._store.get_version_log(VersionKind.FRIEND, owner)

    # -- requests -----------------------------------------------------------------------------------
    async def apply(self, from_id: str, to_id: str, req_msg: str, ex: str, *, operation_id: str) -> None:
        """add_friend: store (or renew) the request and tell the target with 1203."""
        if from_id == to_id:
            raise OpenIMError(ErrCode.CAN_NOT_ADD_YOURSELF, "cannot add yourself as a friend")
        check_fields({"req_msg": req_msg, "ex": ex})
        users = await self._require_users(from_id, to_id)
        in_from, in_to = await self.is_friend(from_id, to_id)
        if in_from and in_to:
            raise OpenIMError(ErrCode.RELATIONSHIP_ALREADY, f"{from_id} and {to_id} are friends already")
        hook = {"fromUserID": from_id, "toUserID": to_id, "reqMsg": req_msg, "ex": ex}
        if self.webhooks is not None:
            await self.webhooks.before("beforeAddFriend", hook, operation_id=operation_id)
        request = FriendRequestRecord(from_id, to_id, int(HandleResult.PENDING), req_msg, now_ms(), ex=ex)
        await self._store.upsert_friend_request(request)
        if self.webhooks is not None:
            self.webhooks.after("afterAddFriend", hook, operation_id=operation_id)
        tips = sdkws_pb2.FriendApplicationTips(
            fromToUserID=sdkws_pb2.FromToUserID(fromUserID=from_id, toUserID=to_id),
            request=request_info(request, users),
        )
        await self._tell(ContentType.FRIEND_APPLICATION, tips, from_id, to_id, operation_id)

    async def respond(
        self, from_id: str, to_id: str, handle_result: int, handle_msg: str, *, handler: str, operation_id: str
    ) -> None:
        """add_friend_response: ``to_id`` accepts (1) or refuses (-1) ``from_id``'s request."""
        if handle_result not in (HandleResult.AGREED, HandleResult.REFUSED):
            raise args_error("handleResult must be 1 (accept) or -1 (refuse)")
        check_fields({"handle_msg": handle_msg})
        pending = [
            r for r in await self._store.get_friend_requests_between(from_id, to_id) if r.from_user_id == from_id
        ]
        if not pending:
            raise not_found(f"no friend request from {from_id} to {to_id}")
        already = pending[0].handle_result != HandleResult.PENDING
        now = now_ms()
        users = await self._users_by_id((from_id, to_id))
        pair = sdkws_pb2.FromToUserID(fromUserID=from_id, toUserID=to_id)
        if handle_result == HandleResult.REFUSED:
            refused = (
                None
                if already
                else await self._store.refuse_friend_request(
                    from_id, to_id, handler_user_id=handler, handle_msg=handle_msg, now_ms=now
                )
            )
            if refused is None:
                raise OpenIMError(ErrCode.FRIEND_REQUEST_HANDLED, "the friend request has been processed")
            rejected = sdkws_pb2.FriendApplicationRejectedTips(
                fromToUserID=pair, handleMsg=handle_msg, request=request_info(refused, users)
            )
            await self._tell(ContentType.FRIEND_APPLICATION_REJECTED, rejected, to_id, from_id, operation_id)
            return
        hook = {"fromUserID": from_id, "blackUserID": to_id, "HandleResult": handle_result, "HandleMsg": handle_msg}
        if self.webhooks is not None and not already:
            await self.webhooks.before("beforeAddFriendAgree", hook, operation_id=operation_id)
        outcome = (
            None
            if already
            else await self._store.accept_friend_request(
                from_id,
                to_id,
                handler_user_id=handler,
                handle_msg=handle_msg,
                now_ms=now,
                add_source=int(AddSource.APPLICATION),
            )
        )
        if outcome is None:
            # OpenIM answers an accept of a handled request with 1001 (a refuse gets 1305).
            raise args_error("the friend request has been processed")
        self._rules.forget(from_id)
        self._rules.forget(to_id)
        version = outcome.added.versions.get(from_id) or await self._friend_log(from_id)
        approved = sdkws_pb2.FriendApplicationApprovedTips(
            fromToUserID=pair,
            handleMsg=handle_msg,
            friendVersion=version.version,
            friendVersionID=version.version_id,
            request=request_info(outcome.request, users),
        )
        await self._tell(ContentType.FRIEND_APPLICATION_APPROVED, approved, to_id, from_id, operation_id)
        await self._announce_added(outcome.added, operator=handler, operation_id=operation_id)
        if self.webhooks is not None:
            self.webhooks.after("afterAddFriendAgree", hook, operation_id=operation_id)

    async def _announce_added(self, added: FriendsAdded, *, operator: str, operation_id: str) -> None:
        """1204 FriendAdded to the owner of each new row (OpenIM defines it but HEAD does not send it).

        We send it because the JS SDK 0.0.14 never re-syncs its friend list on 1201 (its handler builds
        the sync call but does not invoke it), so without 1204 the applicant's SDK raises no
        OnFriendAdded and its friend-ID cache misses the new friend until the next login. The SDK's 1204
        handler syncs the friend log and adds ``friend.friendUser.userID`` to that cache. The operator's
        own row is announced operator -> operator, so his other devices learn it too (the calling one
        skips it: it already raised the event under the same operationID); every other row friend ->
        owner with senderSync off, so the friend's devices are not told about someone else's list.
        """
        if not added.inserted:
            return
        users = await self._users_by_id([operator, *(r.friend_user_id for r in added.inserted)])
        op_user = users.get(operator)
        public = sdkws_pb2.PublicUserInfo(userID=operator)
        if op_user is not None:
            public = sdkws_pb2.PublicUserInfo(
                userID=operator, nickname=op_user.nickname, faceURL=op_user.face_url, ex=op_user.ex
            )
        now = now_ms()
        for row in added.inserted:
            version = added.versions.get(row.owner_user_id) or await self._friend_log(row.owner_user_id)
            tips = sdkws_pb2.FriendAddedTips(
                friend=friend_info(row, users),
                operationTime=now,
                opUser=public,
                friendVersion=version.version,
                friendVersionID=version.version_id,
            )
            send_id = row.owner_user_id if row.owner_user_id == operator else row.friend_user_id
            await self._tell(
                ContentType.FRIEND_ADDED, tips, send_id, row.owner_user_id, operation_id, sender_sync=False
            )

    async def request_page(
        self, user_id: str, *, received: bool, handle_results: Sequence[int], pagination: sdkws_pb2.RequestPagination
    ) -> tuple[int, list[sdkws_pb2.FriendRequest]]:
        offset, limit = page_window(pagination)
        total, rows = await self._store.page_friend_requests(
            user_id, received=received, handle_results=handle_results, offset=offset, limit=limit
        )
        users = await self._users_by_id(i for r in rows for i in (r.from_user_id, r.to_user_id))
        return total, [request_info(r, users) for r in rows]

    async def pending_request_count(self, user_id: str, since_ms: int) -> int:
        """Friend requests to ``user_id`` still unanswered (made after ``since_ms``; 0 = all): the badge the
        SDK shows on its "new friends" entry."""
        if since_ms < 0:
            raise args_error("time must not be negative")
        return await self._store.count_pending_friend_requests(user_id, since_ms)

    async def requests_between(self, user_a: str, user_b: str) -> list[sdkws_pb2.FriendRequest]:
        rows = await self._store.get_friend_requests_between(user_a, user_b)
        users = await self._users_by_id((user_a, user_b))
        return [request_info(r, users) for r in rows]

    # -- friends ------------------------------------------------------------------------------------
    async def is_friend(self, user_1: str, user_2: str) -> tuple[bool, bool]:
        """(user_2 is in user_1's list, user_1 is in user_2's list)."""
        in_1 = bool(await self._store.get_friends(user_1, [user_2]))
        in_2 = bool(await self._store.get_friends(user_2, [user_1]))
        return in_1, in_2

    async def delete(self, owner: str, friend: str, *, operation_id: str) -> None:
        """delete_friend: only the owner's row goes (the friend keeps the owner in his list)."""
        version = await self._store.delete_friend(owner, friend)
        if version is None:
            raise not_found(f"{friend} is not a friend of {owner}")
        self._rules.forget(owner)
        if self.webhooks is not None:
            self.webhooks.after(
                "afterDeleteFriend", {"ownerUserID": owner, "friendUserID": friend}, operation_id=operation_id
            )
        tips = _pair_tips(sdkws_pb2.FriendDeletedTips, owner, friend, version)
        await self._tell(ContentType.FRIEND_DELETED, tips, owner, friend, operation_id)

    async def friend_page(
        self, owner: str, pagination: sdkws_pb2.RequestPagination
    ) -> tuple[int, list[sdkws_pb2.FriendInfo]]:
        offset, limit = page_window(pagination)
        total, rows = await self._store.page_friends(owner, offset=offset, limit=limit)
        return total, await self._friend_infos(rows)

    async def designated(self, owner: str, friend_ids: Sequence[str]) -> list[sdkws_pb2.FriendInfo]:
        return await self._friend_infos(await self._store.get_friends(owner, friend_ids))

    async def _friend_infos(self, rows: Sequence[FriendRecord], *, ms: bool = False) -> list[sdkws_pb2.FriendInfo]:
        users = await self._users_by_id(r.friend_user_id for r in rows)
        return [friend_info(r, users, ms=ms) for r in rows]

    async def friend_ids(self, owner: str) -> list[str]:
        return await self._store.get_friend_ids(owner)

    async def update_friends(
        self, owner: str, friend_ids: Sequence[str], patch: FriendPatch, *, operation_id: str
    ) -> None:
        """update_friends: set remark / pin / ex on several friends; 1210 to the owner's devices."""
        check_fields(patch.changed())
        found = {r.friend_user_id for r in await self._store.get_friends(owner, friend_ids)}
        missing = [f for f in friend_ids if f not in found]
        if missing:
            raise not_found(f"{missing[0]} is not a friend of {owner}")
        if not patch.changed():
            return
        version = await self._store.update_friends(owner, friend_ids, patch)
        if version is None:  # deleted in between: nothing changed, nothing to announce
            return
        tips = sdkws_pb2.FriendsInfoUpdateTips(
            fromToUserID=sdkws_pb2.FromToUserID(toUserID=owner),
            friendIDs=list(friend_ids),
            friendVersion=version.version,
            friendVersionID=version.version_id,
        )
        await self._tell(ContentType.FRIENDS_INFO_UPDATE, tips, owner, owner, operation_id)

    async def set_remark(self, owner: str, friend: str, remark: str, *, operation_id: str) -> None:
        """set_friend_remark: 1206 owner -> friend, with the owner's log version after the change."""
        if self.webhooks is not None:
            hook = {"ownerUserID": owner, "friendUserID": friend, "remark": remark}
            answer = await self.webhooks.before("beforeSetFriendRemark", hook, operation_id=operation_id)
            if answer is not None and isinstance(answer.changed("remark"), str):
                remark = answer.changed("remark")
        check_fields({"remark": remark})
        version = await self._store.update_friends(owner, [friend], FriendPatch(remark=remark))
        if version is None:
            raise not_found(f"{friend} is not a friend of {owner}")
        tips = _pair_tips(sdkws_pb2.FriendInfoChangedTips, owner, friend, version)
        await self._tell(ContentType.FRIEND_REMARK_SET, tips, owner, friend, operation_id)
        if self.webhooks is not None:
            hook = {"ownerUserID": owner, "friendUserID": friend, "remark": remark}
            self.webhooks.after("afterSetFriendRemark", hook, operation_id=operation_id)

    async def import_friends(self, owner: str, friend_ids: Sequence[str], *, operator: str, operation_id: str) -> None:
        """import_friend (admin): mutual friendships without requests; 1201 friend -> owner for each
        friend that a row was created for (request null)."""
        if owner in friend_ids:
            raise OpenIMError(ErrCode.CAN_NOT_ADD_YOURSELF, "cannot import the owner as his own friend")
        await self._require_users(owner, *friend_ids)
        if self.webhooks is not None:
            hook = {"ownerUserID": owner, "friendUserIDs": list(friend_ids)}
            answer = await self.webhooks.before("beforeImportFriends", hook, operation_id=operation_id)
            changed = answer.changed("friendUserIDs") if answer is not None else None
            if isinstance(changed, list) and all(isinstance(f, str) and f != owner for f in changed):
                friend_ids = [f for f in changed if f in friend_ids]  # narrowing only: never someone unchecked
        now = now_ms()
        rows: list[FriendRecord] = []
        for friend in friend_ids:
            for a, b in ((owner, friend), (friend, owner)):
                rows.append(
                    FriendRecord(a, b, create_time=now, add_source=int(AddSource.IMPORTED), operator_user_id=operator)
                )
        added = await self._store.add_friends(rows)
        if self.webhooks is not None:
            hook = {"ownerUserID": owner, "friendUserIDs": list(friend_ids)}
            self.webhooks.after("afterImportFriends", hook, operation_id=operation_id)
        touched: list[str] = []
        for row in added.inserted:
            self._rules.forget(row.owner_user_id)
            other = row.friend_user_id if row.owner_user_id == owner else row.owner_user_id
            if other not in touched:
                touched.append(other)
        if not touched:
            return
        version = added.versions.get(owner) or await self._friend_log(owner)
        await self._announce_added(added, operator=operator, operation_id=operation_id)
        for friend in touched:
            tips = _pair_tips(sdkws_pb2.FriendApplicationApprovedTips, owner, friend, version)
            await self._tell(ContentType.FRIEND_APPLICATION_APPROVED, tips, friend, owner, operation_id)

    async def specified_info(
        self, owner: str, user_ids: Sequence[str]
    ) -> list[relation_pb2.getSpecifiedFriendsInfoInfo]:
        """get_specified_friends_info: for each registered user, the profile plus the owner's friend and
        black rows about him (null when absent); times in milliseconds here."""
        users = await self._users_by_id(user_ids)
        friends = {r.friend_user_id: r for r in await self._store.get_friends(owner, user_ids)}
        blacks = {r.block_user_id: r for r in await self._store.get_blacks(owner, user_ids)}
        out: list[relation_pb2.getSpecifiedFriendsInfoInfo] = []
        for uid in user_ids:
            user = users.get(uid)
            if user is None:
                continue
            item = relation_pb2.getSpecifiedFriendsInfoInfo(userInfo=user_to_pb(user))
            if uid in friends:
                item.friendInfo.CopyFrom(friend_info(friends[uid], users, ms=True))
            if uid in blacks:
                item.blackInfo.CopyFrom(black_info(blacks[uid], users, ms=True))
            out.append(item)
        return out

    # -- incremental sync ---------------------------------------------------------------------------
    async def incremental(self, owner: str, version_id: str, version: int) -> relation_pb2.getIncrementalFriendsResp:
        """get_incremental_friends: the version-log read rule (openim.services.versioning) over the owner's friend
        log; the sort marker becomes ``sortVersion``; inserted and updated friends re-read as they are
        now (one deleted since its entry simply drops out: its delete entry comes next time)."""
        current = await self._store.get_version_log(VersionKind.FRIEND, owner, since=version if version > 0 else None)
        current, sort_version = split_sort_marker(current)
        plan = plan_incremental(current, version_id, version)
        resp = relation_pb2.getIncrementalFriendsResp(
            version=plan.version, versionID=plan.version_id, full=plan.full, sortVersion=sort_version
        )
        resp.delete.extend(plan.delete_ids)
        wanted = plan.insert_ids + plan.update_ids
        if wanted:
            rows = {r.friend_user_id: r for r in await self._store.get_friends(owner, wanted)}
            users = await self._users_by_id(rows)
            resp.insert.extend(friend_info(rows[f], users) for f in plan.insert_ids if f in rows)
            resp.update.extend(friend_info(rows[f], users) for f in plan.update_ids if f in rows)
        return resp

    async def full_ids(self, owner: str, client_hash: int) -> relation_pb2.getFullFriendUserIDsResp:
        """get_full_friend_user_ids. The header is read before the IDs, so the list is never older than
        the version handed out with it (a later incremental call may repeat a change, never miss one)."""
        current = await self._friend_log(owner)
        ids = await self._store.get_friend_ids(owner)
        equal, listed = full_ids(ids, client_hash)
        return relation_pb2.getFullFriendUserIDsResp(
            version=current.version, versionID=current.version_id, equal=equal, userIDs=listed
        )

    async def profile_changed(self, user_id: str, *, operation_id: str) -> None:
        """A nickname or face URL changed: an update entry in the friend log of everyone who has the user
        as a friend, and 1209 to each of them. The user's own devices are left out (senderSync off):
        they learn of their own change from 1303, not once per friend."""
        for owner in await self._store.get_friend_owners(user_id):
            await self._store.bump_version(VersionKind.FRIEND, owner, [user_id], VersionState.UPDATE)
            tips = sdkws_pb2.UserInfoUpdatedTips(userID=user_id)  # what OpenIM sends as 1209
            await self._tell(ContentType.FRIEND_INFO_UPDATED, tips, user_id, owner, operation_id, sender_sync=False)

    # -- blacklists ---------------------------------------------------------------------------------
    async def add_black(self, owner: str, black: str, ex: str, *, operator: str, operation_id: str) -> None:
        """add_black: blocks single-chat messages from ``black`` to ``owner`` (1302); friendship stays."""
        if owner == black:
            raise args_error("cannot blacklist yourself")
        check_fields({"ex": ex})
        await self._require_users(owner, black)
        if self.webhooks is not None:
            hook = {"ownerUserID": owner, "blackUserID": black}
            await self.webhooks.before("beforeAddBlack", hook, operation_id=operation_id)
        record = BlackRecord(owner, black, now_ms(), operator_user_id=operator, ex=ex)
        if not await self._store.add_black(record):
            return  # blacklisted already: nothing changed, nothing to announce
        self._rules.forget(owner)
        tips = sdkws_pb2.BlackAddedTips(fromToUserID=sdkws_pb2.FromToUserID(fromUserID=owner, toUserID=black))
        await self._tell(ContentType.BLACK_ADDED, tips, owner, black, operation_id)

    async def remove_black(self, owner: str, black: str, *, operation_id: str) -> None:
        if not await self._store.remove_black(owner, black):
            return
        self._rules.forget(owner)
        if self.webhooks is not None:
            hook = {"ownerUserID": owner, "blackUserID": black}
            self.webhooks.after("afterRemoveBlack", hook, operation_id=operation_id)
        tips = sdkws_pb2.BlackDeletedTips(fromToUserID=sdkws_pb2.FromToUserID(fromUserID=owner, toUserID=black))
        await self._tell(ContentType.BLACK_DELETED, tips, owner, black, operation_id)

    async def incremental_blacks(
        self, owner: str, version_id: str, version: int
    ) -> relation_pb2.getIncrementalBlacksResp:
        """get_incremental_blacks: the version-log read rule over the owner's blacklist log (BLACK, written
        with every add and remove); inserted entries re-read as they are now, createTime in seconds as in
        get_black_list. A list blacklisted before the log existed has no entries for those users: a
        client without a valid version gets ``full`` and reloads through get_black_list."""
        current = await self._store.get_version_log(VersionKind.BLACK, owner, since=version if version > 0 else None)
        plan = plan_incremental(current, version_id, version)
        resp = relation_pb2.getIncrementalBlacksResp(version=plan.version, versionID=plan.version_id, full=plan.full)
        resp.delete.extend(plan.delete_ids)
        wanted = plan.insert_ids + plan.update_ids
        if wanted:
            rows = {r.block_user_id: r for r in await self._store.get_blacks(owner, wanted)}
            users = await self._users_by_id(rows)
            resp.insert.extend(black_info(rows[b], users, ms=False) for b in plan.insert_ids if b in rows)
            resp.update.extend(black_info(rows[b], users, ms=False) for b in plan.update_ids if b in rows)
        return resp

    async def black_page(
        self, owner: str, pagination: sdkws_pb2.RequestPagination
    ) -> tuple[int, list[sdkws_pb2.BlackInfo]]:
        offset, limit = page_window(pagination)
        total, rows = await self._store.page_blacks(owner, offset=offset, limit=limit)
        users = await self._users_by_id(r.block_user_id for r in rows)
        return total, [black_info(r, users, ms=False) for r in rows]

    async def specified_blacks(self, owner: str, user_ids: Sequence[str]) -> list[sdkws_pb2.BlackInfo]:
        rows = await self._store.get_blacks(owner, user_ids)
        users = await self._users_by_id(r.block_user_id for r in rows)
        return [black_info(r, users, ms=True) for r in rows]

    async def update_friend_fields(
        self, owner: str, friend_ids: Sequence[str], req: relation_pb2.updateFriendsReq, *, operation_id: str
    ) -> None:
        """update_friends with /friend/update_friends' wrapper fields: absent or null leaves one unchanged."""
        patch = wrapped_patch(FriendPatch, req, {"remark": "remark", "isPinned": "is_pinned", "ex": "ex"})
        await self.update_friends(owner, friend_ids, patch, operation_id=operation_id)
