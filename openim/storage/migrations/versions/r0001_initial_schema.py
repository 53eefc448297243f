"""Initial schema: accounts, tokens, messages and seqs, per-user conversations, version logs, and
the relation tables (friends, blacks, groups and their requests) of the next milestone.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Must run offline too (PostgreSQL is migrated from rendered SQL): no reads, no Python-side data logic;
express data changes as SQL (op.execute) or op.bulk_insert.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    # One helper per table (with its indexes), called in the order the tables were first created.
    _blacks()
    _conversation_seqs()
    _friend_requests()
    _friends()
    _group_members()
    _group_requests()
    _groups()
    _hidden_messages()
    _messages()
    _tokens()
    _user_conversations()
    _users()
    _version_log_entries()
    _version_logs()


def _blacks() -> None:
    op.create_table(
        "blacks",
        sa.Column("owner_user_id", sa.String(), nullable=False),
        sa.Column("block_user_id", sa.String(), nullable=False),
        sa.Column("create_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("add_source", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("operator_user_id", sa.String(), server_default="", nullable=False),
        sa.Column("ex", sa.String(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("owner_user_id", "block_user_id", name=op.f("pk_blacks")),
    )


def _conversation_seqs() -> None:
    op.create_table(
        "conversation_seqs",
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("max_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("min_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_seq_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_seqs")),
    )


def _friend_requests() -> None:
    op.create_table(
        "friend_requests",
        sa.Column("from_user_id", sa.String(), nullable=False),
        sa.Column("to_user_id", sa.String(), nullable=False),
        sa.Column("handle_result", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("req_msg", sa.String(), server_default="", nullable=False),
        sa.Column("create_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("handler_user_id", sa.String(), server_default="", nullable=False),
        sa.Column("handle_msg", sa.String(), server_default="", nullable=False),
        sa.Column("handle_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("ex", sa.String(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("from_user_id", "to_user_id", name=op.f("pk_friend_requests")),
    )
    op.create_index(
        op.f("ix_friend_requests_to_user_id_create_time"),
        "friend_requests",
        ["to_user_id", "create_time"],
        unique=False,
    )


def _friends() -> None:
    op.create_table(
        "friends",
        sa.Column("owner_user_id", sa.String(), nullable=False),
        sa.Column("friend_user_id", sa.String(), nullable=False),
        sa.Column("remark", sa.String(), server_default="", nullable=False),
        sa.Column("create_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("add_source", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("operator_user_id", sa.String(), server_default="", nullable=False),
        sa.Column("ex", sa.String(), server_default="", nullable=False),
        sa.Column("is_pinned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("owner_user_id", "friend_user_id", name=op.f("pk_friends")),
    )
    op.create_index(op.f("ix_friends_friend_user_id"), "friends", ["friend_user_id"], unique=False)


def _group_members() -> None:
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("role_level", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("join_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("nickname", sa.String(), server_default="", nullable=False),
        sa.Column("face_url", sa.String(), server_default="", nullable=False),
        sa.Column("join_source", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("operator_user_id", sa.String(), server_default="", nullable=False),
        sa.Column("ex", sa.String(), server_default="", nullable=False),
        sa.Column("mute_end_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("inviter_user_id", sa.String(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_members")),
    )
    op.create_index(
        op.f("ix_group_members_group_id_role_level_join_time"),
        "group_members",
        ["group_id", "role_level", "join_time"],
        unique=False,
    )
    op.create_index(op.f("ix_group_members_user_id"), "group_members", ["user_id"], unique=False)


def _group_requests() -> None:
    op.create_table(
        "group_requests",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("handle_result", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("req_msg", sa.String(), server_default="", nullable=False),
        sa.Column("handle_msg", sa.String(), server_default="", nullable=False),
        sa.Column("req_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("handle_user_id", sa.String(), server_default="", nullable=False),
        sa.Column("handle_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("join_source", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("inviter_user_id", sa.String(), server_default="", nullable=False),
        sa.Column("ex", sa.String(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_requests")),
    )
    op.create_index(op.f("ix_group_requests_user_id"), "group_requests", ["user_id"], unique=False)


def _groups() -> None:
    op.create_table(
        "groups",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("group_name", sa.String(), server_default="", nullable=False),
        sa.Column("notification", sa.String(), server_default="", nullable=False),
        sa.Column("introduction", sa.String(), server_default="", nullable=False),
        sa.Column("face_url", sa.String(), server_default="", nullable=False),
        sa.Column("owner_user_id", sa.String(), server_default="", nullable=False),
        sa.Column("create_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("ex", sa.String(), server_default="", nullable=False),
        sa.Column("status", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("creator_user_id", sa.String(), server_default="", nullable=False),
        sa.Column("group_type", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("need_verification", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("look_member_info", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("apply_member_friend", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("notification_update_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("notification_user_id", sa.String(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_groups")),
    )


def _hidden_messages() -> None:
    op.create_table(
        "hidden_messages",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "conversation_id", "seq", name=op.f("pk_hidden_messages")),
    )


def _messages() -> None:
    op.create_table(
        "messages",
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("send_id", sa.String(), server_default="", nullable=False),
        sa.Column("client_msg_id", sa.String(), server_default="", nullable=False),
        sa.Column("server_msg_id", sa.String(), server_default="", nullable=False),
        sa.Column("send_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("session_type", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("content_type", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("recv_id", sa.String(), server_default="", nullable=False),
        sa.Column("group_id", sa.String(), server_default="", nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("revoke", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("conversation_id", "seq", name=op.f("pk_messages")),
    )
    op.create_index(op.f("ix_messages_send_id_client_msg_id"), "messages", ["send_id", "client_msg_id"], unique=True)


def _tokens() -> None:
    op.create_table(
        "tokens",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("state", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("expire_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("create_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "platform_id", "token", name=op.f("pk_tokens")),
    )
    op.create_index(op.f("ix_tokens_expire_time"), "tokens", ["expire_time"], unique=False)


def _user_conversations() -> None:
    op.create_table(
        "user_conversations",
        sa.Column("owner_user_id", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("conversation_type", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("user_id", sa.String(), server_default="", nullable=False),
        sa.Column("group_id", sa.String(), server_default="", nullable=False),
        sa.Column("recv_msg_opt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_pinned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_private_chat", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("burn_duration", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("group_at_type", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("attached_info", sa.String(), server_default="", nullable=False),
        sa.Column("ex", sa.String(), server_default="", nullable=False),
        sa.Column("min_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("has_read_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("msg_destruct_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_msg_destruct", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("latest_msg_destruct_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("create_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("update_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("owner_user_id", "conversation_id", name=op.f("pk_user_conversations")),
    )
    op.create_index(
        op.f("ix_user_conversations_conversation_id"), "user_conversations", ["conversation_id"], unique=False
    )


def _users() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("nickname", sa.String(), server_default="", nullable=False),
        sa.Column("face_url", sa.String(), server_default="", nullable=False),
        sa.Column("ex", sa.String(), server_default="", nullable=False),
        sa.Column("create_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("app_manager_level", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("global_recv_msg_opt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
    )
    op.create_index(op.f("ix_users_create_time_user_id"), "users", ["create_time", "user_id"], unique=False)


def _version_log_entries() -> None:
    op.create_table(
        "version_log_entries",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("d_id", sa.String(), nullable=False),
        sa.Column("e_id", sa.String(), nullable=False),
        sa.Column("state", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("kind", "d_id", "e_id", name=op.f("pk_version_log_entries")),
    )
    op.create_index(
        op.f("ix_version_log_entries_kind_d_id_version"),
        "version_log_entries",
        ["kind", "d_id", "version"],
        unique=False,
    )


def _version_logs() -> None:
    op.create_table(
        "version_logs",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("d_id", sa.String(), nullable=False),
        sa.Column("version_id", sa.String(length=24), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("kind", "d_id", name=op.f("pk_version_logs")),
    )


def downgrade() -> None:
    op.drop_table("version_logs")
    op.drop_index(op.f("ix_version_log_entries_kind_d_id_version"), table_name="version_log_entries")

    op.drop_table("version_log_entries")
    op.drop_index(op.f("ix_users_create_time_user_id"), table_name="users")

    op.drop_table("users")
    op.drop_index(op.f("ix_user_conversations_conversation_id"), table_name="user_conversations")

    op.drop_table("user_conversations")
    op.drop_index(op.f("ix_tokens_expire_time"), table_name="tokens")

    op.drop_table("tokens")
    op.drop_index(op.f("ix_messages_send_id_client_msg_id"), table_name="messages")

    op.drop_table("messages")
    op.drop_table("hidden_messages")
    op.drop_table("groups")
    op.drop_index(op.f("ix_group_requests_user_id"), table_name="group_requests")

    op.drop_table("group_requests")
    op.drop_index(op.f("ix_group_members_user_id"), table_name="group_members")
    op.drop_index(op.f("ix_group_members_group_id_role_level_join_time"), table_name="group_members")

    op.drop_table("group_members")
    op.drop_index(op.f("ix_friends_friend_user_id"), table_name="friends")

    op.drop_table("friends")
    op.drop_index(op.f("ix_friend_requests_to_user_id_create_time"), table_name="friend_requests")

    op.drop_table("friend_requests")
    op.drop_table("conversation_seqs")
    op.drop_table("blacks")
