"""What a notifying domain service holds: the store, the notifier, the send service, the user lookup and the
business backend's callbacks (None when none is enabled), with the profile lookup and the single-user
notification they all make. The relation and group services are built on it, so their constructors and
those helpers are written once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from google.protobuf.message import Message

from openim.ops.logging import Log
from openim.pipeline.msg import SendService
from openim.services.notify import Notifier, tell
from openim.services.users import UserService
from openim.storage.messages.records import UserRecord
from openim.storage.port import Store
from openim.wire.constants import ContentType

if TYPE_CHECKING:
    from openim.webhooks.dispatcher import Webhooks


class ServiceBase:
    _log: ClassVar[Log]  # each service logs under its own name

    def __init__(
        self, store: Store, notifier: Notifier, send: SendService, users: UserService, webhooks: Webhooks | None
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._send = send
        self._users = users
        self.webhooks = webhooks  # OpenIM's callbacks of this service, None when none is enabled

    async def _users_by_id(self, ids: Iterable[str]) -> dict[str, UserRecord]:
        """The registered users among ``ids`` (empty IDs and repeats skipped), by user ID."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        return {u.user_id: u for u in await self._users.get(wanted)} if wanted else {}

    async def _tell(
        self,
        content_type: ContentType,
        tips: Message,
        send_id: str,
        recv_id: str,
        operation_id: str,
        *,
        sender_sync: bool = True,
    ) -> None:
        """Send a notification; the change is committed already, so a failed push is logged, not raised
        (push is best effort, sync is the guarantee: docs/architecture.md, invariant 4)."""
        await tell(
            self._notifier,
            self._log,
            content_type=int(content_type),
            tips=tips,
            send_id=send_id,
            recv_id=recv_id,
            operation_id=operation_id,
            sender_sync=sender_sync,
        )
