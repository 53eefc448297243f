"""The Store port, part three: groups, members and join requests (filled in with the groups work)."""

from __future__ import annotations

from typing import Protocol


class GroupStore(Protocol):
    """Group, member and group-request storage; see openim.storage.group_records."""
