"""events and checkins

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('title_en', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('joined', sa.Integer(), nullable=False),
    sa.Column('min_tier', sa.String(length=32), nullable=True),
    sa.Column('stages', sa.JSON(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_events_created_by_staff')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_events_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('code', name=op.f('uq_events_code'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_starts_at', ['starts_at'], unique=False)

    op.create_table('event_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('ledger_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('marked_by_staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_signups_event_id_events')),
    sa.ForeignKeyConstraint(['ledger_id'], ['points_ledger.id'], name=op.f('fk_event_signups_ledger_id_points_ledger')),
    sa.ForeignKeyConstraint(['marked_by_staff_id'], ['staff.id'], name=op.f('fk_event_signups_marked_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_event_signups_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_signups'))
    )
    with op.batch_alter_table('event_signups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_signups_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_signups_member_id'), ['member_id'], unique=False)
        batch_op.create_index('uq_event_signups_active', ['event_id', 'member_id'], unique=True, sqlite_where=sa.text("status != 'cancelled'"), postgresql_where=sa.text("status != 'cancelled'"))

    op.create_table('checkins',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('bonus', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_checkins_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', 'day', name=op.f('pk_checkins'))
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_day', ['day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_day')

    op.drop_table('checkins')
    with op.batch_alter_table('event_signups', schema=None) as batch_op:
        batch_op.drop_index('uq_event_signups_active', sqlite_where=sa.text("status != 'cancelled'"), postgresql_where=sa.text("status != 'cancelled'"))
        batch_op.drop_index(batch_op.f('ix_event_signups_member_id'))
        batch_op.drop_index(batch_op.f('ix_event_signups_event_id'))

    op.drop_table('event_signups')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_starts_at')

    op.drop_table('events')
