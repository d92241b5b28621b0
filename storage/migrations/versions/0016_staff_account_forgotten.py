"""a removed staff member's chat account can be forgotten

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A removed staff member's row stays (sales and the audit log name them), but their
    # chat account is forgotten (core.people.erasure): the row then points to none.
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.alter_column('identity_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Fails while a removed staff member's account is forgotten: there is none to restore.
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.alter_column('identity_id', existing_type=sa.Integer(), nullable=False)
