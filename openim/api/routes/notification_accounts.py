"""/user/add_notification_account, update_notification_account, search_notification_account: the system
accounts that send notifications (NotificationAccountService). Admins only."""

from __future__ import annotations

from openim.api.framework import Auth, Caller, Router, RouteSpec
from openim.node import Node
from openim.service_set import Services
from openim.services.notification_accounts import NotificationAccountService
from openim.services.versioning import check_pagination
from openim.storage.messages.records import UserRecord
from openim.wire.pb import user_pb2 as pb


def _account(u: UserRecord) -> pb.notificationAccountInfo:
    return pb.notificationAccountInfo(
        userID=u.user_id, faceURL=u.face_url, nickName=u.nickname, appMangerLevel=u.app_manager_level
    )


class NotificationAccountRoutes:
    def __init__(self, accounts: NotificationAccountService) -> None:
        self._accounts = accounts

    async def add(self, caller: Caller, req: pb.addNotificationAccountReq) -> pb.addNotificationAccountResp:
        made = await self._accounts.add(req.userID, req.nickName, req.faceURL, req.appMangerLevel)
        return pb.addNotificationAccountResp(
            userID=made.user_id, faceURL=made.face_url, nickName=made.nickname, appMangerLevel=made.app_manager_level
        )

    async def update(self, caller: Caller, req: pb.updateNotificationAccountInfoReq) -> None:
        await self._accounts.update(req.userID, req.nickName, req.faceURL)

    async def search(
        self, caller: Caller, req: pb.searchNotificationAccountReq
    ) -> pb.searchNotificationAccountResp:
        check_pagination(req.pagination)
        page = req.pagination
        level = req.appManagerLevel if req.HasField("appManagerLevel") else None
        total, found = await self._accounts.search(
            req.keyword, level, offset=(page.pageNumber - 1) * page.showNumber, limit=page.showNumber
        )
        return pb.searchNotificationAccountResp(total=total, notificationAccounts=[_account(u) for u in found])


def register(router: Router, node: Node, services: Services) -> None:
    h = NotificationAccountRoutes(services.notification_accounts)
    router.add(
        RouteSpec(
            "/user/add_notification_account",
            pb.addNotificationAccountReq,
            pb.addNotificationAccountResp,
            h.add,
            auth=Auth.ADMIN,
        ),
        RouteSpec(
            "/user/update_notification_account",
            pb.updateNotificationAccountInfoReq,
            pb.updateNotificationAccountInfoResp,
            h.update,
            auth=Auth.ADMIN,
        ),
        RouteSpec(
            "/user/search_notification_account",
            pb.searchNotificationAccountReq,
            pb.searchNotificationAccountResp,
            h.search,
            auth=Auth.ADMIN,
        ),
    )
