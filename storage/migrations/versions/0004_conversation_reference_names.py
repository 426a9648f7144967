"""conversation references: a channel's name (so app.yaml can name Teams channels) and the conversation id

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_reference") as batch:
        batch.add_column(sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True))
        batch.add_column(sa.Column("conversation_id", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True))
        batch.create_index("ix_conversation_reference_conversation_id", ["conversation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation_reference") as batch:
        batch.drop_index("ix_conversation_reference_conversation_id")
        batch.drop_column("conversation_id")
        batch.drop_column("name")
