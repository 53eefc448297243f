"""The SendPolicy of the msg stage: relation rules for one-to-one chats, membership rules for groups."""

from __future__ import annotations

from openim.pipeline.msg import Sender
from openim.services.groups.directory import GroupDirectory
from openim.services.relation_rules import RelationRules
from openim.ttl_cache import TtlCache
from openim.wire.constants import SessionType
from openim.wire.pb import sdkws_pb2

# How long after a group message made sure every member has a conversation row the next ones skip it.
# Members get their row when they join; the re-check only repairs rows deleted since (e.g. a member who
# deleted the conversation), within this bound.
OWNER_ROWS_RECHECK_S = 60.0


class SendRules:
    def __init__(self, relations: RelationRules, groups: GroupDirectory) -> None:
        self._relations = relations
        self._groups = groups
        # Process-local on purpose, outside the CacheRegistry: it only spares this process repeated upserts,
        # nothing invalidates it, and another process's answer would not tell this one anything.
        self._rows_ensured: TtlCache[str, bool] = TtlCache(OWNER_ROWS_RECHECK_S)

    async def check(self, msg: sdkws_pb2.MsgData, sender: Sender) -> None:
        if msg.sessionType == SessionType.READ_GROUP:
            await self._groups.check_group_send(msg, sender)
        else:
            await self._relations.check_single_send(msg.sendID, msg.recvID)

    def check_now(self, msg: sdkws_pb2.MsgData, sender: Sender) -> bool:
        if msg.sessionType == SessionType.READ_GROUP:
            return False  # the membership check may read; the msg stage awaits check() for groups
        return self._relations.check_single_send_now(msg.sendID, msg.recvID)

    async def audience(self, msg: sdkws_pb2.MsgData) -> tuple[tuple[str, ...], int]:
        """The members, as owners whose conversation rows the store must ensure — but only once per
        group per OWNER_ROWS_RECHECK_S: upserting 500 rows with every message of a 500-member group
        would make each group message cost a 500-row write."""
        members = await self._groups.member_ids(msg.groupID)
        if self._rows_ensured.get(msg.groupID):
            # Still the sender's own row (when a member): their read seq follows their message.
            return ((msg.sendID,) if msg.sendID in members else ()), int(SessionType.READ_GROUP)
        self._rows_ensured.put(msg.groupID, True)
        return tuple(members), int(SessionType.READ_GROUP)
