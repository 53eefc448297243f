"""Records of the operators' reports (openim.storage.reports). Times are Unix ms; a day is a UTC day,
numbered from the epoch (``time_ms // 86_400_000``), which the domain turns into OpenIM's dates."""

from __future__ import annotations

from dataclasses import dataclass, field

from openim.storage.messages.records import StoredMessage

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """What /msg/search_msg may narrow by; an empty or zero field does not narrow. ``recv_id`` matches
    a message's receiver or its group. The time range is [start_ms, end_ms) when ``end_ms`` is set."""

    send_id: str = ""
    recv_id: str = ""
    content_type: int = 0
    session_type: int = 0
    start_ms: int = 0
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class MessagePage:
    """How many messages match (``total``) and one page of them, newest first."""

    total: int
    messages: list[StoredMessage] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CreationCounts:
    """Rows (users or groups) now, rows created before a start time, rows created per day from it."""

    total: int
    before: int
    per_day: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Activity:
    """Messages of a time range: how many, from how many distinct subjects (senders or groups), how
    many per day, and one page of the subjects with their message counts (by count, then ID)."""

    message_count: int
    subject_count: int
    per_day: dict[int, int] = field(default_factory=dict)
    subjects: list[tuple[str, int]] = field(default_factory=list)
