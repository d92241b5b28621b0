"""migrated_balances: balances, tiers and spending brought from an old system

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-12
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `memberbot import balances` (core.ledger.moving_in): one row per member moved in, so
    # a re-import changes nothing and a changed figure is refused, not added twice.
    op.create_table(
        'migrated_balances',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('tier', sa.String(length=32), nullable=True),
        sa.Column('lifetime_spend_fen', sa.Integer(), nullable=True),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_migrated_balances_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_migrated_balances')),
        sa.UniqueConstraint('member_id', name=op.f('uq_migrated_balances_member_id')),
    )


def downgrade() -> None:
    op.drop_table('migrated_balances')
