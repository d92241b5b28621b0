"""campaign members given up

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given_up_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.drop_column('given_up_at')
