"""/user/*_user_client_config: the settings an operator hands to the apps (ClientConfigService).

Who may call what (OpenIM's rules): anyone with a token reads the defaults (``userID`` empty); a user
reads his own effective settings (an admin anyone's); setting, deleting and paging are for app admins.
"""

from __future__ import annotations

from openim.api.framework import Auth, Caller, Router, RouteSpec
from openim.node import Node
from openim.service_set import Services
from openim.services.client_configs import ClientConfigService
from openim.storage.client_configs.records import GLOBAL_SCOPE
from openim.wire.pb import user_pb2 as pb


class ClientConfigRoutes:
    def __init__(self, configs: ClientConfigService) -> None:
        self._configs = configs

    async def get(self, caller: Caller, req: pb.getUserClientConfigReq) -> pb.getUserClientConfigResp:
        if req.userID != GLOBAL_SCOPE:
            caller.check_access(req.userID)
        return pb.getUserClientConfigResp(configs=await self._configs.effective(req.userID))

    async def set(self, caller: Caller, req: pb.setUserClientConfigReq) -> None:
        await self._configs.set(req.userID, dict(req.configs))

    async def delete(self, caller: Caller, req: pb.delUserClientConfigReq) -> None:
        await self._configs.delete(req.userID, list(req.keys))

    async def page(self, caller: Caller, req: pb.pageUserClientConfigReq) -> pb.pageUserClientConfigResp:
        total, rows = await self._configs.page(req.userID, req.key, req.pagination)
        configs = [pb.clientConfig(key=r.key, userID=r.user_id, value=r.value) for r in rows]
        return pb.pageUserClientConfigResp(total=total, configs=configs)


def register(router: Router, node: Node, services: Services) -> None:
    h = ClientConfigRoutes(services.client_configs)
    router.add(
        RouteSpec("/user/get_user_client_config", pb.getUserClientConfigReq, pb.getUserClientConfigResp, h.get),
        RouteSpec(
            "/user/set_user_client_config",
            pb.setUserClientConfigReq,
            pb.setUserClientConfigResp,
            h.set,
            auth=Auth.ADMIN,
        ),
        RouteSpec(
            "/user/del_user_client_config",
            pb.delUserClientConfigReq,
            pb.delUserClientConfigResp,
            h.delete,
            auth=Auth.ADMIN,
        ),
        RouteSpec(
            "/user/page_user_client_config",
            pb.pageUserClientConfigReq,
            pb.pageUserClientConfigResp,
            h.page,
            auth=Auth.ADMIN,
        ),
    )
