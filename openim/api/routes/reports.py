"""The admin panel's queries: /msg/search_msg and /statistics/* (app admins only).

They live apart from the /msg and /user areas because they serve the operator, not a user: every route
is ``Auth.ADMIN`` (1002 for anyone else), reads across all users, and is answered by AdminReports. OpenIM
checks the admin on three of the four statistics and on none of search_msg; here an ordinary user can
read none of them (a message search over everyone is the most sensitive read the server has).
"""

from __future__ import annotations

from openim.api.framework import Auth, Caller, Router, RouteSpec
from openim.node import Node
from openim.service_set import Services
from openim.services.admin_reports import AdminReports
from openim.wire.pb import group_pb2, msg_pb2, user_pb2


class ReportRoutes:
    """The handlers, over AdminReports (which checks the arguments)."""

    def __init__(self, reports: AdminReports) -> None:
        self._reports = reports

    async def search_msg(self, caller: Caller, req: msg_pb2.SearchMessageReq) -> msg_pb2.SearchMessageResp:
        return await self._reports.search_messages(req)

    async def user_register(self, caller: Caller, req: user_pb2.userRegisterCountReq) -> user_pb2.userRegisterCountResp:
        total, before, per_day = await self._reports.user_register_count(req.start, req.end)
        return user_pb2.userRegisterCountResp(total=total, before=before, count=per_day)

    async def group_create(self, caller: Caller, req: group_pb2.GroupCreateCountReq) -> group_pb2.GroupCreateCountResp:
        total, before, per_day = await self._reports.group_create_count(req.start, req.end)
        return group_pb2.GroupCreateCountResp(total=total, before=before, count=per_day)

    async def active_users(self, caller: Caller, req: msg_pb2.GetActiveUserReq) -> msg_pb2.GetActiveUserResp:
        return await self._reports.active_users(req)

    async def active_groups(self, caller: Caller, req: msg_pb2.GetActiveGroupReq) -> msg_pb2.GetActiveGroupResp:
        return await self._reports.active_groups(req)


def register(router: Router, node: Node, services: Services) -> None:
    h = ReportRoutes(services.reports)
    router.add(
        RouteSpec(
            "/msg/search_msg", msg_pb2.SearchMessageReq, msg_pb2.SearchMessageResp, h.search_msg, auth=Auth.ADMIN
        ),
        RouteSpec(
            "/statistics/user/register",
            user_pb2.userRegisterCountReq,
            user_pb2.userRegisterCountResp,
            h.user_register,
            auth=Auth.ADMIN,
        ),
        RouteSpec(
            "/statistics/user/active",
            msg_pb2.GetActiveUserReq,
            msg_pb2.GetActiveUserResp,
            h.active_users,
            auth=Auth.ADMIN,
        ),
        RouteSpec(
            "/statistics/group/create",
            group_pb2.GroupCreateCountReq,
            group_pb2.GroupCreateCountResp,
            h.group_create,
            auth=Auth.ADMIN,
        ),
        RouteSpec(
            "/statistics/group/active",
            msg_pb2.GetActiveGroupReq,
            msg_pb2.GetActiveGroupResp,
            h.active_groups,
            auth=Auth.ADMIN,
        ),
    )
