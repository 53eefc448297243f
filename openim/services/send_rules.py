"""The SendPolicy of the msg stage: relation rules for one-to-one chats, membership rules for groups."""

from __future__ import annotations

from openim.services.groups import GroupService
from openim.services.relations import RelationService
from openim.services.send import Sender
from openim.wire.constants import SessionType
from openim.wire.pb import sdkws_pb2


class SendRules:
    def __init__(self, relations: RelationService, groups: GroupService) -> None:
        self._relations = relations
        self._groups = groups

    async def check(self, msg: sdkws_pb2.MsgData, sender: Sender) -> None:
        if msg.sessionType == SessionType.READ_GROUP:
            await self._groups.check_group_send(msg, sender)
        else:
            await self._relations.check_single_send(msg.sendID, msg.recvID)

    async def audience(self, msg: sdkws_pb2.MsgData) -> tuple[tuple[str, ...], int]:
        return tuple(await self._groups.member_ids(msg.groupID)), int(SessionType.READ_GROUP)
