"""webhooks: other systems' endpoints, and their deliveries in the outbox

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Signed events out (core.integrations.webhooks): each delivery is an outbox row.
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=True),
        sa.Column('secret', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_webhooks_store_id_stores')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks')),
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('about_member_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_outbox_webhook_id_webhooks'), 'webhooks', ['webhook_id'], ['id']
        )
        batch_op.create_index(
            'ix_outbox_webhook_order', ['webhook_id', 'about_member_id', 'id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_webhook_order')
        batch_op.drop_constraint(batch_op.f('fk_outbox_webhook_id_webhooks'), type_='foreignkey')
        batch_op.drop_column('about_member_id')
        batch_op.drop_column('webhook_id')
    op.drop_table('webhooks')
