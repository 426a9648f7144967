"""form drafts: the state of an open form too large for the platform to carry

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.columns

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_draft",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), primary_key=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", storage.columns.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_form_draft_created_at", "form_draft", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_form_draft_created_at", table_name="form_draft")
    op.drop_table("form_draft")
