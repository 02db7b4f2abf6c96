"""data keys: one per person and per case, wrapped by a master key

Revision ID: c2c7b0de0002
Revises: b1a7c0de0001
Create Date: 2026-11-29 13:10:00

A shredded key keeps its row (owner, version, shredded_at) with no key bytes: see docs/crypto.md.
The encrypted columns of people and cases arrive with their tables, in later revisions.
"""
from alembic import op
import sqlalchemy as sa

import casework.db


# revision identifiers, used by Alembic.
revision = 'c2c7b0de0002'
down_revision = 'b1a7c0de0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_key',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_kind', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('master_key_id', sa.String(length=64), nullable=True),
    sa.Column('wrapped_key', sa.LargeBinary(length=40), nullable=True),
    sa.Column('created_at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rewrapped_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shredded_at', casework.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("owner_kind IN ('person', 'case')", name=op.f('ck_data_key_known_owner_kind')),
    sa.CheckConstraint('(wrapped_key IS NOT NULL AND master_key_id IS NOT NULL AND shredded_at IS NULL) OR (wrapped_key IS NULL AND master_key_id IS NULL AND shredded_at IS NOT NULL)', name=op.f('ck_data_key_wrapped_or_shredded')),
    sa.CheckConstraint('key_version >= 1', name=op.f('ck_data_key_key_version_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_key')),
    sa.UniqueConstraint('owner_kind', 'owner_id', 'key_version', name=op.f('uq_data_key_owner_kind_owner_id_key_version'))
    )
    with op.batch_alter_table('data_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_key_master_key_id'), ['master_key_id'], unique=False)


def downgrade():
    with op.batch_alter_table('data_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_key_master_key_id'))

    op.drop_table('data_key')
