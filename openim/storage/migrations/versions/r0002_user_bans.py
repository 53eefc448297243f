"""User bans: the operator's "block" of the web console (no token is issued to a banned user).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Must run offline too (PostgreSQL is migrated from rendered SQL): no reads, no Python-side data logic;
express data changes as SQL (op.execute) or op.bulk_insert.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "user_bans",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), server_default="", nullable=False),
        sa.Column("operator_user_id", sa.String(), server_default="", nullable=False),
        sa.Column("create_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_bans")),
    )


def downgrade() -> None:
    op.drop_table("user_bans")
