"""staff language and shared pacing

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015'
down_revision: str | None = '0010'
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


def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('locale')
