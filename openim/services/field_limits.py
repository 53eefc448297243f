"""How long the texts a client stores, and the server serves to others, may be: one table, one check.

Every write path (register and update alike) passes what it is about to store through
:func:`check_fields`, keyed by the stored field's name (``nickname``, ``face_url``, ``ex``, ...), so a
field has the same limit wherever it is written. A text over its limit is refused with 1001 (ArgsError)
and ``errDlt`` saying which field, how long it was and what is allowed; nothing is stored.

Lengths are counted in characters (code points), as the clients count them. The limits are config
(``field_limits``: one key per field); the defaults are generous for what the fields are for (a URL, a
display name, an app's JSON extension) and small enough that a profile fetched by every contact stays
small.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from openim.config import FieldLimitsConfig
from openim.wire.errors import args_error

__all__ = ["FIELD_LIMITS", "FieldLimit", "check_fields", "configure"]


@dataclass(frozen=True, slots=True)
class FieldLimit:
    wire_name: str  # how clients name the field (named in the error)
    max_chars: int


# Stored field -> its name on the wire. The limits themselves are config (``field_limits``).
_WIRE_NAMES: Final[Mapping[str, str]] = {
    "nickname": "nickname",
    "face_url": "faceURL",
    "ex": "ex",
    "remark": "remark",
    "req_msg": "reqMsg",
    "handle_msg": "handleMsg",
    "group_name": "groupName",
    "notification": "notification",
    "introduction": "introduction",
    "attached_info": "attachedInfo",
    "device_token": "fcmToken",
    "command_value": "value",
}


def _table(cfg: FieldLimitsConfig) -> dict[str, FieldLimit]:
    return {name: FieldLimit(_WIRE_NAMES.get(name, name), int(limit)) for name, limit in cfg.model_dump().items()}


# The limits in force: the defaults until the process applies its config (configure, at start).
FIELD_LIMITS: Final[dict[str, FieldLimit]] = _table(FieldLimitsConfig())


def configure(cfg: FieldLimitsConfig) -> None:
    """Apply the config's limits to this process (openim.assembly.build_services calls it once, at start)."""
    FIELD_LIMITS.clear()
    FIELD_LIMITS.update(_table(cfg))


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
