"""/user/*: registration, profiles, lookups and online status.

Profile changes go through UserService, then drop the send path's cached copy of the user
(SendService.forget_user: global receive options take effect at once in this process) and announce
1303 UserInfoUpdated to the user's devices with the request's operationID.

When a nickname or face URL really changes, everyone who has the user as a friend gets an update entry
in his friend version log and 1209 FriendInfoUpdated (RelationService.profile_changed). Not done yet:
1516 GroupMemberInfoSet to every group where the member inherits the profile (the group milestone).

Online status comes from the bus presence map (connections the gateways registered). Status
subscriptions over REST (``subscribe_users_status``) are kept in this process's memory: the SDK
subscribes over WebSocket 2005 instead, so this list only serves admin tools talking to one API
process, and it is empty again after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openim.api.framework import Auth, Caller, Router
from openim.bus.port import PresenceEntry
from openim.node import Node
from openim.ops.logging import get_log
from openim.service_set import Services
from openim.services.conversations import user_to_pb
from openim.services.versioning import check_pagination
from openim.storage.messages.records import TokenState, UserRecord
from openim.wire.constants import ContentType
from openim.wire.errors import OpenIMError, args_error, no_permission
from openim.wire.pb import msggateway_pb2, sdkws_pb2
from openim.wire.pb import user_pb2 as pb

log = get_log("api.user")

ONLINE, OFFLINE = 1, 0
SUBSCRIBE, UNSUBSCRIBE = 1, 2
MAX_SUBSCRIPTIONS = 3000  # per subscriber: bounds the memory one user can make this process hold
MAX_LOOKUP = 1000  # user IDs per status / check request


def _distinct(ids: Sequence[str], name: str) -> list[str]:
    if len(set(ids)) != len(ids):
        raise args_error(f"{name} repeated")
    if any(not i for i in ids):
        raise args_error(f"{name} holds an empty userID")
    return list(ids)


def _bounded(ids: Sequence[str], name: str) -> list[str]:
    if len(ids) > MAX_LOOKUP:
        raise args_error(f"{name}: at most {MAX_LOOKUP} userIDs per request")
    return list(dict.fromkeys(ids))


def register(router: Router, node: Node, services: Services) -> None:
    users, notifier, relations = services.users, services.notifier, services.relations
    bus = node.bus
    subscriptions: dict[str, set[str]] = {}

    async def announce(caller: Caller, user_id: str) -> None:
        """Send 1303 op -> user (UserService dropped the send path's copy). The change is committed already, so a
        failed push is logged, not returned (the SDK re-reads the profile at its next sync)."""
        try:
            await notifier.notify(
                content_type=ContentType.USER_INFO_UPDATED,
                tips=sdkws_pb2.UserInfoUpdatedTips(userID=user_id),
                send_id=caller.user_id or user_id,
                recv_id=user_id,
                operation_id=caller.operation_id,
            )
        except OpenIMError as err:
            log.warning("notify.failed", user_id=user_id, error=str(err))

    async def update_profile(caller: Caller, user_id: str, changes: dict[str, Any]) -> None:
        """Apply ``changes``, announce 1303, and tell the user's friends (1209) when the nickname or face
        URL, which their friend lists show, actually changed."""
        shown = ("nickname", "face_url")
        before = await users.get_one(user_id) if any(k in changes for k in shown) else None
        after = await users.update(user_id, changes)
        await announce(caller, user_id)
        if before is not None and any(getattr(before, k) != getattr(after, k) for k in shown):
            await relations.profile_changed(user_id, operation_id=caller.operation_id)

    async def presence(user_ids: Sequence[str]) -> dict[str, list[PresenceEntry]]:
        return await bus.presence_get(list(user_ids)) if user_ids else {}

    async def status_list(user_ids: Sequence[str]) -> list[pb.onlineStatus]:
        live = await presence(user_ids)
        out = []
        for uid in user_ids:
            platforms = sorted({e.platform_id for e in live.get(uid, [])})
            out.append(pb.onlineStatus(userID=uid, status=ONLINE if platforms else OFFLINE, platformIDs=platforms))
        return out

    # -- registration and profiles ------------------------------------------------------------------
    @router.route("/user/user_register", pb.userRegisterReq, pb.userRegisterResp, auth=Auth.ADMIN)
    async def user_register(caller: Caller, req: pb.userRegisterReq) -> None:
        await users.register(
            [
                UserRecord(
                    user_id=u.userID,
                    nickname=u.nickname,
                    face_url=u.faceURL,
                    ex=u.ex,
                    app_manager_level=u.appMangerLevel,
                    global_recv_msg_opt=u.globalRecvMsgOpt,
                )
                for u in req.users
            ]
        )
        return None

    @router.route("/user/get_users_info", pb.getDesignateUsersReq, pb.getDesignateUsersResp)
    async def get_users_info(caller: Caller, req: pb.getDesignateUsersReq) -> pb.getDesignateUsersResp:
        # Go tells a missing list (1001) from an empty one (an empty answer).
        if not caller.sent("userIDs"):
            raise args_error("userIDs is empty")
        found = await users.get(_bounded(req.userIDs, "userIDs"))
        return pb.getDesignateUsersResp(usersInfo=[user_to_pb(u) for u in found])

    @router.route("/user/update_user_info_ex", pb.updateUserInfoExReq, pb.updateUserInfoExResp)
    async def update_user_info_ex(caller: Caller, req: pb.updateUserInfoExReq) -> None:
        """Absent or null wrappers leave a field unchanged. Sends 1303 to the user, and 1209 to his friends
        when the nickname or face URL changed; the group-member (1516) fan-out is not done yet."""
        if not req.HasField("userInfo"):
            raise args_error("userInfo is empty")
        info = req.userInfo
        if not info.userID:
            raise args_error("userInfo.userID is empty")
        caller.check_access(info.userID)
        changes: dict[str, Any] = {}
        if info.HasField("nickname"):
            if not info.nickname.value:
                raise args_error("userInfo.nickname is empty")
            changes["nickname"] = info.nickname.value
        if info.HasField("faceURL"):
            changes["face_url"] = info.faceURL.value
        if info.HasField("ex"):
            changes["ex"] = info.ex.value
        if info.HasField("globalRecvMsgOpt"):
            changes["global_recv_msg_opt"] = info.globalRecvMsgOpt.value
        await update_profile(caller, info.userID, changes)
        return None

    @router.route("/user/update_user_info", pb.updateUserInfoReq, pb.updateUserInfoResp)
    async def update_user_info(caller: Caller, req: pb.updateUserInfoReq) -> None:
        """The deprecated twin: plain fields, where a zero value means "unchanged" (OpenIM's rule)."""
        if not req.HasField("userInfo"):
            raise args_error("userInfo is empty")
        info = req.userInfo
        if not info.userID:
            raise args_error("userInfo.userID is empty")
        caller.check_access(info.userID)
        changes: dict[str, Any] = {}
        for attr, value in (("nickname", info.nickname), ("face_url", info.faceURL), ("ex", info.ex)):
            if value:
                changes[attr] = value
        if info.globalRecvMsgOpt:
            changes["global_recv_msg_opt"] = info.globalRecvMsgOpt
        if info.appMangerLevel:
            # OpenIM lets anyone raise their own level here; level >= 2 skips friend and blacklist checks,
            # so only an admin may change it (sending one's current level back stays harmless).
            current = await users.get_one(info.userID)
            if info.appMangerLevel != current.app_manager_level:
                if not caller.is_admin:
                    raise no_permission("only an app admin may change appMangerLevel")
                changes["app_manager_level"] = info.appMangerLevel
        await update_profile(caller, info.userID, changes)
        return None

    @router.route("/user/set_global_msg_recv_opt", pb.setGlobalRecvMessageOptReq, pb.setGlobalRecvMessageOptResp)
    async def set_global_msg_recv_opt(caller: Caller, req: pb.setGlobalRecvMessageOptReq) -> None:
        # OpenIM checks nothing here; we require the user's own token (or an admin's) like every other
        # per-user setting, since this one can silence all of a user's single chats.
        if not req.userID:
            raise args_error("userID is empty")
        caller.check_access(req.userID)
        if req.globalRecvMsgOpt not in (0, 1, 2):
            raise args_error("globalRecvMsgOpt must be 0, 1 or 2")
        await users.get_one(req.userID)
        await users.update(req.userID, {"global_recv_msg_opt": req.globalRecvMsgOpt})
        await announce(caller, req.userID)
        return None

    # -- lookups ------------------------------------------------------------------------------------
    @router.route("/user/get_users", pb.getPaginationUsersReq, pb.getPaginationUsersResp)
    async def get_users(caller: Caller, req: pb.getPaginationUsersReq) -> pb.getPaginationUsersResp:
        """Ordinary users only. OpenIM ORs a userID regex with a nickname regex; we match one
        case-insensitive substring against both, taking userID when both are given."""
        check_pagination(req.pagination)
        size = req.pagination.showNumber
        total, found = await users.page(
            offset=(req.pagination.pageNumber - 1) * size, limit=size, keyword=req.userID or req.nickName
        )
        return pb.getPaginationUsersResp(total=total, users=[user_to_pb(u) for u in found])

    @router.route("/user/get_all_users_uid", pb.getAllUserIDReq, pb.getAllUserIDResp)
    async def get_all_users_uid(caller: Caller, req: pb.getAllUserIDReq) -> pb.getAllUserIDResp:
        check_pagination(req.pagination)
        size = req.pagination.showNumber
        total, found = await node.store.list_users(offset=(req.pagination.pageNumber - 1) * size, limit=size)
        return pb.getAllUserIDResp(total=total, userIDs=[u.user_id for u in found])

    @router.route("/user/account_check", pb.accountCheckReq, pb.accountCheckResp, auth=Auth.ADMIN)
    async def account_check(caller: Caller, req: pb.accountCheckReq) -> pb.accountCheckResp:
        if not req.checkUserIDs:
            raise args_error("checkUserIDs is empty")
        ids = _distinct(req.checkUserIDs, "checkUserIDs")
        registered = {u.user_id for u in await users.get(_bounded(ids, "checkUserIDs"))}
        return pb.accountCheckResp(
            results=[
                pb.accountCheckResp.singleUserStatus(userID=uid, accountStatus=1 if uid in registered else 0)
                for uid in ids
            ]
        )

    # -- online status ------------------------------------------------------------------------------
    @router.route(
        "/user/get_users_online_status",
        msggateway_pb2.GetUsersOnlineStatusReq,
        msggateway_pb2.GetUsersOnlineStatusResp,
        auth=Auth.ADMIN,
        bind_400=True,
        data_field="successResult",
    )
    async def online_status(
        caller: Caller, req: msggateway_pb2.GetUsersOnlineStatusReq
    ) -> msggateway_pb2.GetUsersOnlineStatusResp:
        """One element per requested user. The connection's token and background flag are not part of
        the presence map, so ``token`` is "" and ``isBackground`` false."""
        ids = _bounded(req.userIDs, "userIDs")
        live = await presence(ids)
        resp = msggateway_pb2.GetUsersOnlineStatusResp()
        for uid in ids:
            conns = live.get(uid, [])
            item = resp.successResult.add(userID=uid, status=ONLINE if conns else OFFLINE)
            for e in conns:
                item.detailPlatformStatus.add(platformID=e.platform_id, connID=e.conn_id)
        return resp

    @router.route(
        "/user/get_users_online_token_detail",
        msggateway_pb2.GetUsersOnlineStatusReq,
        msggateway_pb2.GetUsersOnlineTokenDetailResp,
        auth=Auth.ADMIN,
        bind_400=True,
        data_field="successResult",
    )
    async def online_token_detail(
        caller: Caller, req: msggateway_pb2.GetUsersOnlineStatusReq
    ) -> msggateway_pb2.GetUsersOnlineTokenDetailResp:
        """Online users only: per online platform, the tokens of that platform still in force."""
        ids = _bounded(req.userIDs, "userIDs")
        live = await presence(ids)
        resp = msggateway_pb2.GetUsersOnlineTokenDetailResp()
        for uid in ids:
            platforms = sorted({e.platform_id for e in live.get(uid, [])})
            if not platforms:
                continue
            item = resp.successResult.add(userID=uid, status=ONLINE)
            records = await node.store.list_tokens(uid)
            for platform in platforms:
                valid = [t.token for t in records if t.platform_id == platform and t.state == TokenState.NORMAL]
                item.singlePlatformToken.add(platformID=platform, token=valid, total=len(valid))
        return resp

    @router.route("/user/get_users_status", pb.getUserStatusReq, pb.getUserStatusResp)
    async def users_status(caller: Caller, req: pb.getUserStatusReq) -> pb.getUserStatusResp:
        return pb.getUserStatusResp(statusList=await status_list(_bounded(req.userIDs, "userIDs")))

    @router.route(
        "/user/subscribe_users_status", pb.subscribeOrCancelUsersStatusReq, pb.subscribeOrCancelUsersStatusResp
    )
    async def subscribe(caller: Caller, req: pb.subscribeOrCancelUsersStatusReq) -> pb.subscribeOrCancelUsersStatusResp:
        if not req.userID:
            raise args_error("userID is empty")
        caller.check_access(req.userID)
        if req.genre not in (SUBSCRIBE, UNSUBSCRIBE):
            raise args_error("genre must be 1 (subscribe) or 2 (unsubscribe)")
        ids = _bounded(req.userIDs, "userIDs")
        if req.genre == UNSUBSCRIBE:
            watched = subscriptions.get(req.userID)
            if watched is not None:
                watched.difference_update(ids)
                if not watched:
                    del subscriptions[req.userID]
            return pb.subscribeOrCancelUsersStatusResp()
        watched = subscriptions.setdefault(req.userID, set())
        if len(watched | set(ids)) > MAX_SUBSCRIPTIONS:
            raise args_error(f"at most {MAX_SUBSCRIPTIONS} subscriptions per user")
        watched.update(ids)
        return pb.subscribeOrCancelUsersStatusResp(statusList=await status_list(ids))

    @router.route("/user/get_subscribe_users_status", pb.getSubscribeUsersStatusReq, pb.getSubscribeUsersStatusResp)
    async def subscribed(caller: Caller, req: pb.getSubscribeUsersStatusReq) -> pb.getSubscribeUsersStatusResp:
        if not req.userID:
            raise args_error("userID is empty")
        caller.check_access(req.userID)
        ids = sorted(subscriptions.get(req.userID, ()))
        return pb.getSubscribeUsersStatusResp(statusList=await status_list(ids))
