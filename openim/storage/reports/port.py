"""The Store port, the operators' reports: message search and the admin panel's statistics.

Conventions of openim.storage.port apply. Every method is one read transaction, so its counts and its
page agree with each other (PostgreSQL reads at REPEATABLE READ, SQLite from one snapshot). These reads
scan: they serve operators, never the send path; the index they lean on is
``messages (send_time, session_type, send_id, group_id)`` (migration 0008).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from openim.storage.reports.records import Activity, CreationCounts, MessageFilter, MessagePage


class ReportStore(Protocol):
    """Read-only queries over messages, users and groups; see openim.storage.reports.records."""

    async def search_messages(self, where: MessageFilter, *, offset: int, limit: int) -> MessagePage:
        """The stored messages that match (revoked ones included), newest first (send time, then
        conversation and seq), and how many match in all."""

    async def creation_counts(self, table: Literal["users", "groups"], start_ms: int, end_ms: int) -> CreationCounts:
        """All rows of ``table``, those created before ``start_ms``, and those created in [start_ms,
        end_ms) per day (days without any are left out)."""

    async def message_activity(
        self,
        by: Literal["sender", "group"],
        session_types: Sequence[int],
        start_ms: int,
        end_ms: int,
        *,
        offset: int,
        limit: int,
        ascending: bool = False,
    ) -> Activity:
        """Messages sent in [start_ms, end_ms) in conversations of ``session_types``, counted per day
        and per sender (``by="sender"``) or per group (``by="group"``); the page of subjects ordered by
        their count, most first unless ``ascending``."""
