"""conversation references: the names a renamed channel had, so app.yaml's name for it still finds it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_reference") as batch:
        batch.add_column(sa.Column("former_names", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation_reference") as batch:
        batch.drop_column("former_names")
