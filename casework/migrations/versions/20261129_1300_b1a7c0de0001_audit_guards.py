"""audit guards: append-only triggers, signed checkpoints, viewer indexes

Revision ID: b1a7c0de0001
Revises: 2a74e68e9fc8
Create Date: 2026-11-29 13:00:00

The triggers are the same statements casework/audit/models.py attaches to create_all (copied here, as
a migration must not change when the models do; tests/audit compare the two). A later SQLite batch
migration that copies audit_event or audit_checkpoint drops their triggers with the old table and
must create them again.
"""
from alembic import op
import sqlalchemy as sa

import casework.db


# revision identifiers, used by Alembic.
revision = 'b1a7c0de0001'
down_revision = '2a74e68e9fc8'
branch_labels = None
depends_on = None

TABLES = ("audit_event", "audit_checkpoint")

PG_FUNCTION = """\
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING
    MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused',
    ERRCODE = 'insufficient_privilege';
END
$$"""


def _guards(dialect, table):
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END",
        ]
    if dialect == "postgresql":
        return [
            PG_FUNCTION,
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
        ]
    return []


def _drop_guards(dialect, table):
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        ]
    return []


def upgrade():
    op.create_table('audit_checkpoint',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('at', casework.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['seq'], ['audit_event.seq'], name=op.f('fk_audit_checkpoint_seq_audit_event'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_checkpoint'))
    )
    # Plain CREATE INDEX (no batch mode): a batch copy of audit_event would drop its triggers.
    op.create_index('ix_audit_event_object', 'audit_event', ['object_type', 'object_id'], unique=False)
    op.create_index('ix_audit_event_actor_unit_id', 'audit_event', ['actor_unit_id'], unique=False)

    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for statement in _guards(dialect, table):
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for statement in _drop_guards(dialect, table):
            op.execute(statement)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")

    op.drop_index('ix_audit_event_actor_unit_id', table_name='audit_event')
    op.drop_index('ix_audit_event_object', table_name='audit_event')
    op.drop_table('audit_checkpoint')
