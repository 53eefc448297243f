"""The durable queue of after-callbacks (webhook_queue): queued, retried and dead-lettered callbacks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Must run offline too (PostgreSQL is migrated from rendered SQL): no reads, no Python-side data logic.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
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
        "webhook_queue",
        sa.Column("entry_id", sa.String(), nullable=False),
        _text("hook"),
        _text("operation_id"),
        _text("body"),
        _int("attempts"),
        _text("last_error"),
        _big("created_at"),
        _big("due_at"),
        _big("lease_until"),
        _text("lease_owner"),
        _int("dead"),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_webhook_queue")),
    )
    op.create_index(op.f("ix_webhook_queue_dead_due_at"), "webhook_queue", ["dead", "due_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_queue_dead_due_at"), table_name="webhook_queue")
    op.drop_table("webhook_queue")
