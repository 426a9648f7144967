"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 00:41:08.835502
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.columns

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('businessunit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('businessunit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_businessunit_name'), ['name'], unique=True)

    op.create_table('conversation_reference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('scope_id', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('updated_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'scope', 'scope_id')
    )
    op.create_table('digest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('week_key', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('posted_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'week_key')
    )
    op.create_table('person',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.Column('away_until', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('declared', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_key'), ['key'], unique=True)

    op.create_table('ml_model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('deployed_on', sa.Date(), nullable=True),
    sa.Column('kpi', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('cadence', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('retired_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retired_by_id', sa.Integer(), nullable=True),
    sa.Column('health', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('health_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('health_checked_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_answer', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('last_answer_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('response_rate', sa.Float(), nullable=True),
    sa.Column('open_reports', sa.Integer(), nullable=False),
    sa.Column('deprecation_candidate_since', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deprecation_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('created_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['retired_by_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['businessunit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ml_model', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ml_model_key'), ['key'], unique=True)
        batch_op.create_index(batch_op.f('ix_ml_model_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_ml_model_unit_status', ['unit_id', 'status'], unique=False)

    op.create_table('outbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('thread_of_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('not_before', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('sent_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['thread_of_id'], ['outbound_message.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_message_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_outbound_pending', ['status', 'not_before'], unique=False)

    op.create_table('platformidentity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'external_id')
    )
    with op.batch_alter_table('platformidentity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_platformidentity_person_id'), ['person_id'], unique=False)

    op.create_table('review_forum',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('schedule', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('announce_days_ahead', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['businessunit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_forum', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_forum_unit_id'), ['unit_id'], unique=False)

    op.create_table('unitcontact',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['businessunit.id'], ),
    sa.PrimaryKeyConstraint('unit_id', 'person_id')
    )
    with op.batch_alter_table('unitcontact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unitcontact_person_id'), ['person_id'], unique=False)

    op.create_table('checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('period_key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('due_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_ends_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('snoozes', sa.Integer(), nullable=False),
    sa.Column('snoozed_until', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_action_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('answered_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('business_change', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
    sa.Column('reassigned_from_id', sa.Integer(), nullable=True),
    sa.Column('reassigned_to_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['reassigned_from_id'], ['checkin.id'], ),
    sa.ForeignKeyConstraint(['reassigned_to_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('model_id', 'person_id', 'period_key', name='uq_checkin_model_person_period')
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_model_due', ['model_id', 'due_at'], unique=False)
        batch_op.create_index('ix_checkin_next_action', ['next_action_at'], unique=False)
        batch_op.create_index('ix_checkin_person_status', ['person_id', 'status'], unique=False)

    op.create_table('forum_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('announced_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=True),
    sa.ForeignKeyConstraint(['forum_id'], ['review_forum.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('forum_id', 'starts_at')
    )
    with op.batch_alter_table('forum_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forum_session_starts_at'), ['starts_at'], unique=False)

    op.create_table('modelhealthevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('health', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('modelhealthevent', schema=None) as batch_op:
        batch_op.create_index('ix_modelhealthevent_model_at', ['model_id', 'at'], unique=False)

    op.create_table('stakeholder',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('next_due_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('model_id', 'person_id')
    )
    with op.batch_alter_table('stakeholder', schema=None) as batch_op:
        batch_op.create_index('ix_stakeholder_next_due', ['next_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stakeholder_person_id'), ['person_id'], unique=False)

    op.create_table('action_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('done_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_followup_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['forum_session.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('action_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_item_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_item_session_id'), ['session_id'], unique=False)

    op.create_table('agenda_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['forum_session.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_item_session_id'), ['session_id'], unique=False)

    op.create_table('checkin_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('business_change', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=False),
    sa.Column('answered_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkin.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('checkin_answer', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_answer_checkin', ['checkin_id', 'answered_at'], unique=False)

    op.create_table('failure_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('receipt_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('what_happened', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('since', sa.Date(), nullable=True),
    sa.Column('impact', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('frequency', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('root_cause', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('analysis', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
    sa.Column('resolution', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkin.id'], ),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], ),
    sa.ForeignKeyConstraint(['reporter_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('receipt_code')
    )
    with op.batch_alter_table('failure_report', schema=None) as batch_op:
        batch_op.create_index('ix_failure_report_model_status', ['model_id', 'status'], unique=False)

    op.create_table('forum_rsvp',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('response', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['forum_session.id'], ),
    sa.PrimaryKeyConstraint('session_id', 'person_id')
    )
    op.create_table('forum_topic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['forum_session.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['businessunit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('forum_topic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forum_topic_unit_id'), ['unit_id'], unique=False)

    op.create_table('success_story',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('headline', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('business_change', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('impact_metric', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('impact_value', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('posted_at', storage.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source_checkin_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], ),
    sa.ForeignKeyConstraint(['source_checkin_id'], ['checkin.id'], ),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('success_story', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_success_story_model_id'), ['model_id'], unique=False)

    op.create_table('report_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
    sa.Column('at', storage.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['report_id'], ['failure_report.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_event_report_id'), ['report_id'], unique=False)

    op.create_table('story_contributor',
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['story_id'], ['success_story.id'], ),
    sa.PrimaryKeyConstraint('story_id', 'person_id')
    )


def downgrade() -> None:
    op.drop_table('story_contributor')
    with op.batch_alter_table('report_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_event_report_id'))

    op.drop_table('report_event')
    with op.batch_alter_table('success_story', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_success_story_model_id'))

    op.drop_table('success_story')
    with op.batch_alter_table('forum_topic', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forum_topic_unit_id'))

    op.drop_table('forum_topic')
    op.drop_table('forum_rsvp')
    with op.batch_alter_table('failure_report', schema=None) as batch_op:
        batch_op.drop_index('ix_failure_report_model_status')

    op.drop_table('failure_report')
    with op.batch_alter_table('checkin_answer', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_answer_checkin')

    op.drop_table('checkin_answer')
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agenda_item_session_id'))

    op.drop_table('agenda_item')
    with op.batch_alter_table('action_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_item_session_id'))
        batch_op.drop_index(batch_op.f('ix_action_item_owner_id'))

    op.drop_table('action_item')
    with op.batch_alter_table('stakeholder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stakeholder_person_id'))
        batch_op.drop_index('ix_stakeholder_next_due')

    op.drop_table('stakeholder')
    with op.batch_alter_table('modelhealthevent', schema=None) as batch_op:
        batch_op.drop_index('ix_modelhealthevent_model_at')

    op.drop_table('modelhealthevent')
    with op.batch_alter_table('forum_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forum_session_starts_at'))

    op.drop_table('forum_session')
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_person_status')
        batch_op.drop_index('ix_checkin_next_action')
        batch_op.drop_index('ix_checkin_model_due')

    op.drop_table('checkin')
    with op.batch_alter_table('unitcontact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unitcontact_person_id'))

    op.drop_table('unitcontact')
    with op.batch_alter_table('review_forum', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_forum_unit_id'))

    op.drop_table('review_forum')
    with op.batch_alter_table('platformidentity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_platformidentity_person_id'))

    op.drop_table('platformidentity')
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_pending')
        batch_op.drop_index(batch_op.f('ix_outbound_message_person_id'))

    op.drop_table('outbound_message')
    with op.batch_alter_table('ml_model', schema=None) as batch_op:
        batch_op.drop_index('ix_ml_model_unit_status')
        batch_op.drop_index(batch_op.f('ix_ml_model_owner_id'))
        batch_op.drop_index(batch_op.f('ix_ml_model_key'))

    op.drop_table('ml_model')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_key'))

    op.drop_table('person')
    op.drop_table('digest')
    op.drop_table('conversation_reference')
    with op.batch_alter_table('businessunit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_businessunit_name'))

    op.drop_table('businessunit')
