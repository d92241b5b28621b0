"""chat receipt numbers, undone sales, entry keys, the sale of an upgrade

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_SALE = sa.text('undone_at IS NULL')


def upgrade() -> None:
    op.create_table('receipt_counters',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_receipt_counters_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', 'day', name=op.f('pk_receipt_counters'))
    )
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('entry_key', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_sales_entry_key'), ['entry_key'])
        # A receipt number is unique among the sales not undone: an undone one can be
        # entered again with the right amount.
        batch_op.drop_constraint('uq_sales_store_id', type_='unique')
        batch_op.create_index(
            'uq_sales_store_receipt_live',
            ['store_id', 'receipt_no'],
            unique=True,
            sqlite_where=LIVE_SALE,
            postgresql_where=LIVE_SALE,
        )
    # An upgrade names the sale that made it, so undoing that sale takes the upgrade back.
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sale_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tier_changes_sale_id_sales'), 'sales', ['sale_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tier_changes_sale_id_sales'), type_='foreignkey')
        batch_op.drop_column('sale_id')

    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.drop_index('uq_sales_store_receipt_live')
        batch_op.create_unique_constraint('uq_sales_store_id', ['store_id', 'receipt_no'])
        batch_op.drop_constraint(batch_op.f('uq_sales_entry_key'), type_='unique')
        batch_op.drop_column('entry_key')
        batch_op.drop_column('undone_at')

    op.drop_table('receipt_counters')
