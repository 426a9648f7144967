"""outbox: who holds a claim, so a sender can check it still does before each post; reports: a quoted message

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch:
        batch.add_column(sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table("failure_report") as batch:
        batch.add_column(sa.Column("quoted", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("failure_report") as batch:
        batch.drop_column("quoted")
    with op.batch_alter_table("outbound_message") as batch:
        batch.drop_column("claimed_by")
