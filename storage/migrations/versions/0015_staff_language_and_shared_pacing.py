"""staff language and shared pacing

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Staff pushes are worded in the staff member's language; until they write again, the
    # language of their member profile, if they have one, else the shop's first.
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=10), server_default='zh_CN', nullable=False))
    op.execute(
        "UPDATE staff SET locale = (SELECT members.locale FROM channel_identities "
        "JOIN members ON members.id = channel_identities.member_id "
        "WHERE channel_identities.id = staff.identity_id) "
        "WHERE EXISTS (SELECT 1 FROM channel_identities JOIN members "
        "ON members.id = channel_identities.member_id "
        "WHERE channel_identities.id = staff.identity_id)"
    )


    # Telegram's limits (30 messages a second, one a second per chat) hold for every
    # dispatcher of the deployment together: the slots are reserved in the database.
    op.create_table('push_pacing',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('next_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('slow_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_push_pacing'))
    )
    with op.batch_alter_table('channel_identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_push_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('channel_identities', schema=None) as batch_op:
        batch_op.drop_column('next_push_at')
    op.drop_table('push_pacing')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('locale')
