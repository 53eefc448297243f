"""Records of the user_commands table that cross the Store port.

Like openim.storage.messages.records: frozen dataclasses of plain values whose field names equal the
columns of openim.storage.schema.commands. Times are Unix ms (OpenIM's wire shows seconds; the edge
converts).
"""

from __future__ import annotations

from dataclasses import dataclass

from openim.storage.messages.records import Patch


@dataclass(frozen=True, slots=True)
class UserCommandRecord:
    """One entry of a user's command list. A user has at most one entry per (type, uuid): that pair is
    how every route names it."""

    user_id: str
    type: int  # the app's kind of list (favourites, pinned, ...): OpenIM gives the numbers no meaning
    uuid: str  # the entry's id within its type, chosen by the client
    value: str = ""
    ex: str = ""
    create_time: int = 0


@dataclass(frozen=True, slots=True)
class UserCommandPatch(Patch):
    """What Store.update_user_command may set on an entry."""

    value: str | None = None
    ex: str | None = None
