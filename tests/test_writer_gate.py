"""SQLite writers queue at the database's in-process gate from BEGIN until COMMIT or ROLLBACK has run,
never longer; a writer that waited too long goes on to SQLite's own lock, and the chain stays whole."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import text

from casework import audit
from casework.audit import Tag
from casework.audit.verify import verify_database
from casework.db import WriterGate, writer_gate
from casework.extensions import db

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def gate(ctx: None) -> WriterGate:
    return writer_gate(db.engine)


def test_the_gate_is_held_for_the_transaction_only(gate: WriterGate) -> None:
    assert not gate.held
    audit.record(None, Tag.KEYS_INIT)
    assert gate.held  # the session's transaction has begun
    db.session.commit()
    assert not gate.held
    audit.record(None, Tag.KEYS_INIT)
    db.session.rollback()
    assert not gate.held
    with db.engine.begin() as conn:
        conn.execute(text("SELECT 1"))
        assert gate.held
    assert not gate.held


def test_a_connection_lost_in_a_transaction_gives_the_gate_back(gate: WriterGate) -> None:
    conn = db.engine.connect()
    conn.begin()
    assert gate.held
    conn.invalidate()
    assert not gate.held
    conn.close()
    with db.engine.begin() as other:  # the next writer gets in
        other.execute(text("SELECT 1"))


def test_every_engine_on_one_database_file_queues_at_one_gate(app: Flask) -> None:
    from sqlalchemy import create_engine

    with app.app_context():
        other = create_engine(db.engine.url)
        try:
            assert writer_gate(other) is writer_gate(db.engine)
        finally:
            other.dispose()


def test_a_writer_that_waited_too_long_goes_on_to_sqlite_s_own_wait(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        gate = writer_gate(db.engine)
        monkeypatch.setattr(gate, "timeout", 0.01)
        audit.record(None, Tag.KEYS_INIT)  # holds the gate and SQLite's lock
        done = threading.Event()
        errors: list[BaseException] = []

        def other_writer() -> None:
            try:
                with app.app_context():
                    audit.record(None, Tag.ACCESS_REFUSED, outcome="refused")
                    db.session.commit()
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                done.set()

        worker = threading.Thread(target=other_writer)
        worker.start()
        # Past the gate's timeout the other writer waits in SQLite: it cannot finish before us.
        assert not done.wait(0.3)
        db.session.commit()
        worker.join(30)
        assert errors == [] and not gate.held
        report = verify_database()
        assert report.ok and report.checked == 2
