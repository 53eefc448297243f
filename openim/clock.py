"""Wall-clock time in milliseconds since the epoch: the unit of every OpenIM timestamp (sendTime,
createTime, token expiry, version logs). One definition, so that a test or a future clock source
changes it in one place."""

from __future__ import annotations

import time

__all__ = ["now_ms"]


def now_ms() -> int:
    return time.time_ns() // 1_000_000
