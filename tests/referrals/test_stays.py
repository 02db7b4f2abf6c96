"""Shelter stays: one open stay per referral, check-out after check-in, stays past the shelter's
maximum flagged, and occupancy against capacity on the partner's portal and the reviewers' page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from casework.audit.models import AuditEvent
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition
from casework.extensions import db
from casework.referrals import service, stays
from casework.referrals.models import Referral, ShelterStay
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.referrals.conftest import give, refer


def _stays() -> int:
    return db.session.scalar(select(func.count()).select_from(ShelterStay))


def _events(tag: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == tag)
    )


def _accepted(org, partners, shelter="shelter_a") -> Referral:  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners[shelter])
    service.accept_referral(partners["staff_a"], referral, expected_version=1)
    db.session.commit()
    return referral


def _checked_in(org, partners, days_ago: int = 0) -> ShelterStay:  # type: ignore[no-untyped-def]
    """A guest checked in `days_ago` days ago (the referral sent just before)."""
    referral = _accepted(org, partners)
    if days_ago:
        referral.sent_at -= timedelta(days=days_ago, hours=1)
        db.session.commit()
    stay = stays.check_in(
        partners["staff_a"], referral, at=utcnow() - timedelta(days=days_ago, minutes=1)
    )
    db.session.commit()
    return stay


def _at(moment) -> str:  # type: ignore[no-untyped-def]
    from casework.cases.forms import to_local_naive

    return to_local_naive(moment).strftime("%Y-%m-%dT%H:%M")


# --- Check-in and check-out ---------------------------------------------------------------------


def test_a_second_check_in_while_she_is_checked_in_is_refused_and_changes_nothing(
    app, org, partners, new_browser
):
    stay = _checked_in(org, partners)
    referral = stay.referral
    partner = new_browser()
    _sign_in(partner, "staff.a")
    page = f"/partner/referrals/{referral.id}"
    response = partner.post(
        f"{page}/stays", {"check_in-at": _at(utcnow() - timedelta(minutes=1))}, page=page
    )
    assert response.status_code == 422
    assert "She is already checked in." in response.get_data(as_text=True)
    assert _stays() == 1 and _events("referral:stay:check_in") == 1
    db.session.refresh(stay)
    assert stay.checked_out_at is None
    # The service refuses it whatever calls it, and the database refuses a second open stay.
    with pytest.raises(Invalid):
        stays.check_in(partners["staff_a"], referral, at=utcnow())
    db.session.rollback()
    db.session.add(
        ShelterStay(
            referral_id=referral.id,
            partner_id=referral.partner_id,
            case_id=referral.case_id,
            checked_in_at=utcnow(),
            recorded_by_id=partners["staff_a"].id,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert _stays() == 1


def test_a_check_in_after_a_check_out_opens_a_new_stay(org, partners):
    stay = _checked_in(org, partners)
    stays.check_out(partners["staff_a"], stay, at=utcnow(), expected_version=stay.version)
    db.session.commit()
    again = stays.check_in(partners["staff_a"], stay.referral, at=utcnow())
    db.session.commit()
    assert again.id != stay.id and _stays() == 2
    assert stays.occupancy(partners["shelter_a"]).current == 1


def test_a_check_out_before_the_check_in_is_refused(app, org, partners, new_browser):
    stay = _checked_in(org, partners, days_ago=1)
    referral = stay.referral
    partner = new_browser()
    _sign_in(partner, "staff.a")
    page = f"/partner/referrals/{referral.id}"
    prefix = f"out-{stay.id.hex}"
    earlier = _at(stay.checked_in_at - timedelta(minutes=30))  # after the referral was sent
    response = partner.post(
        f"{page}/stays/{stay.id}/check-out",
        {f"{prefix}-at": earlier, f"{prefix}-version": str(stay.version)},
        page=page,
    )
    assert response.status_code == 303
    shown = partner.get(page).get_data(as_text=True)
    assert "This is before her check-in." in shown
    db.session.refresh(stay)
    assert stay.checked_out_at is None and _events("referral:stay:check_out") == 0
    with pytest.raises(Invalid) as refused:
        stays.check_out(
            partners["staff_a"],
            stay,
            at=stay.checked_in_at - timedelta(minutes=10),
            expected_version=stay.version,
        )
    assert "at" in refused.value.fields
    db.session.rollback()


def test_a_stay_is_checked_out_once(org, partners):
    stay = _checked_in(org, partners)
    stays.check_out(partners["staff_a"], stay, at=utcnow(), expected_version=stay.version)
    db.session.commit()
    first = stay.checked_out_at
    with pytest.raises(InvalidTransition):
        stays.check_out(partners["staff_a"], stay, at=utcnow(), expected_version=stay.version)
    db.session.rollback()
    db.session.refresh(stay)
    assert stay.checked_out_at == first


def test_only_a_shelter_checks_her_in_and_only_once_accepted(org, partners):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter", "refer_legal_aid")
    sent = refer(org["officer_c1"], case, partners["shelter_a"])
    with pytest.raises(InvalidTransition):
        stays.check_in(partners["staff_a"], sent, at=utcnow())
    db.session.rollback()
    legal = refer(org["officer_c1"], case, partners["legal"])
    service.accept_referral(partners["staff_legal"], legal, expected_version=1)
    db.session.commit()
    with pytest.raises(Invalid):
        stays.check_in(partners["staff_legal"], legal, at=utcnow())
    db.session.rollback()
    assert _stays() == 0


# --- The maximum stay and occupancy -------------------------------------------------------------


def _shelter_row(html: str, name: str) -> str:
    match = re.search(rf"<tr[^>]*>\s*<td>{re.escape(name)}</td>.*?</tr>", html, re.S)
    assert match, name
    return match.group(0)


def test_a_stay_past_the_maximum_is_flagged_for_the_partner_and_the_reviewer(
    app, org, partners, new_browser
):
    long_stay = _checked_in(org, partners, days_ago=40)  # Shelter A: 30 days at most
    _checked_in(org, partners, days_ago=10)
    partner = new_browser()
    _sign_in(partner, "staff.a")
    portal = partner.get("/partner").get_data(as_text=True)
    assert "1 stay is past the maximum" in portal
    flagged = re.findall(r'<li class="overdue">([^<]*)', portal)
    assert [row.split(" · ")[0] for row in flagged] == [long_stay.referral.reference]
    assert "40 days" in portal and "10 days" in portal
    reviewer = new_browser()
    _sign_in(reviewer, "reviewer.d1")
    page = reviewer.get("/shelters")
    assert page.status_code == 200
    row = _shelter_row(page.get_data(as_text=True), "Shelter A")
    assert '<strong class="overdue-mark">1</strong>' in row
    assert "Shelter B" not in page.get_data(as_text=True)  # serves another district
    # Checked out: nothing is flagged any more.
    stays.check_out(partners["staff_a"], long_stay, at=utcnow(), expected_version=long_stay.version)
    db.session.commit()
    assert "past the maximum" not in partner.get("/partner").get_data(as_text=True)
    row = _shelter_row(reviewer.get("/shelters").get_data(as_text=True), "Shelter A")
    assert "overdue-mark" not in row


def test_occupancy_counts_open_stays_against_capacity(app, org, partners, new_browser):
    first = _checked_in(org, partners)
    _checked_in(org, partners)  # Shelter A has two places
    partner = new_browser()
    _sign_in(partner, "staff.a")
    portal = partner.get("/partner").get_data(as_text=True)
    assert "2 of 2 places taken" in portal and "Full" in portal
    reviewer = new_browser()
    _sign_in(reviewer, "reviewer.d1")
    row = _shelter_row(reviewer.get("/shelters").get_data(as_text=True), "Shelter A")
    assert re.search(r"<td>Shelter A</td><td>2</td>\s*<td>2</td>", row)
    assert 'class="overdue"' in row  # full
    stays.check_out(partners["staff_a"], first, at=utcnow(), expected_version=first.version)
    db.session.commit()
    portal = partner.get("/partner").get_data(as_text=True)
    assert "1 of 2 places taken" in portal and "Full" not in portal
    row = _shelter_row(reviewer.get("/shelters").get_data(as_text=True), "Shelter A")
    assert re.search(r"<td>Shelter A</td><td>1</td>\s*<td>2</td>", row)
    assert 'class="overdue"' not in row


def test_a_shelter_without_a_capacity_counts_who_is_staying(org, partners):
    shelter = partners["shelter_a"]
    shelter.capacity = None
    db.session.commit()
    _checked_in(org, partners)
    occupancy = stays.occupancy(shelter)
    assert (occupancy.current, occupancy.capacity, occupancy.full) == (1, None, False)


def test_the_shelters_page_is_for_reviewers_only(app, org, partners, new_browser):
    for username in ("officer.c1", "staff.a", "admin.tw"):
        other = new_browser()
        _sign_in(other, username)
        assert other.get("/shelters").status_code == 403, username
