"""messages.is_read: OpenIM's per-message read flag, so a fresh pull shows the read ticks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

OpenIM keeps, per message, whether a user other than its sender marked it read (mark-as-read of a single
chat), and every pull returns it as MsgData.isRead; a client that pulls history on a new device or after
a new login shows its sent messages as read from it. Adding the column is instant on both backends (a
constant default).

The messages read before this revision are flagged from the read marks already recorded: a single-chat
message counts as read when the other participant's has_read_seq reached it. That mark also rises when
the participant sends, so a message he answered without opening the chat counts as read too; nothing
more exact was recorded before. The backfill reads each single-chat message once (one statement).

Must run offline too (PostgreSQL is migrated from rendered SQL): no reads, no Python-side data logic.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

SINGLE_CHAT = 1


def upgrade() -> None:
    op.add_column("messages", sa.Column("is_read", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE messages SET is_read = TRUE "
        f"WHERE session_type = {SINGLE_CHAT} AND EXISTS (SELECT 1 FROM user_conversations c "
        "WHERE c.conversation_id = messages.conversation_id AND c.owner_user_id <> messages.send_id "
        "AND c.has_read_seq >= messages.seq)"
    )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("is_read")
