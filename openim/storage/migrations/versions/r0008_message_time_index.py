"""An index of messages by send time, for the operators' reports (search_msg and /statistics/*).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

``messages (send_time, session_type, send_id, group_id)``: /msg/search_msg over a day, and the active
users and groups of /statistics/*, read a time range of this index instead of the whole table, and the
statistics never read a message row (every column they count is in the index). Send times grow, so on
the send path new entries go to the right edge of the index: about one page more per batch, not one
random page per message as an index led by a user ID would cost.

Building it reads the whole messages table once, at the first start after the upgrade: on a large
database that start takes longer (PostgreSQL blocks writes to the table while it builds).

Must run offline too (PostgreSQL is migrated from rendered SQL): no reads, no Python-side data logic.
"""

from __future__ import annotations

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

INDEX = "ix_messages_send_time_session_type_send_id_group_id"


def upgrade() -> None:
    op.create_index(INDEX, "messages", ["send_time", "session_type", "send_id", "group_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="messages")
