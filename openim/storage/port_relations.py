"""The Store port, part two: friends, friend requests and blacklists (filled in with the relations work)."""

from __future__ import annotations

from typing import Protocol


class RelationStore(Protocol):
    """Friend, friend-request and blacklist storage; see openim.storage.relation_records."""
