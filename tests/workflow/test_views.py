"""The workflow as reviewers and officers meet it in the browser."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casework.cases.models import Case
from casework.cases.workflow.models import Escalation
from casework.db import utcnow
from casework.extensions import db
from tests.cases.conftest import classified_case, open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY


def _serious(org):  # type: ignore[no-untyped-def]
    return classified_case(org["officer_c1"])


def test_quick_report_from_the_file_reaches_the_district_inbox(app, org, new_browser):
    case = _serious(org)
    officer, reviewer = new_browser(), new_browser()
    _sign_in(officer, "officer.c1")
    page = officer.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Send the quick report" in page
    response = officer.post(
        f"/cases/{case.id}/quick-report",
        {"situation": "Injured; police informed."},
        page=f"/cases/{case.id}",
    )
    assert response.status_code == 303
    _sign_in(reviewer, "reviewer.d1")
    home = reviewer.get("/").get_data(as_text=True)
    assert 'class="badge">1<' in home
    inbox = reviewer.get("/inbox").get_data(as_text=True)
    assert case.code in inbox and CANARY not in inbox
    listing = reviewer.get("/quick-reports").get_data(as_text=True)
    report_url = listing.split('href="/quick-reports/')[1].split('"')[0]
    report = reviewer.get(f"/quick-reports/{report_url}").get_data(as_text=True)
    assert case.code in report and "Injured; police informed." in report and CANARY not in report


def test_escalation_requested_on_the_file_and_accepted_on_the_summary(app, org, new_browser):
    case = _serious(org)
    officer, reviewer = new_browser(), new_browser()
    _sign_in(officer, "officer.c1")
    officer.post(
        f"/cases/{case.id}/escalate",
        {"reason": "Perpetrator is a commune official"},
        page=f"/cases/{case.id}",
    )
    escalation = db.session.scalar(select(Escalation).where(Escalation.case_id == case.id))
    _sign_in(reviewer, "reviewer.d1")
    summary = reviewer.get(f"/cases/{case.id}/summary").get_data(as_text=True)
    assert "Perpetrator is a commune official" in summary and CANARY not in summary
    response = reviewer.post(
        f"/escalations/{escalation.id}/accept", {}, page=f"/cases/{case.id}/summary"
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Case, case.id).handling_unit_id == org["D1"].id
    # The district now handles the case and reads the full file.
    assert CANARY in reviewer.get(f"/cases/{case.id}").get_data(as_text=True)


def test_officer_cannot_answer_an_escalation(app, org, browser):
    case = _serious(org)
    from casework.cases.workflow import service as wf

    escalation = wf.request_escalation(org["officer_c1"], case, "help")
    db.session.commit()
    _sign_in(browser, "officer.c2")
    assert browser.post(f"/escalations/{escalation.id}/accept", {}, page="/").status_code == 403


def test_closure_requested_then_refused_then_approved(app, org, new_browser):
    case = _serious(org)
    officer, reviewer = new_browser(), new_browser()
    _sign_in(officer, "officer.c1")
    officer.post(
        f"/cases/{case.id}/closure",
        {"reason": "resolved", "outcome": "Safe with her mother"},
        page=f"/cases/{case.id}",
    )
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "closure_requested"
    _sign_in(reviewer, "reviewer.d1")
    summary = reviewer.get(f"/cases/{case.id}/summary").get_data(as_text=True)
    assert "Safe with her mother" in summary
    from casework.cases.workflow.service import pending_closure

    request = pending_closure(db.session.get(Case, case.id))
    # Refusing without a comment changes nothing.
    reviewer.post(
        f"/closures/{request.id}/refuse", {"comment": ""}, page=f"/cases/{case.id}/summary"
    )
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "closure_requested"
    reviewer.post(
        f"/closures/{request.id}/approve", {"comment": "Agreed"}, page=f"/cases/{case.id}/summary"
    )
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "closed"


def test_deadline_board_shows_overdue_items_of_the_unit(app, org, browser):
    late = open_case(
        org["officer_c1"], types=["domestic_violence"], received_at=utcnow() - timedelta(hours=5)
    )
    other = open_case(
        org["officer_c2"], types=["domestic_violence"], received_at=utcnow() - timedelta(hours=5)
    )
    _sign_in(browser, "officer.c1")
    board = browser.get("/deadlines").get_data(as_text=True)
    assert late.code in board and "OVERDUE" in board and other.code not in board


def test_a_long_board_shows_the_most_urgent_items_and_says_how_many_there_are(
    app, org, browser, monkeypatch
):
    from casework.cases.workflow import views

    older = open_case(
        org["officer_c1"], types=["domestic_violence"], received_at=utcnow() - timedelta(hours=9)
    )
    newer = open_case(
        org["officer_c1"], types=["domestic_violence"], received_at=utcnow() - timedelta(hours=2)
    )
    monkeypatch.setattr(views, "BOARD_SHOWN", 1)
    _sign_in(browser, "officer.c1")
    board = browser.get("/deadlines").get_data(as_text=True)
    # Each case has one overdue item (the commune chair's 1-hour deadline): the older one shows.
    assert older.code in board and newer.code not in board
    assert "The 1 most urgent of 2 items are shown." in board
    # The next page: the other one, and no page after it.
    link = board.split('<p class="pager"><a href="')[1].split('"')[0].replace("&amp;", "&")
    assert older.code not in link and CANARY not in link
    later = browser.get(link).get_data(as_text=True)
    assert newer.code in later and older.code not in later
    assert "Less urgent deadlines, in order (2 items in all)." in later
    assert 'class="pager"' not in later


def test_the_board_pages_through_deadlines_due_at_the_same_moment_each_once(
    app, org, browser, monkeypatch
):
    """Follow-ups of one case due at the same minute: pages in the board's order (due, case,
    kind, subject) show each exactly once."""
    from casework.cases import support
    from casework.cases.workflow import views

    officer = org["officer_c1"]
    case = open_case(
        officer, types=["domestic_violence"], received_at=utcnow() - timedelta(minutes=20)
    )
    due = (utcnow() + timedelta(hours=3)).replace(second=0, microsecond=0)
    follow_ups = {str(support.schedule_follow_up(officer, case, due_at=due).id) for _ in range(3)}
    db.session.commit()
    monkeypatch.setattr(views, "BOARD_SHOWN", 1)
    _sign_in(browser, "officer.c1")
    seen, url = [], "/deadlines"
    for _ in range(10):
        page = browser.get(url).get_data(as_text=True)
        listed = page.split('class="case-list deadlines"')[1].split("</ul>")[0]
        assert listed.count("<li") == 1, listed
        seen.append("Follow-up contact" in listed)
        if 'class="pager"' not in page:
            break
        url = page.split('<p class="pager"><a href="')[1].split('"')[0].replace("&amp;", "&")
        assert any(f"_{f}_follow_up" in url for f in follow_ups) or "notify_commune_chair" in url
    # The chair's deadline (within the hour), then the three follow-ups, then nothing more.
    assert seen == [False, True, True, True]


def test_a_board_page_asked_with_a_malformed_cursor_is_refused(app, org, browser):
    _sign_in(browser, "officer.c1")
    for after in (
        "yesterday_00000000-0000-0000-0000-000000000000__follow_up",
        "2026-12-01T10:00:00+00:00_not-an-id__follow_up",
        "2026-12-01T10:00:00+00:00_00000000-0000-0000-0000-000000000000__no_such_kind",
        "2026-12-01T10:00:00_00000000-0000-0000-0000-000000000000__follow_up",
        "2026-12-01T10:00:00+00:00",
    ):
        assert browser.get(f"/deadlines?after={after}").status_code == 400, after


def test_deadlines_check_command_notifies_once(app, org):
    open_case(
        org["officer_c1"], types=["domestic_violence"], received_at=utcnow() - timedelta(hours=5)
    )
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["deadlines", "check"])
    assert first.exit_code == 0 and first.stdout.startswith("Đã báo 1 thời hạn quá hạn")
    second = runner.invoke(args=["deadlines", "check"])
    assert second.stdout.startswith("Đã báo 0 thời hạn quá hạn")


def test_deadlines_check_warns_until_the_years_public_holidays_are_configured(app, org):
    from casework.cases.workflow import timers

    runner = app.test_cli_runner()
    app.config["PUBLIC_HOLIDAYS"] = ["2001-01-01"]
    with app.app_context():
        year = timers.local_now().year
    warned = runner.invoke(args=["deadlines", "check"])
    assert warned.exit_code == 0 and str(year) in warned.stderr
    app.config["PUBLIC_HOLIDAYS"] = [f"{year}-09-02"]
    quiet = runner.invoke(args=["deadlines", "check"])
    # The holidays changed, so the deadlines were computed again; no warning is left.
    assert quiet.exit_code == 0 and str(year) not in quiet.stderr


def test_the_file_shows_each_workflow_record_the_case_has(app, org, browser):  # type: ignore[no-untyped-def]
    """The file asks once which kinds of record a case has: each one it has is still shown."""
    from casework.cases.workflow import service as wf

    officer = org["officer_c1"]
    escalated, closing = _serious(org), _serious(org)
    wf.send_quick_report(officer, escalated, "Injured; police informed.")
    wf.request_escalation(officer, escalated, "Perpetrator is a commune official")
    wf.request_closure(officer, closing, "resolved", "Safe with her mother")
    db.session.commit()
    _sign_in(browser, "officer.c1")
    page = browser.get(f"/cases/{escalated.id}").get_data(as_text=True)
    assert "Version 1," in page and "waiting for an answer" in page
    assert "Status history" in page and "waiting for a decision" not in page
    page = browser.get(f"/cases/{closing.id}").get_data(as_text=True)
    assert "waiting for a decision from a higher level" in page
    assert "Version 1," not in page and "waiting for an answer" not in page


def test_a_new_cases_file_reads_no_table_it_has_no_row_in(app, org, browser):  # type: ignore[no-untyped-def]
    from casework.cases.sections import _section_models
    from tests.conftest import sql_sent

    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    with sql_sent() as sent:
        page = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    statements = [" ".join(statement.split()) for statement, _ in sent]
    assert case.code in page and CANARY in page
    # The policy looks for the user's recusal and the accepted escalations (the units before
    # may read the file), in one statement; no section reads a table the probe found empty.
    policy = "FROM recusal WHERE"
    reads = [s for s in statements if s.startswith("SELECT") and not s.startswith("SELECT EXISTS")]
    for model in _section_models():
        table = model.__tablename__
        found = [s for s in reads if f" FROM {table} " in f"{s} " and policy not in s]
        assert not found, found
