"""Which content types a sender may use: the notification range belongs to the server.

Content types 1000-5000 are notifications (group dismissed, friend added, message revoked, read receipts,
...): the SDK acts on them as facts the server states. An ordinary user who could send one would forge
them (a 1511 GroupDismissed to every member, a 2101 revoke of someone else's message) and, because the
send path has no relation rules for them, past the blacklist. Only the server itself (notifications it
makes) and app admins (REST /msg/send_msg, notification accounts) may send them; anyone else gets 1002.
"""

from __future__ import annotations

from openim.wire.constants import NOTIFICATION_BEGIN, NOTIFICATION_END, is_notification_content
from openim.wire.errors import ErrCode, OpenIMError

__all__ = ["check_content_type"]


def check_content_type(content_type: int, *, is_admin: bool, system: bool) -> None:
    """Raise 1002 NoPermissionError when a non-admin user sends a notification content type."""
    if is_notification_content(content_type) and not (is_admin or system):
        raise OpenIMError(
            ErrCode.NO_PERMISSION,
            f"contentType {content_type} is a notification ({NOTIFICATION_BEGIN}-{NOTIFICATION_END}): "
            "only the server and app admins may send it",
        )
