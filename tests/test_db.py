"""Statements run on the driver's own cursor behave as any other: in the session's transaction, and
failing with SQLAlchemy's errors."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc, func, select

from casework import audit
from casework.audit import Tag
from casework.audit.models import AuditEvent
from casework.db import BUSY_TIMEOUT_MS, driver_execute, writer_gate
from casework.extensions import db
from tests.cases.conftest import open_case, org  # noqa: F401 (fixture)


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_a_driver_statement_that_fails_raises_sqlalchemy_error_and_the_session_recovers(ctx):  # type: ignore[no-untyped-def]
    conn = db.session.connection()
    with pytest.raises(exc.DBAPIError) as failed:
        driver_execute(conn, "SELECT nothing FROM no_such_table")
    assert failed.value.orig is not None  # the driver's own error, kept for the logs
    db.session.rollback()
    audit.record(None, Tag.ACCESS_REFUSED, outcome="refused", object_type="test")
    db.session.commit()
    assert _events() == 1


def test_an_append_rolled_back_with_its_transaction_leaves_no_event(ctx):  # type: ignore[no-untyped-def]
    audit.record(None, Tag.ACCESS_REFUSED, outcome="refused", object_type="test")
    db.session.rollback()
    assert _events() == 0
    audit.record(None, Tag.ACCESS_REFUSED, outcome="refused", object_type="test")
    db.session.commit()
    assert db.session.scalar(select(AuditEvent.seq)) == 1


@pytest.mark.sqlite_only
def test_a_begin_sqlite_refuses_raises_sqlalchemy_error_and_lets_the_next_writer_in(ctx):  # type: ignore[no-untyped-def]
    other = sqlite3.connect(db.engine.url.database, isolation_level=None)  # another process, say
    other.execute("BEGIN IMMEDIATE")
    conn = db.engine.connect()
    driver = conn.connection.dbapi_connection
    driver.execute("PRAGMA busy_timeout=50")
    try:
        with pytest.raises(exc.OperationalError):
            conn.begin()
        assert not writer_gate(db.engine).held
    finally:
        other.rollback()
        other.close()
        driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.close()
    audit.record(None, Tag.ACCESS_REFUSED, outcome="refused", object_type="test")
    db.session.commit()
    assert _events() == 1


@pytest.mark.sqlite_only
def test_the_deadlines_check_gives_sqlites_planner_its_statistics(app, org):  # type: ignore[no-untyped-def]  # noqa: F811
    from sqlalchemy import text

    open_case(org["officer_c1"])
    result = app.test_cli_runner().invoke(args=["deadlines", "check"])
    assert result.exit_code == 0, result.output
    indexes = db.session.scalars(text("SELECT idx FROM sqlite_stat1 WHERE tbl = 'case_file'"))
    assert "ix_case_file_owning_classified" in set(indexes)
