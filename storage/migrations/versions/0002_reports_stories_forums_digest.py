"""reports, stories, forums and digest: the columns their flows need

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 03:07:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.columns

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("failure_report") as batch:
        batch.add_column(sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch.add_column(sa.Column("request_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True))
        batch.create_unique_constraint("uq_failure_report_request_key", ["request_key"])
    with op.batch_alter_table("success_story") as batch:
        batch.add_column(sa.Column("decline_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch.add_column(sa.Column("request_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True))
        batch.create_unique_constraint("uq_success_story_request_key", ["request_key"])
    with op.batch_alter_table("forum_session") as batch:
        batch.add_column(sa.Column("agenda_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table("outbound_message") as batch:
        batch.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch.create_index("ix_outbound_message_replaces_id", ["replaces_id"], unique=False)
    with op.batch_alter_table("review_forum") as batch:
        batch.add_column(sa.Column("from_config", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("digest") as batch:
        batch.add_column(sa.Column("covers_until", storage.columns.UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_checkin_closed", "checkin", ["closed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_checkin_closed", table_name="checkin")
    with op.batch_alter_table("digest") as batch:
        batch.drop_column("covers_until")
    with op.batch_alter_table("review_forum") as batch:
        batch.drop_column("from_config")
    with op.batch_alter_table("outbound_message") as batch:
        batch.drop_index("ix_outbound_message_replaces_id")
        batch.drop_column("replaces_id")
    with op.batch_alter_table("forum_session") as batch:
        batch.drop_column("agenda_hash")
    with op.batch_alter_table("success_story") as batch:
        batch.drop_constraint("uq_success_story_request_key", type_="unique")
        batch.drop_column("request_key")
        batch.drop_column("decline_reason")
    with op.batch_alter_table("failure_report") as batch:
        batch.drop_constraint("uq_failure_report_request_key", type_="unique")
        batch.drop_column("request_key")
        batch.drop_column("link")
