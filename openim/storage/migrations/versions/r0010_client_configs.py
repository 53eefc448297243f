"""Client configuration: the settings an operator hands to the apps (/user/*_user_client_config).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Must run offline too (PostgreSQL is migrated from rendered SQL): no reads, no Python-side data logic.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "client_configs",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_client_configs")),
    )


def downgrade() -> None:
    op.drop_table("client_configs")
