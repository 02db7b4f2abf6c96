"""Legal holds: set and lifted by province or central reviewers supervising the case, audited
without the reason's words; everyone else is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.cases.support import local_today
from casework.errors import Invalid, InvalidTransition
from casework.extensions import db
from casework.policy import NotPermitted, Permission, can
from casework.retention import service
from casework.retention.models import LegalHold
from tests.cases.test_views import _sign_in
from tests.conftest import make_unit, make_user
from tests.retention.conftest import closed_case

REASON = "Tòa án nhân dân tỉnh yêu cầu giữ hồ sơ 12/2026/HS-ST"


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def test_only_province_and_central_reviewers_supervising_the_case_may_hold_it(app, org):
    case = closed_case(org, days_ago=10)
    central = make_user("reviewer.tw", "reviewer", org["TW"])
    other_province = make_unit("HN", "province", org["TW"])
    outsider = make_user("reviewer.hn", "reviewer", other_province)
    assert can(org["reviewer_hy"], Permission.CASE_HOLD, case)
    assert can(central, Permission.CASE_HOLD, case)
    for user in (
        org["officer_c1"],
        org["reviewer_d1"],  # a district reviewer supervises the case but holds are above her
        outsider,
        org["admin"],
        org["auditor"],
    ):
        assert not can(user, Permission.CASE_HOLD, case), user.username
        with pytest.raises(NotPermitted):
            service.set_hold(user, case, REASON, None)
    assert db.session.scalar(select(LegalHold.id)) is None


def test_a_reviewer_holds_a_case_by_its_code_and_lifts_it_in_the_browser(app, org, browser):
    case = closed_case(org, days_ago=10)
    until = local_today() + timedelta(days=90)
    _sign_in(browser, "reviewer.hy")
    response = browser.post(
        "/retention/holds",
        {"case_code": case.code.lower(), "reason": REASON, "until": until.isoformat()},
    )
    assert response.status_code == 303
    page = browser.get("/retention/holds").get_data(as_text=True)
    assert case.code in page and REASON in page and until.isoformat() in page
    [hold] = db.session.scalars(select(LegalHold))
    assert hold.case_id == case.id and hold.until == until and hold.active_on(local_today())
    [event] = _events("retention:hold:set")
    assert event.actor_id == org["reviewer_hy"].id and REASON not in event.details
    assert "12/2026" not in repr(db.session.execute(select(AuditEvent.details)).all())

    response = browser.post(f"/retention/holds/{hold.id}/lift", {}, page="/retention/holds")
    assert response.status_code == 303
    db.session.expire_all()
    assert hold.lifted_at is not None and hold.lifted_by_id == org["reviewer_hy"].id
    assert not hold.active_on(local_today())
    assert len(_events("retention:hold:lift")) == 1


def test_the_reason_is_stored_encrypted(app, org):
    case = closed_case(org, days_ago=10)
    service.set_hold(org["reviewer_hy"], case, REASON, None)
    db.session.commit()
    raw = db.session.execute(db.text("SELECT * FROM legal_hold")).all()
    assert REASON.encode() not in repr(raw).encode() and "HS-ST" not in repr(raw)


def test_a_hold_needs_a_reason_and_an_end_that_is_not_past(app, org, browser):
    case = closed_case(org, days_ago=10)
    with pytest.raises(Invalid):
        service.set_hold(org["reviewer_hy"], case, "  ", None)
    with pytest.raises(Invalid):
        service.set_hold(org["reviewer_hy"], case, REASON, local_today() - timedelta(days=1))
    _sign_in(browser, "reviewer.hy")
    response = browser.post(
        "/retention/holds",
        {
            "case_code": case.code,
            "reason": REASON,
            "until": (local_today() - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 422
    assert "This date is in the past." in response.get_data(as_text=True)
    response = browser.post("/retention/holds", {"case_code": "HY-1999-000001", "reason": REASON})
    assert response.status_code == 422
    assert "No case with this code that you may hold." in response.get_data(as_text=True)
    assert db.session.scalar(select(LegalHold.id)) is None


def test_a_hold_is_lifted_once(app, org):
    case = closed_case(org, days_ago=10)
    hold = service.set_hold(org["reviewer_hy"], case, REASON, None)
    service.lift_hold(org["reviewer_hy"], hold)
    with pytest.raises(InvalidTransition):
        service.lift_hold(org["reviewer_hy"], hold)


def test_staff_who_may_not_hold_are_refused_the_page_and_the_refusal_is_audited(app, org, browser):
    case = closed_case(org, days_ago=10)
    _sign_in(browser, "reviewer.d1")
    assert browser.get("/retention/holds").status_code == 403
    response = browser.post(
        "/retention/holds", {"case_code": case.code, "reason": REASON}, page="/"
    )
    assert response.status_code == 403
    assert db.session.scalar(select(LegalHold.id)) is None
    refusals = [e for e in _events("access:request:refused") if e.actor_id == org["reviewer_d1"].id]
    assert len(refusals) == 2


def test_a_reviewer_of_another_province_cannot_hold_or_lift_this_province_s_case(app, org, browser):
    case = closed_case(org, days_ago=10)
    hold = service.set_hold(org["reviewer_hy"], case, REASON, None)
    db.session.commit()
    make_user("reviewer.hn", "reviewer", make_unit("HN", "province", org["TW"]))
    _sign_in(browser, "reviewer.hn")
    page = browser.get("/retention/holds").get_data(as_text=True)
    assert case.code not in page and REASON not in page
    response = browser.post("/retention/holds", {"case_code": case.code, "reason": REASON})
    assert response.status_code == 404
    response = browser.post(f"/retention/holds/{hold.id}/lift", {}, page="/retention/holds")
    assert response.status_code == 404
    db.session.expire_all()
    assert hold.lifted_at is None


def test_the_menu_offers_holds_to_province_reviewers_and_the_report_to_auditors(
    app, org, new_browser
):
    menus = {}
    for username in ("reviewer.hy", "reviewer.d1", "auditor.tw", "admin.tw"):
        b = new_browser()
        _sign_in(b, username)
        menus[username] = b.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/retention/holds"' in menus["reviewer.hy"]
    assert 'href="/retention/holds"' not in menus["reviewer.d1"]
    assert 'href="/retention/report"' in menus["auditor.tw"]
    assert not any('href="/retention/' in menus[u] for u in ("reviewer.d1", "admin.tw"))


def test_the_case_file_says_it_is_held_and_until_when_but_not_why(app, org, browser):
    case = closed_case(org, days_ago=10)
    _sign_in(browser, "officer.c1")
    assert "legal hold" not in browser.get(f"/cases/{case.id}").get_data(as_text=True)
    until = local_today() + timedelta(days=30)
    hold = service.set_hold(org["reviewer_hy"], case, REASON, until)
    db.session.commit()
    page = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"legal hold until {until.strftime('%d/%m/%Y')}" in page
    assert REASON not in page
    service.lift_hold(org["reviewer_hy"], hold)
    db.session.commit()
    assert "legal hold" not in browser.get(f"/cases/{case.id}").get_data(as_text=True)
