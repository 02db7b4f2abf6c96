"""A request's audit events are appended as its transaction commits, and on SQLite a request that
only reads runs without the write lock: other processes' readers and writers go on while a page is
put together, and the read is in the audit log before the page leaves."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from casework import audit
from casework.accounts.models import LoginFailure, UserSession
from casework.audit import Tag
from casework.audit import service as audit_service
from casework.audit.models import AuditEvent
from casework.audit.verify import verify_database
from casework.cases import sections
from casework.db import ReadRequestWrote, begin_writing, start_reading, stop_reading
from casework.extensions import db
from tests.cases.conftest import open_case
from tests.conftest import CANARY, age_rows, get_user


def _events(tag: Tag) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == tag.value)
    )


@contextmanager
def _reader() -> Iterator[None]:
    """Transactions begun inside run as a read-only request's."""
    token = start_reading()
    try:
        yield
    finally:
        stop_reading(token)


def _try_to_write(path: str) -> bool:
    """Whether another process could take SQLite's write lock at once."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


# --- The queue --------------------------------------------------------------------------------


def test_a_request_s_events_wait_for_its_commit_and_go_with_a_rollback(app: Flask) -> None:
    with app.test_request_context():
        db.session.info[audit_service.DEFER] = True
        assert audit.record(None, Tag.KEYS_INIT) is None
        assert audit_service.queued(db.session) == 1
        assert _events(Tag.KEYS_INIT) == 0  # not yet in the table
        db.session.commit()
        assert _events(Tag.KEYS_INIT) == 1

        audit.record(None, Tag.ACCESS_REFUSED, outcome="refused")
        db.session.rollback()  # the events of a transaction rolled back are not kept
        assert audit_service.queued(db.session) == 0
        db.session.commit()
        assert _events(Tag.ACCESS_REFUSED) == 0
    with app.app_context():
        report = verify_database()
        assert report.ok and report.checked == 1


def test_a_savepoint_rolled_back_keeps_the_events_queued_before_it(app: Flask) -> None:
    with app.test_request_context():
        db.session.info[audit_service.DEFER] = True
        audit.record(None, Tag.KEYS_INIT)
        savepoint = db.session.begin_nested()
        audit.record(None, Tag.ACCESS_REFUSED, outcome="refused")
        savepoint.rollback()
        with db.session.begin_nested():  # a savepoint released keeps its events
            audit.record(None, Tag.LOGOUT)
        db.session.commit()
        assert _events(Tag.KEYS_INIT) == 1
        assert _events(Tag.ACCESS_REFUSED) == 0
        assert _events(Tag.LOGOUT) == 1
    with app.app_context():
        assert verify_database().ok


def test_an_immediate_event_comes_after_the_queued_ones(app: Flask) -> None:
    with app.test_request_context():
        db.session.info[audit_service.DEFER] = True
        audit.record(None, Tag.KEYS_INIT)
        event = audit.record(None, Tag.ACCESS_REFUSED, outcome="refused", immediate=True)
        assert event is not None and event.seq == 2
        assert audit_service.queued(db.session) == 0
        db.session.commit()
        tags = db.session.scalars(select(AuditEvent.tag).order_by(AuditEvent.seq)).all()
        assert tags == [Tag.KEYS_INIT.value, Tag.ACCESS_REFUSED.value]


# --- Readers on SQLite ------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_reader_leaves_the_write_lock_free_while_the_page_is_made(app, org, browser, monkeypatch):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    assert browser.login("officer.c1").status_code == 303
    path = db.engine.url.database
    probes: list[bool] = []
    for_file = sections.for_file

    def probing(*args, **kwargs):  # type: ignore[no-untyped-def]
        probes.append(_try_to_write(path))
        return for_file(*args, **kwargs)

    monkeypatch.setattr(sections, "for_file", probing)
    response = browser.get(f"/cases/{case.id}")
    assert response.status_code == 200 and CANARY in response.get_data(as_text=True)
    assert probes == [True]
    # The read is in the log when the page has arrived, and the chain is whole.
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.tag == "case:file:view", AuditEvent.object_id == str(case.id))
        )
        == 1
    )
    assert verify_database().ok
    # A writer does hold it: the same probe inside a change finds it taken.
    audit.record(None, Tag.KEYS_INIT)
    assert not _try_to_write(path)
    db.session.rollback()


@pytest.mark.sqlite_only
def test_a_page_whose_read_cannot_be_audited_is_not_sent(app, org, browser, monkeypatch):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    assert browser.login("officer.c1").status_code == 303

    append = audit_service.append_queued

    def locked(session):  # type: ignore[no-untyped-def]
        if not audit_service.queued(session):
            return append(session)
        raise OperationalError("INSERT INTO audit_event", (), sqlite3.OperationalError("locked"))

    monkeypatch.setattr(audit_service, "append_queued", locked)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = browser.get(f"/cases/{case.id}")
    assert response.status_code == 500
    assert CANARY not in response.get_data(as_text=True)


@pytest.mark.sqlite_only
def test_a_reader_that_must_note_the_session_s_last_use_does_so_as_a_writer(app, org, browser):  # type: ignore[no-untyped-def]
    assert browser.login("officer.c1").status_code == 303
    age_rows(UserSession, "last_seen_at", timedelta(minutes=5))
    before = db.session.scalar(select(UserSession.last_seen_at))
    assert browser.get("/cases/").status_code == 200  # warnings are errors: no reader wrote
    db.session.expire_all()
    assert db.session.scalar(select(UserSession.last_seen_at)) > before
    assert get_user("officer.c1").active


@pytest.mark.sqlite_only
def test_a_write_in_a_reader_s_transaction_is_reported(app: Flask) -> None:
    with app.app_context(), _reader():
        db.session.add(LoginFailure(address="192.0.2.1"))
        with pytest.warns(ReadRequestWrote):
            db.session.commit()


@pytest.mark.sqlite_only
def test_a_reader_turns_writer_only_before_changing_anything(app: Flask) -> None:
    with app.app_context():
        with _reader():
            db.session.add(LoginFailure(address="192.0.2.1"))
            with pytest.raises(RuntimeError, match="before changing"):
                begin_writing(db.session)
            db.session.rollback()
            begin_writing(db.session)  # nothing changed yet: the next transaction is a writer's
            db.session.add(LoginFailure(address="192.0.2.1"))
            db.session.commit()  # no ReadRequestWrote: warnings are errors here
        assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 1
