"""referrals and products

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'products',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('name_en', sa.String(length=100), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('price_fen', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
        sa.UniqueConstraint('code', name=op.f('uq_products_code')),
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_category'), ['category'], unique=False)

    op.create_table(
        'sale_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sale_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('amount_fen', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['product_id'], ['products.id'], name=op.f('fk_sale_lines_product_id_products')
        ),
        sa.ForeignKeyConstraint(['sale_id'], ['sales.id'], name=op.f('fk_sale_lines_sale_id_sales')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_lines')),
    )
    with op.batch_alter_table('sale_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sale_lines_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sale_lines_sale_id'), ['sale_id'], unique=False)

    op.create_table(
        'reward_stock',
        sa.Column('reward_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('stock', sa.Integer(), nullable=False),
        sa.Column('taken', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['product_id'], ['products.id'], name=op.f('fk_reward_stock_product_id_products')
        ),
        sa.ForeignKeyConstraint(
            ['reward_id'], ['rewards.id'], name=op.f('fk_reward_stock_reward_id_rewards')
        ),
        sa.PrimaryKeyConstraint('reward_id', name=op.f('pk_reward_stock')),
    )

    op.create_table(
        'invite_codes',
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['member_id'], ['members.id'], name=op.f('fk_invite_codes_member_id_members')
        ),
        sa.PrimaryKeyConstraint('member_id', name=op.f('pk_invite_codes')),
        sa.UniqueConstraint('code', name=op.f('uq_invite_codes_code')),
    )

    op.create_table(
        'referrals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('referrer_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('phone_digest', sa.String(length=64), nullable=False),
        sa.Column('via', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('rewarded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sale_id', sa.Integer(), nullable=True),
        sa.Column('referrer_points', sa.Integer(), nullable=False),
        sa.Column('welcome_points', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['member_id'], ['members.id'], name=op.f('fk_referrals_member_id_members')
        ),
        sa.ForeignKeyConstraint(
            ['referrer_id'], ['members.id'], name=op.f('fk_referrals_referrer_id_members')
        ),
        sa.ForeignKeyConstraint(['sale_id'], ['sales.id'], name=op.f('fk_referrals_sale_id_sales')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
        sa.UniqueConstraint('member_id', name=op.f('uq_referrals_member_id')),
        sa.UniqueConstraint('phone_digest', name=op.f('uq_referrals_phone_digest')),
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_referrer_id'), ['referrer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_referrer_id'))
    op.drop_table('referrals')
    op.drop_table('invite_codes')
    op.drop_table('reward_stock')
    with op.batch_alter_table('sale_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_lines_sale_id'))
        batch_op.drop_index(batch_op.f('ix_sale_lines_product_id'))
    op.drop_table('sale_lines')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_category'))
    op.drop_table('products')
