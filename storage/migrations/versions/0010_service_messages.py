"""service messages

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('service_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['channel_identities.id'], name=op.f('fk_service_messages_identity_id_channel_identities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_messages'))
    )
    with op.batch_alter_table('service_messages', schema=None) as batch_op:
        batch_op.create_index('ix_service_messages_identity_sent', ['identity_id', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_messages_sent_at'), ['sent_at'], unique=False)

    # The pushes sent as customer-service messages so far count in the windows still open
    # (older ones are forgotten by the daily prune).
    op.execute(
        "INSERT INTO service_messages (identity_id, sent_at) "
        "SELECT identity_id, sent_at FROM outbox "
        "WHERE via = 'wechat_cs' AND identity_id IS NOT NULL AND sent_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('service_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_messages_sent_at'))
        batch_op.drop_index('ix_service_messages_identity_sent')

    op.drop_table('service_messages')
