"""How long the texts a client stores, and the server serves to others, may be: one table, one check.

Every write path (register and update alike) passes what it is about to store through
:func:`check_fields`, keyed by the stored field's name (``nickname``, ``face_url``, ``ex``, ...), so a
field has the same limit wherever it is written. A text over its limit is refused with 1001 (ArgsError)
and ``errDlt`` saying which field, how long it was and what is allowed; nothing is stored.

Lengths are counted in characters (code points), as the clients count them. The limits are generous
for what the fields are for (a URL, a display name, an app's JSON extension) and small enough that a
profile fetched by every contact stays small.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from openim.wire.errors import args_error

__all__ = ["FIELD_LIMITS", "FieldLimit", "check_fields"]


@dataclass(frozen=True, slots=True)
class FieldLimit:
    wire_name: str  # how clients name the field (named in the error)
    max_chars: int


FIELD_LIMITS: Final[Mapping[str, FieldLimit]] = {
    # users, group members, friends
    "nickname": FieldLimit("nickname", 255),
    "face_url": FieldLimit("faceURL", 2048),
    "ex": FieldLimit("ex", 4096),
    "remark": FieldLimit("remark", 255),
    # friend and group requests
    "req_msg": FieldLimit("reqMsg", 1024),
    "handle_msg": FieldLimit("handleMsg", 1024),
    # groups
    "group_name": FieldLimit("groupName", 255),
    "notification": FieldLimit("notification", 4096),
    "introduction": FieldLimit("introduction", 4096),
    # per-user conversation settings
    "attached_info": FieldLimit("attachedInfo", 4096),
    # offline push
    "device_token": FieldLimit("fcmToken", 1024),
}


def check_fields(fields: Mapping[str, object], *, subject: str = "") -> None:
    """Refuse (1001) the first text of ``fields`` longer than its limit; fields without one pass.

    ``subject`` prefixes the error (``"user u1: "``) when a request writes several records.
    """
    for name, value in fields.items():
        limit = FIELD_LIMITS.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit.max_chars:
            raise args_error(
                f"{subject}{limit.wire_name} is {len(value)} characters long, at most {limit.max_chars} allowed"
            )
