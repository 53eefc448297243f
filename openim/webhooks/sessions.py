"""The gateway's callbacks: afterUserOnline when a connection is up, afterUserOffline when it ends, and
afterUserKickOff instead when it ended because another login (or an admin) kicked it. All are
after-callbacks: queued, never delaying a login or a disconnect."""

from __future__ import annotations

from openim.clock import now_ms
from openim.webhooks.dispatcher import Webhooks
from openim.wire.constants import platform_name


def _name(platform_id: int) -> str:
    try:
        return platform_name(platform_id)
    except ValueError:
        return ""


class SessionHooks:
    def __init__(self, webhooks: Webhooks) -> None:
        self._hooks = webhooks

    def _payload(self, user_id: str, platform_id: int, conn_id: str, background: bool) -> dict[str, object]:
        return {
            "platformID": platform_id,
            "platform": _name(platform_id),
            "userID": user_id,
            "seq": now_ms(),
            "connID": conn_id,
            "isAppBackground": background,
        }

    def online(self, user_id: str, platform_id: int, conn_id: str, *, background: bool, operation_id: str) -> None:
        self._hooks.after(
            "afterUserOnline", self._payload(user_id, platform_id, conn_id, background), operation_id=operation_id
        )

    def offline(
        self, user_id: str, platform_id: int, conn_id: str, *, background: bool, kicked: bool, operation_id: str
    ) -> None:
        hook = "afterUserKickOff" if kicked else "afterUserOffline"
        self._hooks.after(hook, self._payload(user_id, platform_id, conn_id, background), operation_id=operation_id)
