"""Concurrent edits through a real threaded HTTP server on 127.0.0.1 (SECURITY.md, Reliability):
no acknowledged save is lost, a stale save is refused with 409 and lands when tried again, and of
several reviewers answering one escalation at the same moment exactly one wins.

The suite runs 8 browsers × 10 edits; bench/concurrency.py runs the full 8 × 200 (1,600 edits).
Both run on SQLite and, with CASEWORK_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import func, select

from casework.audit import Tag
from casework.audit.models import AuditEvent
from casework.audit.verify import verify_database
from casework.cases.models import Case
from casework.cases.workflow.models import Escalation
from casework.extensions import db
from tests.security import races
from tests.security.live import serve

THREADS = 8
EDITS = 10


def _updates(case_id: object) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.tag == Tag.CASE_UPDATE.value,
            AuditEvent.object_id == str(case_id),
            AuditEvent.outcome == "ok",
        )
    )


def test_concurrent_edits_lose_no_update_and_stale_ones_are_refused_then_retried(app):
    with app.app_context():
        org = races.make_org(officers=THREADS, reviewers=0)
        db.session.remove()
    with serve(app) as (host, port):
        run = races.counter_race(host, port, org, EDITS)
    assert run.unexpected == []
    assert run.saved == THREADS * EDITS
    # The edits really raced: some were refused as stale and saved on a later try.
    assert run.stale > 0
    with app.app_context():
        case = db.session.get(Case, org.case_id)
        assert case.summary == f"Counter {THREADS * EDITS}"
        assert _updates(org.case_id) == THREADS * EDITS
        assert verify_database().ok


def test_of_reviewers_answering_one_escalation_at_once_exactly_one_wins(app):
    with app.app_context():
        org = races.make_org(officers=1, reviewers=THREADS)
        codes = races.codes_for(org.reviewers)
        db.session.remove()
    with serve(app) as (host, port):
        results = races.answer_race(host, port, org, codes)
    winners = [name for name, message in results.items() if message != races.ALREADY]
    assert len(winners) == 1, results
    assert results[winners[0]] in (races.WON, races.RETURNED), results
    with app.app_context():
        escalation = db.session.get(Escalation, org.escalation_id)
        expected = "accepted" if results[winners[0]] == races.WON else "returned"
        assert escalation.status == expected
        assert escalation.answered_by.username == winners[0]
        case = db.session.get(Case, escalation.case_id)
        assert (case.handling_unit.code == "D1") == (expected == "accepted")


def _at_once(app, username: str, password: str, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    """n browsers press "sign in" for one account at the same moment; their answers' statuses."""
    import threading

    from tests.security.live import Client, token

    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(n)

    def press(host: str, port: int) -> None:
        client = Client(host, port)
        csrf = token(client.get("/login").body)
        start.wait()
        reply = client.request(
            "POST", "/login", {"username": username, "password": password, "csrf_token": csrf}
        )
        client.close()
        with lock:
            statuses.append(reply.status)

    with serve(app) as (host, port):
        threads = [threading.Thread(target=press, args=(host, port)) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return statuses


def test_one_account_signed_in_from_several_browsers_at_once_is_signed_in_in_each(app):
    """A double-pressed button, or a phone and a desktop at the same moment: no error page."""
    from casework.accounts.models import UserSession

    with app.app_context():
        races.make_org(officers=1, reviewers=0)
        db.session.remove()
    assert _at_once(app, "officer0", races.PASSWORD, THREADS) == [303] * THREADS
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == THREADS


def test_wrong_passwords_sent_at_once_all_count_towards_the_lock(app):
    """Guesses sent in parallel are each refused and each counted: sending them at once must not
    get some of them forgotten (the account locks after LOGIN_LOCK_FAILURES, the network after
    ADDRESS_THROTTLE_FAILURES)."""
    from casework.accounts.models import LoginFailure, User

    with app.app_context():
        races.make_org(officers=1, reviewers=0)
        db.session.remove()
    limit = app.config["LOGIN_LOCK_FAILURES"]
    guesses = limit + 2
    assert _at_once(app, "officer0", "not the password", guesses) == [401] * guesses
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == guesses
        user = db.session.scalar(select(User).where(User.username == "officer0"))
        assert user.locked_until is not None
        assert user.failed_logins == guesses - limit
