"""/user/process_user_command_*: the user's command lists (UserCommandService).

Each route acts for the body's ``userID`` (CheckAccess: the token's own user, or an admin). The service
owns the rules and the 1305-1307 notifications; here: shapes, access, and the answer's entries.
"""

from __future__ import annotations

from openim.api.framework import Caller, Router, RouteSpec
from openim.node import Node
from openim.service_set import Services
from openim.services.user_commands import UserCommandService
from openim.storage.commands.records import UserCommandPatch, UserCommandRecord
from openim.wire.pb import user_pb2 as pb

MS_PER_S = 1000


def _info(c: UserCommandRecord) -> pb.CommandInfoResp:
    # OpenIM stores and answers createTime in seconds; we keep milliseconds like every other time.
    return pb.CommandInfoResp(type=c.type, createTime=c.create_time // MS_PER_S, uuid=c.uuid, value=c.value, ex=c.ex)


def _all_info(c: UserCommandRecord) -> pb.AllCommandInfoResp:
    return pb.AllCommandInfoResp(
        type=c.type, createTime=c.create_time // MS_PER_S, uuid=c.uuid, value=c.value, ex=c.ex
    )


class UserCommandRoutes:
    def __init__(self, commands: UserCommandService) -> None:
        self._commands = commands

    async def add(self, caller: Caller, req: pb.processUserCommandAddReq) -> None:
        user_id = caller.acting_for(req.userID)
        await self._commands.add(
            user_id, req.type, req.uuid, req.value.value, req.ex.value, operation_id=caller.operation_id
        )

    async def update(self, caller: Caller, req: pb.processUserCommandUpdateReq) -> None:
        """Null or absent wrappers leave a field unchanged."""
        user_id = caller.acting_for(req.userID)
        patch = UserCommandPatch(
            value=req.value.value if req.HasField("value") else None,
            ex=req.ex.value if req.HasField("ex") else None,
        )
        await self._commands.update(user_id, req.type, req.uuid, patch, operation_id=caller.operation_id)

    async def delete(self, caller: Caller, req: pb.processUserCommandDeleteReq) -> None:
        user_id = caller.acting_for(req.userID)
        await self._commands.delete(user_id, req.type, req.uuid, operation_id=caller.operation_id)

    async def get(self, caller: Caller, req: pb.processUserCommandGetReq) -> pb.processUserCommandGetResp:
        user_id = caller.acting_for(req.userID)
        found = await self._commands.of_type(user_id, req.type)
        return pb.processUserCommandGetResp(CommandResp=[_info(c) for c in found])

    async def get_all(self, caller: Caller, req: pb.processUserCommandGetAllReq) -> pb.processUserCommandGetAllResp:
        user_id = caller.acting_for(req.userID)
        found = await self._commands.all(user_id)
        return pb.processUserCommandGetAllResp(CommandResp=[_all_info(c) for c in found])


def register(router: Router, node: Node, services: Services) -> None:
    h = UserCommandRoutes(services.user_commands)
    router.add(
        RouteSpec("/user/process_user_command_add", pb.processUserCommandAddReq, pb.processUserCommandAddResp, h.add),
        RouteSpec(
            "/user/process_user_command_delete",
            pb.processUserCommandDeleteReq,
            pb.processUserCommandDeleteResp,
            h.delete,
        ),
        RouteSpec(
            "/user/process_user_command_update",
            pb.processUserCommandUpdateReq,
            pb.processUserCommandUpdateResp,
            h.update,
        ),
        RouteSpec("/user/process_user_command_get", pb.processUserCommandGetReq, pb.processUserCommandGetResp, h.get),
        RouteSpec(
            "/user/process_user_command_get_all",
            pb.processUserCommandGetAllReq,
            pb.processUserCommandGetAllResp,
            h.get_all,
        ),
    )
