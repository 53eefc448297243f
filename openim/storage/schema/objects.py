"""Tables of uploads (objects, upload sessions), offline push (device tokens) and the log files clients
uploaded (client logs), on the shared metadata.

Like every module of openim.storage.schema, it adds its tables to the shared ``metadata`` (what migrations
and the contract test compare against) when the package is imported. The rules of openim.storage.schema
apply.
"""

from __future__ import annotations

import sqlalchemy as sa

from openim.storage.schema.columns import _int, _key, _ms, _text, metadata

objects = sa.Table(
    "objects",
    metadata,
    _key("name"),
    _text("user_id"),
    _text("hash"),
    _text("key"),
    _ms("size"),
    _text("content_type"),
    _text("cause"),
    _ms("create_time"),
    # Deduplication: initiate asks whether any name already holds this content.
    sa.Index(None, "hash"),
)

uploads = sa.Table(
    "uploads",
    metadata,
    _key("upload_id"),
    _text("user_id"),
    _text("name"),
    _text("hash"),
    _ms("size"),
    _ms("part_size"),
    _int("part_count"),
    _text("content_type"),
    _text("cause"),
    _text("key"),
    _text("backend_upload_id"),
    _ms("expire_time"),
    # The sweeper removes abandoned uploads oldest first.
    sa.Index(None, "expire_time"),
)

device_tokens = sa.Table(
    "device_tokens",
    metadata,
    _key("user_id"),
    sa.Column("platform_id", sa.Integer(), primary_key=True),
    _text("token"),
    _ms("expire_time"),
    _ms("update_time"),
    _int("badge"),
)

client_logs = sa.Table(
    "client_logs",
    metadata,
    _key("log_id"),
    _text("user_id"),
    _text("platform"),
    _text("url"),
    _text("file_name"),
    _text("system_type"),
    _text("app_framework"),
    _text("version"),
    _text("ex"),
    _ms("create_time"),
    # The admins' search: a time range, newest first.
    sa.Index(None, "create_time"),
)
