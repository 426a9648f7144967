"""forums: one series per unit, each session's zone and notes, action item follow-ups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:02:04
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("action_item") as batch:
        batch.add_column(sa.Column("done_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("next_followup_at", storage.columns.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("followups", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("created_at", storage.columns.UTCDateTime(timezone=True), nullable=False, server_default=sa.func.now()))
        batch.create_index("ix_action_item_followup", ["next_followup_at"], unique=False)
        batch.create_unique_constraint("uq_action_item_session_owner_text", ["session_id", "owner_id", "text"])
        batch.create_foreign_key("fk_action_item_done_by", "person", ["done_by_id"], ["id"])
    with op.batch_alter_table("forum_session") as batch:
        batch.add_column(sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default="UTC"))
        batch.add_column(sa.Column("notes_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("notes_at", storage.columns.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancelled_at", storage.columns.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("agenda_built_at", storage.columns.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_forum_session_notes_by", "person", ["notes_by_id"], ["id"])
    with op.batch_alter_table("review_forum") as batch:
        batch.drop_index("ix_review_forum_unit_id")
        batch.create_unique_constraint("uq_review_forum_unit_id", ["unit_id"])


def downgrade() -> None:
    with op.batch_alter_table("review_forum") as batch:
        batch.drop_constraint("uq_review_forum_unit_id", type_="unique")
        batch.create_index("ix_review_forum_unit_id", ["unit_id"], unique=False)
    with op.batch_alter_table("forum_session") as batch:
        batch.drop_constraint("fk_forum_session_notes_by", type_="foreignkey")
        for column in ("agenda_built_at", "cancelled_at", "notes_at", "notes_by_id", "timezone"):
            batch.drop_column(column)
    with op.batch_alter_table("action_item") as batch:
        batch.drop_constraint("fk_action_item_done_by", type_="foreignkey")
        batch.drop_constraint("uq_action_item_session_owner_text", type_="unique")
        batch.drop_index("ix_action_item_followup")
        for column in ("created_at", "followups", "next_followup_at", "done_by_id"):
            batch.drop_column(column)
