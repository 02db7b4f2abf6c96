"""The case pages as users meet them: intake on a phone, the file, lists, supervision, refusals."""

from __future__ import annotations

from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.cases.models import BreakGlass, Case
from casework.extensions import db
from tests.cases.conftest import open_case
from tests.conftest import CANARY, PASSWORD, current_code, get_user


def _sign_in(browser, username):  # type: ignore[no-untyped-def]
    user = get_user(username)
    code = current_code(user) if user.totp_enabled else None
    assert browser.login(username, code=code).status_code == 303


INTAKE = {
    "received_at": "2026-11-28T20:15",
    "source": "victim",
    "types": ["domestic_violence"],
    "summary": f"{CANARY} came to the office with bruises.",
    "victim_name": CANARY,
    "victim_phone": "0987 654 321",
    "safe_contact": "Only mornings",
    "immediate_danger": "y",
}


def test_officer_records_a_case_and_sees_what_must_be_done(app, org, browser):
    _sign_in(browser, "officer.c1")
    response = browser.post("/cases/new", INTAKE)
    assert response.status_code == 303
    assert CANARY not in response.location  # no personal data in URLs
    page = browser.get(response.location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert CANARY in html
    # The commune chair must be told within the hour: received 20:15 local time, due 21:15.
    alerts = html.split('class="alerts"')[1].split("</section>")[0]
    assert "21:15" in alerts or "9:15\u202fPM" in alerts or "9:15 PM" in alerts
    title = html.split("<title>")[1].split("</title>")[0]
    assert CANARY not in title and "Canary" not in title
    assert page.headers["Cache-Control"] == "no-store"


def test_intake_with_bad_input_is_refused_and_keeps_what_was_typed(app, org, browser):
    _sign_in(browser, "officer.c1")
    bad = dict(INTAKE, types=[], received_at="2099-01-01T10:00")
    response = browser.post("/cases/new", bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Only mornings" in html  # the form keeps what the user typed
    assert db.session.scalar(select(Case.id)) is None


def test_every_view_of_a_file_is_audited(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    browser.get(f"/cases/{case.id}")
    browser.get(f"/cases/{case.id}")
    views = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.tag == "case:file:view", AuditEvent.object_id == str(case.id)
        )
    ).all()
    assert len(views) == 2


def test_officer_of_another_commune_gets_403_and_it_is_audited(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c2")
    response = browser.get(f"/cases/{case.id}")
    assert response.status_code == 403
    assert CANARY not in response.get_data(as_text=True)
    refused = db.session.scalars(select(AuditEvent).where(AuditEvent.outcome == "refused")).all()
    assert refused


def test_admin_and_auditor_see_no_case_content(app, org, browser, new_browser):
    case = open_case(org["officer_c1"])
    for username in ("admin.tw", "auditor.tw"):
        b = new_browser()
        _sign_in(b, username)
        for url in (f"/cases/{case.id}", "/cases/", "/cases/new", f"/cases/{case.id}/summary"):
            response = b.get(url)
            assert response.status_code == 403, (username, url)
            assert CANARY not in response.get_data(as_text=True)


def test_case_list_shows_only_the_units_cases(app, org, browser):
    mine = open_case(org["officer_c1"])
    other = open_case(org["officer_c2"])
    _sign_in(browser, "officer.c1")
    html = browser.get("/cases/").get_data(as_text=True)
    assert mine.code in html and other.code not in html


def test_case_list_pages_by_keyset(app, org, browser):
    from datetime import timedelta

    from casework.db import utcnow

    codes = [
        open_case(org["officer_c1"], received_at=utcnow() - timedelta(hours=i)).code
        for i in range(30)
    ]
    _sign_in(browser, "officer.c1")
    first = browser.get("/cases/").get_data(as_text=True)
    assert codes[0] in first and codes[24] in first and codes[25] not in first
    cursor = first.split("after=")[1].split('"')[0].replace("&amp;", "&")
    second = browser.get(f"/cases/?after={cursor}").get_data(as_text=True)
    assert codes[25] in second and codes[29] in second and codes[0] not in second


def test_supervising_reviewer_sees_a_summary_without_names(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "reviewer.d1")
    listing = browser.get("/cases/supervision").get_data(as_text=True)
    assert case.code in listing
    response = browser.get(f"/cases/{case.id}")
    assert response.status_code == 303 and response.location.endswith("/summary")
    summary = browser.get(response.location).get_data(as_text=True)
    assert case.code in summary
    assert CANARY not in summary and "bruises" not in summary and "345 678" not in summary


def test_break_glass_opens_the_file_and_is_audited(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "reviewer.d1")
    response = browser.post(
        f"/cases/{case.id}/break-glass",
        {"reason": "Serious case check", "minutes": "30", "password": PASSWORD},
        page=f"/cases/{case.id}/summary",
    )
    assert response.status_code == 303
    assert CANARY in browser.get(f"/cases/{case.id}").get_data(as_text=True)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "case:file:break_glass"))
    assert event is not None and "Serious" not in event.details


def test_stale_intake_edit_is_refused_with_409_and_keeps_the_text(app, org, new_browser):
    case = open_case(org["officer_c1"])
    first, second = new_browser(), new_browser()
    _sign_in(first, "officer.c1")
    _sign_in(second, "officer.c1")
    form_page = f"/cases/{case.id}/intake"
    token_first = first.token(form_page)
    token_second = second.token(form_page)
    base = {"version": str(case.version), "received_at": "2026-11-28T20:15", "source": "victim"}
    ok = first.raw_post(
        form_page, data={**base, "summary": "First edit", "csrf_token": token_first}
    )
    assert ok.status_code == 303
    stale = second.raw_post(
        form_page,
        data={**base, "summary": "Second edit typed at length", "csrf_token": token_second},
    )
    assert stale.status_code == 409
    assert "Second edit typed at length" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).summary == "First edit"


def test_reviewer_of_the_unit_finds_who_has_seen_the_file(app, org, browser):
    from tests.conftest import make_user

    make_user("reviewer.c1", "reviewer", org["C1"])
    case = open_case(org["officer_c1"])
    _sign_in(browser, "reviewer.c1")
    page = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    link = f"/audit/object/case_file/{case.id}"
    assert link in page
    seen = browser.get(link)
    assert seen.status_code == 200 and "reviewer.c1" in seen.get_data(as_text=True)


def test_break_glass_needs_the_password_again_and_a_wrong_one_opens_nothing(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "reviewer.d1")
    summary = f"/cases/{case.id}/summary"
    for typed in ("", "not my password"):
        response = browser.post(
            f"/cases/{case.id}/break-glass",
            {"reason": "Serious case check", "minutes": "30", "password": typed},
            page=summary,
        )
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "Serious case check" in page  # what she typed is kept
        assert CANARY not in page
    # Still only the summary: the file stays closed.
    assert browser.get(f"/cases/{case.id}").status_code == 303
    refused = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.tag == "case:file:break_glass", AuditEvent.outcome == "refused"
        )
    ).all()
    assert len(refused) == 1 and "not my password" not in refused[0].details
    assert db.session.scalar(select(func.count()).select_from(BreakGlass)) == 0
