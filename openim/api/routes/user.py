"""/user/*: registration, profiles, lookups and online status.

Profile changes are ProfileService's (the write, 1303 UserInfoUpdated to the user's devices, 1209 to his
friends when what their lists show changed); online status and the REST status subscriptions are
PresenceService's. This module checks the request shape and CheckAccess, and maps fields.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import Message

from openim.api.framework import Auth, Caller, Router, RouteSpec, TypedHandler
from openim.node import Node
from openim.service_set import Services
from openim.services.conversations import user_to_pb
from openim.services.presence import PresenceService
from openim.services.profiles import ProfileService
from openim.services.users import UserService
from openim.services.versioning import check_pagination
from openim.storage.messages.records import UserRecord
from openim.wire.errors import args_error
from openim.wire.pb import msggateway_pb2, sdkws_pb2
from openim.wire.pb import user_pb2 as pb

SUBSCRIBE, UNSUBSCRIBE = 1, 2
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


def _offset(pagination: sdkws_pb2.RequestPagination) -> tuple[int, int]:
    """(offset, limit) of a checked page."""
    check_pagination(pagination)
    return (pagination.pageNumber - 1) * pagination.showNumber, pagination.showNumber


def _record(u: sdkws_pb2.UserInfo) -> UserRecord:
    return UserRecord(
        user_id=u.userID,
        nickname=u.nickname,
        face_url=u.faceURL,
        ex=u.ex,
        app_manager_level=u.appMangerLevel,
        global_recv_msg_opt=u.globalRecvMsgOpt,
    )


class UserRoutes:
    """The /user handlers, over the services they call."""

    def __init__(self, users: UserService, profiles: ProfileService, presence: PresenceService) -> None:
        self._users = users
        self._profiles = profiles
        self._presence = presence

    # -- registration and profiles ------------------------------------------------------------------
    async def user_register(self, caller: Caller, req: pb.userRegisterReq) -> None:
        await self._users.register([_record(u) for u in req.users], operation_id=caller.operation_id)

    async def get_users_info(self, caller: Caller, req: pb.getDesignateUsersReq) -> pb.getDesignateUsersResp:
        # Go tells a missing list (1001) from an empty one (an empty answer).
        if not caller.sent("userIDs"):
            raise args_error("userIDs is empty")
        found = await self._users.get(_bounded(req.userIDs, "userIDs"))
        return pb.getDesignateUsersResp(usersInfo=[user_to_pb(u) for u in found])

    async def update_user_info_ex(self, caller: Caller, req: pb.updateUserInfoExReq) -> None:
        """Absent or null wrappers leave a field unchanged. Sends 1303 to the user, and 1209 to his friends
        when the nickname or face URL changed; the group-member (1516) fan-out is not done yet."""
        _check_user_info(caller, req)
        await self._profiles.update_ex(req.userInfo, by=caller.user_id, operation_id=caller.operation_id)

    async def update_user_info(self, caller: Caller, req: pb.updateUserInfoReq) -> None:
        """The deprecated twin: plain fields, where a zero value means "unchanged" (OpenIM's rule)."""
        _check_user_info(caller, req)
        await self._profiles.update(
            req.userInfo, by=caller.user_id, by_admin=caller.is_admin, operation_id=caller.operation_id
        )

    async def set_global_msg_recv_opt(self, caller: Caller, req: pb.setGlobalRecvMessageOptReq) -> None:
        # OpenIM checks nothing here; we require the user's own token (or an admin's) like every other
        # per-user setting, since this one can silence all of a user's single chats.
        user_id = caller.acting_for(req.userID)
        await self._profiles.set_global_recv_opt(
            user_id, req.globalRecvMsgOpt, by=caller.user_id, operation_id=caller.operation_id
        )

    # -- lookups ------------------------------------------------------------------------------------
    async def get_users(self, caller: Caller, req: pb.getPaginationUsersReq) -> pb.getPaginationUsersResp:
        """Ordinary users only. OpenIM ORs a userID regex with a nickname regex; we match one
        case-insensitive substring against both, taking userID when both are given."""
        offset, limit = _offset(req.pagination)
        total, found = await self._users.page(offset=offset, limit=limit, keyword=req.userID or req.nickName)
        return pb.getPaginationUsersResp(total=total, users=[user_to_pb(u) for u in found])

    async def get_all_users_uid(self, caller: Caller, req: pb.getAllUserIDReq) -> pb.getAllUserIDResp:
        offset, limit = _offset(req.pagination)
        total, ids = await self._users.id_page(offset=offset, limit=limit)
        return pb.getAllUserIDResp(total=total, userIDs=ids)

    async def account_check(self, caller: Caller, req: pb.accountCheckReq) -> pb.accountCheckResp:
        if not req.checkUserIDs:
            raise args_error("checkUserIDs is empty")
        ids = _distinct(req.checkUserIDs, "checkUserIDs")
        registered = {u.user_id for u in await self._users.get(_bounded(ids, "checkUserIDs"))}
        return pb.accountCheckResp(
            results=[
                pb.accountCheckResp.singleUserStatus(userID=uid, accountStatus=1 if uid in registered else 0)
                for uid in ids
            ]
        )

    # -- online status ------------------------------------------------------------------------------
    async def online_status(
        self, caller: Caller, req: msggateway_pb2.GetUsersOnlineStatusReq
    ) -> msggateway_pb2.GetUsersOnlineStatusResp:
        return await self._presence.online_status(_bounded(req.userIDs, "userIDs"))

    async def online_token_detail(
        self, caller: Caller, req: msggateway_pb2.GetUsersOnlineStatusReq
    ) -> msggateway_pb2.GetUsersOnlineTokenDetailResp:
        return await self._presence.online_token_detail(_bounded(req.userIDs, "userIDs"))

    async def users_status(self, caller: Caller, req: pb.getUserStatusReq) -> pb.getUserStatusResp:
        return pb.getUserStatusResp(statusList=await self._presence.status_list(_bounded(req.userIDs, "userIDs")))

    async def subscribe(
        self, caller: Caller, req: pb.subscribeOrCancelUsersStatusReq
    ) -> pb.subscribeOrCancelUsersStatusResp:
        user_id = caller.acting_for(req.userID)
        if req.genre not in (SUBSCRIBE, UNSUBSCRIBE):
            raise args_error("genre must be 1 (subscribe) or 2 (unsubscribe)")
        ids = _bounded(req.userIDs, "userIDs")
        found = await self._presence.subscribe(user_id, ids, cancel=req.genre == UNSUBSCRIBE)
        return pb.subscribeOrCancelUsersStatusResp(statusList=found)

    async def subscribed(self, caller: Caller, req: pb.getSubscribeUsersStatusReq) -> pb.getSubscribeUsersStatusResp:
        user_id = caller.acting_for(req.userID)
        return pb.getSubscribeUsersStatusResp(statusList=await self._presence.subscribed_status(user_id))


def _check_user_info(caller: Caller, req: pb.updateUserInfoReq | pb.updateUserInfoExReq) -> None:
    """Both profile updates carry ``userInfo`` with the userID they act for (CheckAccess)."""
    if not req.HasField("userInfo"):
        raise args_error("userInfo is empty")
    caller.acting_for(req.userInfo.userID, "userInfo.userID")


def _online(
    path: str, resp_cls: type[Message], handler: TypedHandler[msggateway_pb2.GetUsersOnlineStatusReq]
) -> RouteSpec[msggateway_pb2.GetUsersOnlineStatusReq]:
    """The admins' online-status routes: gateway types, HTTP 400 when the body does not bind, and the
    answer's ``successResult`` array as ``data`` (OpenIM's msggateway routes)."""
    return RouteSpec(
        path,
        msggateway_pb2.GetUsersOnlineStatusReq,
        resp_cls,
        handler,
        auth=Auth.ADMIN,
        bind_400=True,
        data_field="successResult",
    )


def register(router: Router, node: Node, services: Services) -> None:
    h = UserRoutes(services.users, services.profiles, services.presence)
    router.add(
        RouteSpec("/user/user_register", pb.userRegisterReq, pb.userRegisterResp, h.user_register, auth=Auth.ADMIN),
        RouteSpec("/user/get_users_info", pb.getDesignateUsersReq, pb.getDesignateUsersResp, h.get_users_info),
        RouteSpec("/user/update_user_info_ex", pb.updateUserInfoExReq, pb.updateUserInfoExResp, h.update_user_info_ex),
        RouteSpec("/user/update_user_info", pb.updateUserInfoReq, pb.updateUserInfoResp, h.update_user_info),
        RouteSpec(
            "/user/set_global_msg_recv_opt",
            pb.setGlobalRecvMessageOptReq,
            pb.setGlobalRecvMessageOptResp,
            h.set_global_msg_recv_opt,
        ),
        RouteSpec("/user/get_users", pb.getPaginationUsersReq, pb.getPaginationUsersResp, h.get_users),
        RouteSpec("/user/get_all_users_uid", pb.getAllUserIDReq, pb.getAllUserIDResp, h.get_all_users_uid),
        RouteSpec("/user/account_check", pb.accountCheckReq, pb.accountCheckResp, h.account_check, auth=Auth.ADMIN),
        _online("/user/get_users_online_status", msggateway_pb2.GetUsersOnlineStatusResp, h.online_status),
        _online(
            "/user/get_users_online_token_detail", msggateway_pb2.GetUsersOnlineTokenDetailResp, h.online_token_detail
        ),
        RouteSpec("/user/get_users_status", pb.getUserStatusReq, pb.getUserStatusResp, h.users_status),
        RouteSpec(
            "/user/subscribe_users_status",
            pb.subscribeOrCancelUsersStatusReq,
            pb.subscribeOrCancelUsersStatusResp,
            h.subscribe,
        ),
        RouteSpec(
            "/user/get_subscribe_users_status",
            pb.getSubscribeUsersStatusReq,
            pb.getSubscribeUsersStatusResp,
            h.subscribed,
        ),
    )
