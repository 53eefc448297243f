"""The table of per-user command lists (openim.storage.commands), on the shared metadata; the rules of
openim.storage.schema apply."""

from __future__ import annotations

import sqlalchemy as sa

from openim.storage.schema.columns import _key, _ms, _text, metadata

# One row per entry, named by (user_id, type, uuid); the key also serves "a user's entries" and "a user's
# entries of one type", the only reads.
user_commands = sa.Table(
    "user_commands",
    metadata,
    _key("user_id"),
    sa.Column("type", sa.Integer(), primary_key=True),
    _key("uuid"),
    _text("value"),
    _text("ex"),
    _ms("create_time"),
)
