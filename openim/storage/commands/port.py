"""The Store port, per-user command lists (favourites, pinned items, ...).

Conventions of openim.storage.port apply. An entry is named by (user_id, type, uuid): unique, so an add
of a name that exists raises AlreadyExists and nothing else changes.
"""

from __future__ import annotations

from typing import Protocol

from openim.storage.commands.records import UserCommandPatch, UserCommandRecord


class CommandStore(Protocol):
    """Users' command lists; see openim.storage.commands.records."""

    async def add_user_command(self, command: UserCommandRecord) -> None:
        """Insert; raise AlreadyExists when the user has an entry of this (type, uuid) already."""

    async def update_user_command(self, user_id: str, type_: int, uuid: str, patch: UserCommandPatch) -> bool:
        """Set the patch's fields on the entry; False when there is no such entry (an empty patch changes
        nothing and reports whether the entry exists)."""

    async def delete_user_command(self, user_id: str, type_: int, uuid: str) -> bool:
        """False when there was no such entry."""

    async def get_user_commands(self, user_id: str, type_: int | None = None) -> list[UserCommandRecord]:
        """The user's entries (of one type, or all), oldest first (then by type and uuid)."""
