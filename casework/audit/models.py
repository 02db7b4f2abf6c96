"""Audit events: append-only rows, each hash-chained to the one before; signed checkpoints of the chain.

The database itself refuses UPDATE and DELETE of both tables (and TRUNCATE on PostgreSQL). The guards
are attached to the tables here, so `create_all` (the tests) builds them, and migration b1a7c0de0001
builds the same ones for databases made by `casework init`. A later SQLite batch migration that copies
one of these tables drops its triggers with the old table: it must create them again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DDL,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import UTCDateTime
from casework.extensions import db

OUTCOMES = ("ok", "refused", "error")

_SEQ = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        CheckConstraint(f"outcome IN {OUTCOMES!r}", name="known_outcome"),
        # "Who has seen this" and the reviewer's unit scope.
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_actor_unit_id", "actor_unit_id"),
        # A user's events of one kind since a moment: the search's rate limit counts them on every
        # search, and a user's own events number in the tens of thousands a year (every read is
        # recorded). Its first column serves the lookups by user alone.
        Index("ix_audit_event_actor_tag_at", "actor_id", "tag", "at"),
    )

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_unit_id: Mapped[int | None] = mapped_column(Integer)
    actor_partner_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    tag: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(8))
    request_id: Mapped[str | None] = mapped_column(String(32))
    client_address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    def __repr__(self) -> str:
        return f"<AuditEvent seq={self.seq} tag={self.tag}>"


class AuditCheckpoint(db.Model):
    """The chain's head hash at one sequence number, signed with a key derived from a master key.

    Ed25519 (algorithm "ed25519"): key_id names the signing key, public_key is a copy of its public
    half for exports (never trusted: verification takes the key from the keyring). Rows made before
    Ed25519 are "hmac-sha256", keyed by the master key named in key_id, and have no public key.
    """

    __tablename__ = "audit_checkpoint"

    seq: Mapped[int] = mapped_column(
        _SEQ,
        ForeignKey("audit_event.seq", ondelete="RESTRICT"),
        primary_key=True,
        autoincrement=False,
    )
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    algorithm: Mapped[str] = mapped_column(String(16), server_default="hmac-sha256")
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    def __repr__(self) -> str:
        return f"<AuditCheckpoint seq={self.seq}>"


# --- Database guards ---------------------------------------------------------------------------
# The same statements are copied into migration b1a7c0de0001; tests/audit compare the two.

GUARDED_TABLES = ("audit_event", "audit_checkpoint")

PG_FUNCTION = """\
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING
    MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused',
    ERRCODE = 'insufficient_privilege';
END
$$"""


def sqlite_guards(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END",
    ]


def postgresql_guards(table: str) -> list[str]:
    return [
        PG_FUNCTION,
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
    ]


def guard_statements(dialect: str, table: str) -> list[str]:
    """The statements that make one audit table append-only on this database."""
    if dialect == "sqlite":
        return sqlite_guards(table)
    if dialect == "postgresql":
        return postgresql_guards(table)
    return []


def drop_guard_statements(dialect: str, table: str) -> list[str]:
    if dialect == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_update",
            f"DROP TRIGGER IF EXISTS {table}_no_delete",
        ]
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        ]
    return []


def _attach_guards() -> None:
    for model in (AuditEvent, AuditCheckpoint):
        table = model.__table__
        for dialect in ("sqlite", "postgresql"):
            for statement in guard_statements(dialect, table.name):
                # No '%' in these statements: DDL would read it as a substitution.
                event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))
    # The trigger function outlives its tables unless dropped with the last of them.
    event.listen(
        AuditEvent.__table__,
        "after_drop",
        DDL("DROP FUNCTION IF EXISTS audit_append_only()").execute_if(dialect="postgresql"),
    )


_attach_guards()
