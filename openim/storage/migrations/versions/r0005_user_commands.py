"""Per-user command lists (/user/process_user_command_*): favourites, pinned items, ...

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Must run offline too (PostgreSQL is migrated from rendered SQL): no reads, no Python-side data logic.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "user_commands",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(), nullable=False),
        sa.Column("value", sa.String(), server_default="", nullable=False),
        sa.Column("ex", sa.String(), server_default="", nullable=False),
        sa.Column("create_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "type", "uuid", name=op.f("pk_user_commands")),
    )


def downgrade() -> None:
    op.drop_table("user_commands")
