"""Client logs: the log files clients uploaded through the object storage (/third/logs/*).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Must run offline too (PostgreSQL is migrated from rendered SQL): no reads, no Python-side data logic;
express data changes as SQL (op.execute) or op.bulk_insert.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(), server_default="", nullable=False)


def upgrade() -> None:
    op.create_table(
        "client_logs",
        sa.Column("log_id", sa.String(), nullable=False),
        _text("user_id"),
        _text("platform"),
        _text("url"),
        _text("file_name"),
        _text("system_type"),
        _text("app_framework"),
        _text("version"),
        _text("ex"),
        sa.Column("create_time", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_client_logs")),
    )
    op.create_index(op.f("ix_client_logs_create_time"), "client_logs", ["create_time"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_client_logs_create_time"), table_name="client_logs")
    op.drop_table("client_logs")
