"""The client configuration table, on the shared metadata (rules of openim.storage.schema apply)."""

from __future__ import annotations

import sqlalchemy as sa

from openim.storage.schema.columns import _key, _text, metadata

client_configs = sa.Table(
    "client_configs",
    metadata,
    # user_id "" holds the defaults every user gets; the primary key (user_id, key) serves both the
    # per-scope reads and the admin's paging by scope.
    _key("user_id"),
    _key("key"),
    _text("value"),
)
