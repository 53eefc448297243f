"""Uploads and offline push: stored objects (name -> blob), upload sessions, device push tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Must run offline too (PostgreSQL is migrated from rendered SQL): no reads, no Python-side data logic;
express data changes as SQL (op.execute) or op.bulk_insert.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(), server_default="", nullable=False)


def _big(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)


def _int(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "objects",
        sa.Column("name", sa.String(), nullable=False),
        _text("user_id"),
        _text("hash"),
        _text("key"),
        _big("size"),
        _text("content_type"),
        _text("cause"),
        _big("create_time"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_objects")),
    )
    op.create_index(op.f("ix_objects_hash"), "objects", ["hash"], unique=False)
    op.create_table(
        "uploads",
        sa.Column("upload_id", sa.String(), nullable=False),
        _text("user_id"),
        _text("name"),
        _text("hash"),
        _big("size"),
        _big("part_size"),
        _int("part_count"),
        _text("content_type"),
        _text("cause"),
        _text("key"),
        _text("backend_upload_id"),
        _big("expire_time"),
        sa.PrimaryKeyConstraint("upload_id", name=op.f("pk_uploads")),
    )
    op.create_index(op.f("ix_uploads_expire_time"), "uploads", ["expire_time"], unique=False)
    op.create_table(
        "device_tokens",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        _text("token"),
        _big("expire_time"),
        _big("update_time"),
        _int("badge"),
        sa.PrimaryKeyConstraint("user_id", "platform_id", name=op.f("pk_device_tokens")),
    )


def downgrade() -> None:
    op.drop_table("device_tokens")
    op.drop_index(op.f("ix_uploads_expire_time"), table_name="uploads")
    op.drop_table("uploads")
    op.drop_index(op.f("ix_objects_hash"), table_name="objects")
    op.drop_table("objects")
