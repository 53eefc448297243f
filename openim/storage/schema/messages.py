"""Tables of users, tokens and bans, messages and seqs, the per-user conversation rows and the version logs
(openim.storage.messages); the rules of openim.storage.schema apply.
"""

from __future__ import annotations

import sqlalchemy as sa

from openim.storage.schema.columns import _flag, _int, _key, _ms, _text, metadata

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
    # Read by a user other than the sender (mark-as-read of single chats; migration 0009).
    _flag("is_read"),
    # Idempotent sending (invariant 3): a retried (send_id, client_msg_id) can never be stored twice, even
    # when two transfer owners race in a failover.
    sa.Index(None, "send_id", "client_msg_id", unique=True),
    # The operators' reports (openim.storage.reports, migration 0008): a time range of messages, and
    # everything the statistics count, without reading a message row. Send times grow, so new entries
    # land at the index's right edge: on the send path this is about one more page per batch.
    sa.Index(None, "send_time", "session_type", "send_id", "group_id"),
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
