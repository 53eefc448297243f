"""Friends, friend requests and blacklists (OpenIM's relation service). Being built: see issue 5."""

from __future__ import annotations

from openim.config import MessagingConfig
from openim.services.notify import Notifier
from openim.services.send import SendService
from openim.services.users import UserService
from openim.storage.port import Store


class RelationService:
    def __init__(
        self, store: Store, notifier: Notifier, send: SendService, users: UserService, messaging: MessagingConfig
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._send = send
        self._users = users
        self._messaging = messaging

    async def check_single_send(self, send_id: str, recv_id: str) -> None:
        """Raise 1302 BlockedByPeer if recv_id blocked send_id, 1303 NotPeersFriend under friend_verify."""
