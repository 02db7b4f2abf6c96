"""The database itself refuses to change or remove audit rows, whoever asks."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import exc, select, text

from casework import audit
from casework.audit import Tag, checkpoints
from casework.audit.models import AuditCheckpoint, AuditEvent
from casework.extensions import db
from tests.audit.chain import dialect
from tests.conftest import drop_everything

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "casework" / "migrations")
REVISION = "b1a7c0de0001"


def _two_events() -> None:
    audit.record(None, Tag.KEYS_INIT)
    audit.record(None, Tag.ACCESS_REFUSED, outcome="refused")
    db.session.commit()


def _refused(statement: str) -> None:
    with pytest.raises(exc.DatabaseError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()


def test_the_database_refuses_to_update_an_audit_event(ctx):
    _two_events()
    _refused("UPDATE audit_event SET outcome = 'ok' WHERE seq = 2")
    _refused("UPDATE audit_event SET details = '{}'")
    assert db.session.get(AuditEvent, 2).outcome == "refused"


def test_the_database_refuses_to_delete_an_audit_event(ctx):
    _two_events()
    _refused("DELETE FROM audit_event WHERE seq = 2")
    _refused("DELETE FROM audit_event")
    assert db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())) == 2


def test_the_orm_cannot_change_or_delete_an_audit_event_either(ctx):
    _two_events()
    event = db.session.get(AuditEvent, 1)
    event.tag = Tag.LOGOUT.value
    with pytest.raises(exc.DatabaseError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, 2))
    with pytest.raises(exc.DatabaseError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEvent, 1).tag == Tag.KEYS_INIT.value


def test_the_database_refuses_to_change_or_delete_a_checkpoint(ctx):
    _two_events()
    assert db.session.get(AuditCheckpoint, 1) is not None
    _refused("UPDATE audit_checkpoint SET key_id = 'forged'")
    _refused("DELETE FROM audit_checkpoint")


@pytest.mark.postgresql_only  # TRUNCATE exists on PostgreSQL only
def test_postgresql_refuses_to_truncate_the_audit_tables(ctx):
    _two_events()
    _refused("TRUNCATE audit_event CASCADE")
    _refused("TRUNCATE audit_checkpoint")


def _guards() -> list[tuple[str, ...]]:
    if dialect() == "sqlite":
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    else:
        sql = (
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "
            "AND tgrelid IN ('audit_event'::regclass, 'audit_checkpoint'::regclass) ORDER BY tgname"
        )
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def test_the_migration_builds_the_same_guards_as_the_models(app, monkeypatch):
    with app.app_context():
        from_models = _guards()
        assert len(from_models) == 4
        drop_everything()
        upgrade(directory=MIGRATIONS, revision=REVISION)
        assert _guards() == from_models
        # Events only: the checkpoint table's later columns are not there at this revision.
        monkeypatch.setattr(checkpoints, "due", lambda seq, last_at: False)
        _two_events()
        _refused("UPDATE audit_event SET outcome = 'ok'")
        _refused("DELETE FROM audit_event")
        downgrade(directory=MIGRATIONS, revision="2a74e68e9fc8")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar() == 2
        db.session.execute(text("DELETE FROM audit_event"))  # the guards went with the downgrade
        db.session.commit()
        drop_everything()
