"""The one SQLAlchemy Core schema both backends share (SQLite embedded, PostgreSQL cluster).

Migrations (openim/storage/migrations) create exactly these tables; a contract test runs Alembic's
autogenerate comparison against both backends so the two can never drift apart.

Choices that hold for every table:

* Identifiers and free text are unbounded ``VARCHAR``/``TEXT``: OpenIM does not bound them tightly, and a
  length limit here would turn an over-long id into a database error instead of a 1001 from the edge.
* Times are Unix milliseconds and seqs are counters, both ``BIGINT``.
* Every non-key column is NOT NULL with a server default, so adding a column in a later migration never
  needs a data backfill and raw SQL inserts may omit columns; only ``messages.revoke`` is nullable,
  because "not revoked" is a state of its own.
* Constraint and index names come from one naming convention, so Alembic scripts can refer to them on both
  backends without reflection.
"""

from __future__ import annotations

import sqlalchemy as sa

from openim.storage.schema_columns import NAMING_CONVENTION, _flag, _int, _key, _ms, _text, metadata

__all__ = ["NAMING_CONVENTION", "metadata"]


# -- accounts ------------------------------------------------------------------------------------------

users = sa.Table(
    "users",
    metadata,
    _key("user_id"),
    _text("nickname"),
    _text("face_url"),
    _text("ex"),
    _ms("create_time"),
    _int("app_manager_level"),
    _int("global_recv_msg_opt"),
    # list_users pages in (create_time, user_id) order.
    sa.Index(None, "create_time", "user_id"),
)

# A token is a JWT of a few hundred bytes: long, but far below btree's entry limit, and every lookup is
# by user (and platform) first, so the natural key is also the useful index. Purging scans expire_time.
tokens = sa.Table(
    "tokens",
    metadata,
    _key("user_id"),
    sa.Column("platform_id", sa.Integer(), primary_key=True),
    _key("token"),
    _int("state"),
    _ms("expire_time"),
    _ms("create_time"),
    sa.Index(None, "expire_time"),
)

# Users an operator banned ("blocked" in the web console): no token is issued to them while a row exists.
# A table of its own, not a users column, so the OpenIM user profile routes never see or reset it.
user_bans = sa.Table(
    "user_bans",
    metadata,
    _key("user_id"),
    _text("reason"),
    _text("operator_user_id"),
    _ms("create_time"),
)

# -- messages ------------------------------------------------------------------------------------------

# PostgreSQL: the tables whose rows every send updates in place leave room on each page, so an update
# stays on its page and touches no index (migration 0004).
_HOT_UPDATES = {"fillfactor": 85}

# The source of truth for seqs (invariant 2): persist_messages advances max_seq under the row lock in the
# same transaction that inserts the messages.
conversation_seqs = sa.Table(
    "conversation_seqs",
    metadata,
    _key("conversation_id"),
    _ms("max_seq"),
    _ms("min_seq"),
    _ms("max_seq_time"),
    postgresql_with=_HOT_UPDATES,
)

messages = sa.Table(
    "messages",
    metadata,
    _key("conversation_id"),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    _text("send_id"),
    _text("client_msg_id"),
    _text("server_msg_id"),
    _ms("send_time"),
    _int("session_type"),
    _int("content_type"),
    _text("recv_id"),
    _text("group_id"),
    sa.Column("payload", sa.LargeBinary(), nullable=False),
    sa.Column("revoke", sa.LargeBinary(), nullable=True),
    # Idempotent sending (invariant 3): a retried (send_id, client_msg_id) can never be stored twice, even
    # when two transfer owners race in a failover.
    sa.Index(None, "send_id", "client_msg_id", unique=True),
)

# Delete-for-me: one row per hidden seq of one user.
hidden_messages = sa.Table(
    "hidden_messages",
    metadata,
    _key("user_id"),
    _key("conversation_id"),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
)

