"""Ids the server makes in OpenIM's formats."""

from __future__ import annotations

import hashlib
import os
import time

__all__ = ["new_client_msg_id"]


def new_client_msg_id(send_id: str) -> str:
    """A clientMsgID for a message the server writes itself (notifications, admin sends): OpenIM's shape,
    32 hex digits of an md5 over the time, the sender and randomness."""
    return hashlib.md5(f"{time.time_ns()}{send_id}{os.urandom(8).hex()}".encode()).hexdigest()
