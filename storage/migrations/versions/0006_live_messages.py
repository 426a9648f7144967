"""outbox: live messages. A sent message has a revision and can be stale; messages are found by kind and subject; updates are no longer rows of their own

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    # An update still waiting as a row of its own becomes what it now is: its message, stale.
    op.execute(
        "UPDATE outbound_message SET status = 'stale' WHERE status = 'sent' AND id IN "
        "(SELECT replaces_id FROM outbound_message WHERE replaces_id IS NOT NULL AND status = 'queued')"
    )
    op.execute("DELETE FROM outbound_message WHERE replaces_id IS NOT NULL")
    with op.batch_alter_table("outbound_message") as batch:
        batch.drop_index("ix_outbound_message_replaces_id")
        batch.drop_column("replaces_id")
        batch.create_index("ix_outbound_subject", ["kind", "subject_id"])
    with op.batch_alter_table("outbound_message") as batch:
        batch.alter_column("revision", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch:
        batch.drop_index("ix_outbound_subject")
        batch.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch.create_index("ix_outbound_message_replaces_id", ["replaces_id"])
        batch.drop_column("revision")
    op.execute("UPDATE outbound_message SET status = 'sent' WHERE status = 'stale'")
