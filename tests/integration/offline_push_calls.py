"""The REST calls both offline-push suites make: three users, and a one-to-one text with a push title."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.integration.conftest import ServerProcess

WEB = 5


def register_users(server: ServerProcess, prefix: str) -> dict[str, str]:
    """alice, bob and carol, under fresh IDs starting with ``prefix``: role -> userID."""
    suffix = str(time.time_ns())[-9:]
    ids = {role: f"{prefix}{role}{suffix}" for role in ("alice", "bob", "carol")}
    server.call(
        "/user/user_register",
        {"users": [{"userID": u, "nickname": r} for r, u in ids.items()]},
        token=server.admin_token(),
    )
    return ids


def send_text(server: ServerProcess, send_id: str, recv_id: str, text: str) -> None:
    """An admin send from ``send_id`` whose offline push says "New message" / ``text``."""
    server.call(
        "/msg/send_msg",
        {
            "sendID": send_id,
            "recvID": recv_id,
            "senderPlatformID": WEB,
            "senderNickname": "Alice",
            "content": {"content": text},
            "contentType": 101,
            "sessionType": 1,
            "offlinePushInfo": {"title": "New message", "desc": text},
        },
        token=server.admin_token(),
    )