user_conversations = sa.Table(
    "user_conversations",
    metadata,
    _key("owner_user_id"),
    _key("conversation_id"),
    _int("conversation_type"),
    _text("user_id"),
    _text("group_id"),
    _int("recv_msg_opt"),
    _flag("is_pinned"),
    _flag("is_private_chat"),
    _int("burn_duration"),
    _int("group_at_type"),
    _text("attached_info"),
    _text("ex"),
    _ms("min_seq"),
    _ms("max_seq"),
    _ms("has_read_seq"),
    _ms("msg_destruct_time"),
    _flag("is_msg_destruct"),
    _ms("latest_msg_destruct_time"),
    _ms("create_time"),
    _ms("update_time"),
    # get_conversation_owners and group-wide updates look rows up by conversation.
    sa.Index(None, "conversation_id"),
    postgresql_with=_HOT_UPDATES,
)

# -- incremental sync (openim.services.versioning) ------------------------------------------------------

version_logs = sa.Table(
    "version_logs",
    metadata,
    _key("kind"),
    _key("d_id"),
    sa.Column("version_id", sa.String(24), nullable=False),
    _ms("version"),
)

# Each element keeps only its newest entry, so the key is (kind, d_id, e_id); reads ask for "entries of
# one log newer than version x", served by the second index.
version_log_entries = sa.Table(
    "version_log_entries",
    metadata,
    _key("kind"),
    _key("d_id"),
    _key("e_id"),
    _int("state"),
    _ms("version"),
    sa.Index(None, "kind", "d_id", "version"),
)

# -- relations (next milestone: tables only, no Store methods yet) -------------------------------------

friends = sa.Table(
    "friends",
    metadata,
    _key("owner_user_id"),
    _key("friend_user_id"),
    _text("remark"),
    _ms("create_time"),
    _int("add_source"),
    _text("operator_user_id"),
    _text("ex"),
    _flag("is_pinned"),
    # "every owner who has him as a friend" (profile changes bump those owners' friend logs).
    sa.Index(None, "friend_user_id"),
)

friend_requests = sa.Table(
    "friend_requests",
    metadata,
    _key("from_user_id"),
    _key("to_user_id"),
    _int("handle_result"),
    _text("req_msg"),
    _ms("create_time"),
    _text("handler_user_id"),
    _text("handle_msg"),
    _ms("handle_time"),
    _text("ex"),
    # Requests received by a user (get_friend_apply_list).
    sa.Index(None, "to_user_id", "create_time"),
)

blacks = sa.Table(
    "blacks",
    metadata,
    _key("owner_user_id"),
    _key("block_user_id"),
    _ms("create_time"),
    _int("add_source"),
    _text("operator_user_id"),
    _text("ex"),
)

groups = sa.Table(
    "groups",
    metadata,
    _key("group_id"),
    _text("group_name"),
    _text("notification"),
    _text("introduction"),
    _text("face_url"),
    _text("owner_user_id"),
    _ms("create_time"),
    _text("ex"),
    _int("status"),
    _text("creator_user_id"),
    _int("group_type"),
    _int("need_verification"),
    _int("look_member_info"),
    _int("apply_member_friend"),
    _ms("notification_update_time"),
    _text("notification_user_id"),
)

group_members = sa.Table(
    "group_members",
    metadata,
    _key("group_id"),
    _key("user_id"),
    _int("role_level"),
    _ms("join_time"),
    _text("nickname"),
    _text("face_url"),
    _int("join_source"),
    _text("operator_user_id"),
    _text("ex"),
    _ms("mute_end_time"),
    _text("inviter_user_id"),
    # Joined groups of a user; member lists are read in (role_level desc, join_time) order per group.
    sa.Index(None, "user_id"),
    sa.Index(None, "group_id", "role_level", "join_time"),
)

group_requests = sa.Table(
    "group_requests",
    metadata,
    _key("group_id"),
    _key("user_id"),
    _int("handle_result"),
    _text("req_msg"),
    _text("handle_msg"),
    _ms("req_time"),
    _text("handle_user_id"),
    _ms("handle_time"),
    _int("join_source"),
    _text("inviter_user_id"),
    _text("ex"),
    # Applications made by a user (get_user_req_group_applicationList).
    sa.Index(None, "user_id"),
)

# Uploads and offline push (their own module; importing it adds its tables to ``metadata``).
from openim.storage import schema_objects as _schema_objects  # noqa: E402, F401  (after the core tables)
