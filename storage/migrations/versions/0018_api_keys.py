"""api keys and the first answers of requests made once

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The till API (bot.api): keys kept as hashes, and the first answer to each sale
    # (by its Idempotency-Key, or its store and receipt) for the till's retries.
    op.create_table(
        'api_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=True),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_api_keys_store_id_stores')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
        sa.UniqueConstraint('name', name=op.f('uq_api_keys_name')),
        sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_api_keys_secret_hash')),
    )
    op.create_table(
        'api_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=320), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_answers')),
        sa.UniqueConstraint('scope', name=op.f('uq_api_answers_scope')),
    )
    with op.batch_alter_table('api_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_answers_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_answers_created_at'))
    op.drop_table('api_answers')
    op.drop_table('api_keys')
