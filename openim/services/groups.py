"""Groups, members, join requests (OpenIM's group service). Being built: see issue 5."""

from __future__ import annotations

from collections.abc import Sequence

from openim.services.notify import Notifier
from openim.services.send import Sender, SendService
from openim.services.users import UserService
from openim.storage.port import Store
from openim.wire.pb import sdkws_pb2


class GroupService:
    def __init__(self, store: Store, notifier: Notifier, send: SendService, users: UserService) -> None:
        self._store = store
        self._notifier = notifier
        self._send = send
        self._users = users

    async def check_group_send(self, msg: sdkws_pb2.MsgData, sender: Sender) -> None:
        """Raise 1204 dismissed, 1203 not a member, 1402 muted member, 1403 muted group."""

    async def member_ids(self, group_id: str) -> Sequence[str]:
        """Current member user IDs (cached; used for conversation rows and push audiences)."""
        return ()

    async def push_audience(self, msg: sdkws_pb2.MsgData) -> Sequence[str]:
        """Who gets a group message's push: the current members."""
        return await self.member_ids(msg.groupID)
