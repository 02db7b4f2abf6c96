"""The referral lifecycle through the real views: accept, serve and complete, decline, withdraw,
shelter stays, the inbox on both sides; and no victim data in audit rows or raw columns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from casework.audit.models import AuditEvent
from casework.cases.models import Support
from casework.cases.workflow import timers
from casework.cases.workflow.models import Notification
from casework.db import utcnow
from casework.errors import Invalid
from casework.extensions import db
from casework.referrals import packets, service
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY
from tests.referrals.conftest import ADDRESS, give, refer, with_secrets


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


# --- The lifecycle ------------------------------------------------------------------------------


def _kinds_for(user) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(Notification.kind)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at)
        )
    )


def test_a_partner_accepts_serves_and_completes_and_the_unit_follows_it(
    app, org, partners, browser, new_browser
):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_legal_aid")
    referral = refer(org["officer_c1"], case, partners["legal"])
    partner = new_browser()
    _sign_in(partner, "staff.legal")
    base = f"/partner/referrals/{referral.id}"
    page = base
    assert partner.post(f"{base}/accept", {"step-version": "1"}, page=page).status_code == 303
    db.session.refresh(referral)
    assert referral.status == "accepted" and referral.answered_at is not None
    supports = list(db.session.scalars(select(Support)))
    assert [(s.service, s.status, s.provider_partner_id) for s in supports] == [
        ("legal_aid", "planned", partners["legal"].id)
    ]
    # The answer deadline is met once she answered.
    (deadline,) = [d for d in timers.deadlines_for(case) if d.kind == "referral_answer"]
    assert deadline.due_at == referral.sent_at + timedelta(hours=48)
    assert deadline.done_at == referral.answered_at
    response = partner.post(f"{base}/notes", {"note-body": "First meeting on Monday."}, page=page)
    assert response.status_code == 303
    assert partner.post(f"{base}/start", {"step-version": "2"}, page=page).status_code == 303
    assert partner.post(f"{base}/complete", {"complete-version": "3"}, page=page).status_code == 422
    response = partner.post(
        f"{base}/complete",
        {"complete-version": "3", "complete-outcome": "Custody petition filed."},
        page=page,
    )
    assert response.status_code == 303
    db.session.refresh(referral)
    assert referral.status == "completed" and referral.outcome == "Custody petition filed."
    db.session.expire_all()
    assert [(s.status, s.ended_on is not None) for s in db.session.scalars(select(Support))] == [
        ("delivered", True)
    ]
    # Done: listed by reference only, and the packet is closed to her.
    assert partner.get(base).status_code == 404
    home = partner.get("/partner").get_data(as_text=True)
    assert referral.reference in home and "Yến" not in home
    # The referring unit saw every step and reads the partner's note on the referral page.
    assert _kinds_for(org["officer_c1"]) == [
        "referral_accepted",
        "referral_note",
        "referral_in_service",
        "referral_completed",
    ]
    assert _kinds_for(org["reviewer_d1"]) == []  # another unit's reviewers: nothing
    _sign_in(browser, "officer.c1")
    html = browser.get(f"/cases/{case.id}/referrals/{referral.id}").get_data(as_text=True)
    assert "First meeting on Monday." in html and "Custody petition filed." in html
    file_html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="referrals"' in file_html and "Legal aid HY" in file_html


def test_a_partner_declines_with_a_reason(app, org, partners, browser, new_browser):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    partner = new_browser()
    _sign_in(partner, "staff.a")
    url = f"/partner/referrals/{referral.id}/decline"
    page = f"/partner/referrals/{referral.id}"
    assert partner.post(url, {"decline-version": "1"}, page=page).status_code == 422
    db.session.refresh(referral)
    assert referral.status == "sent"
    response = partner.post(
        url, {"decline-version": "1", "decline-reason": "No place left this week."}, page=page
    )
    assert response.status_code == 303
    db.session.refresh(referral)
    assert referral.status == "declined" and referral.decline_reason == "No place left this week."
    assert _kinds_for(org["officer_c1"]) == ["referral_declined"]
    assert _count(Support) == 0
    _sign_in(browser, "officer.c1")
    html = browser.get(f"/cases/{case.id}/referrals/{referral.id}").get_data(as_text=True)
    assert "No place left this week." in html


def test_a_stale_answer_is_refused_and_changes_nothing(app, org, partners, new_browser):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    partner = new_browser()
    _sign_in(partner, "staff.a")
    page = f"/partner/referrals/{referral.id}"
    response = partner.post(
        f"/partner/referrals/{referral.id}/accept", {"step-version": "0"}, page=page
    )
    assert response.status_code == 409
    db.session.refresh(referral)
    assert referral.status == "sent"


def test_the_referrer_withdraws_and_the_partner_loses_access_at_once(
    app, org, partners, browser, new_browser
):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    service.accept_referral(partners["staff_a"], referral, expected_version=1)
    db.session.commit()
    partner = new_browser()
    _sign_in(partner, "staff.a")
    assert partner.get(f"/partner/referrals/{referral.id}").status_code == 200
    _sign_in(browser, "officer.c1")
    url = f"/cases/{case.id}/referrals/{referral.id}/withdraw"
    page = f"/cases/{case.id}/referrals/{referral.id}"
    assert browser.post(url, {"version": "2"}, page=page).status_code == 422
    response = browser.post(url, {"version": "2", "reason": "She went to her mother's."}, page=page)
    assert response.status_code == 303
    db.session.refresh(referral)
    assert referral.status == "withdrawn"
    assert partner.get(f"/partner/referrals/{referral.id}").status_code == 404
    assert "Yến" not in partner.get("/partner").get_data(as_text=True)
    assert _kinds_for(partners["staff_a"])[-1] == "referral_withdrawn"
    db.session.expire_all()
    assert [s.status for s in db.session.scalars(select(Support))] == ["stopped"]
    # A partner cannot withdraw, and a withdrawn referral cannot be withdrawn again.
    assert partner.post(url, {"version": "3", "reason": "x"}).status_code == 403


def test_a_shelter_checks_her_in_and_out_and_sees_occupancy(app, org, partners, new_browser):
    from casework.referrals import stays

    shelter = partners["shelter_a"]
    shelter.capacity = 1
    db.session.commit()
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, shelter)
    service.accept_referral(partners["staff_a"], referral, expected_version=1)
    stay = stays.check_in(partners["staff_a"], referral, at=utcnow())
    db.session.commit()
    assert referral.status == "in_service"
    occupancy = stays.occupancy(shelter)
    assert occupancy.current == 1 and occupancy.full and occupancy.past_maximum == 0
    # Forty days later the stay is past the shelter's maximum of 30 days.
    later = stays.occupancy(shelter, now=utcnow() + timedelta(days=40))
    assert later.past_maximum == 1
    partner = new_browser()
    _sign_in(partner, "staff.a")
    html = partner.get("/partner").get_data(as_text=True)
    assert "1 of 1 places taken" in html and "Full" in html
    with pytest.raises(Invalid):
        service.complete_referral(
            partners["staff_a"], referral, outcome="Safe.", expected_version=None
        )
    db.session.rollback()
    stays.check_out(partners["staff_a"], stay, at=utcnow(), expected_version=stay.version)
    db.session.commit()
    assert stays.occupancy(shelter).current == 0
    assert [e.tag for e in _events("referral:stay:check_in")] == ["referral:stay:check_in"]


def test_a_partners_work_leaves_no_victim_data_in_audit_rows_or_raw_columns(org, partners):
    case = with_secrets(open_case(org["officer_c1"]))
    give(org["officer_c1"], case, "refer_shelter")
    wanted = [*packets.default_fields("shelter"), "address"]
    referral = refer(
        org["officer_c1"], case, partners["shelter_a"], fields=wanted, pickup_confirmed=True
    )
    service.decline_referral(
        partners["staff_a"], referral, reason=f"{CANARY} is known here", expected_version=1
    )
    db.session.commit()
    for event in db.session.scalars(select(AuditEvent)):
        assert "Canary" not in (event.details or "") and ADDRESS not in (event.details or "")
    for table in ("referral", "referral_packet", "referral_note"):
        for row in db.session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608 (fixed names)
            raw = " ".join(str(v) for v in row)
            assert "Canary" not in raw and "Bí Mật" not in raw


def test_the_form_shows_which_kinds_are_covered_and_the_legal_aid_hint(app, org, partners, browser):
    case = open_case(org["officer_c1"], types=["trafficking"])
    give(org["officer_c1"], case, "refer_legal_aid")
    _sign_in(browser, "officer.c1")
    kinds = browser.get(f"/cases/{case.id}/referrals/new").get_data(as_text=True)
    assert "Consent or legal basis recorded" in kinds and "No consent or legal basis yet" in kinds
    page = browser.get(f"/cases/{case.id}/referrals/new?kind=legal_aid")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Eligible for free legal aid" in html and "a victim of human trafficking" in html
    page = browser.get(f"/cases/{case.id}/referrals/new?kind=legal_aid&services=legal_aid")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Legal aid HY" in html and "Shelter B" not in html
    assert 'value="address"' not in html  # never offered to a legal-aid centre


def test_inbox_notifications_lead_each_side_to_its_own_page(
    app, org, partners, browser, new_browser
):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    service.accept_referral(partners["staff_a"], referral, expected_version=1)
    db.session.commit()
    partner = new_browser()
    _sign_in(partner, "staff.a")
    inbox = partner.get("/inbox").get_data(as_text=True)
    assert "New referral received" in inbox and case.code not in inbox
    note = db.session.scalar(
        select(Notification).where(Notification.user_id == partners["staff_a"].id)
    )
    response = partner.post(f"/inbox/{note.id}", {}, page="/inbox")
    assert response.location.endswith(f"/partner/referrals/{referral.id}")
    _sign_in(browser, "officer.c1")
    assert f"Referral accepted: case {case.code}" in browser.get("/inbox").get_data(as_text=True)
    mine = db.session.scalar(
        select(Notification).where(Notification.user_id == org["officer_c1"].id)
    )
    response = browser.post(f"/inbox/{mine.id}", {}, page="/inbox")
    assert response.location.endswith(f"/cases/{case.id}/referrals/{referral.id}")
