"""Admins manage the partner organisations of the units they administer: kind, units served,
contacts, and for shelters capacity and maximum stay. No case content is reachable from here."""

from __future__ import annotations

from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.extensions import db
from casework.referrals.models import Partner
from tests.cases.test_views import _sign_in
from tests.conftest import make_partner, make_user

SHELTER = {
    "name": "Nhà tạm lánh Hưng Yên",
    "kind": "shelter",
    "units": "D1, C1",
    "contacts": "Desk 0221 000 000",
    "capacity": "6",
    "max_stay_days": "30",
    "services": ["shelter", "counselling"],
}


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Partner))


def test_an_admin_adds_a_shelter_for_units_she_administers(app, org, browser):
    _sign_in(browser, "admin.tw")
    response = browser.post("/admin/partners/new", SHELTER)
    assert response.status_code == 303
    partner = db.session.scalar(select(Partner))
    assert (partner.kind, partner.capacity, partner.max_stay_days) == ("shelter", 6, 30)
    assert sorted(u.code for u in partner.units_served) == ["C1", "D1"]
    assert "Nhà tạm lánh Hưng Yên" in browser.get("/admin/partners").get_data(as_text=True)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "admin:partner:create"))
    assert event.object_id == str(partner.id)


def test_places_and_stays_belong_to_shelters_only(org):
    from casework.referrals import partners

    partner = partners.create_partner(
        org["admin"],
        name="Legal aid",
        kind="legal_aid",
        unit_codes=["HY"],
        contacts=None,
        capacity=5,
        max_stay_days=10,
        services=["legal_aid"],
    )
    assert partner.capacity is None and partner.max_stay_days is None


def test_a_bad_partner_is_refused_and_nothing_is_saved(app, org, browser):
    _sign_in(browser, "admin.tw")
    for bad in ({"units": "NOPE"}, {"units": ""}, {"capacity": "-1"}, {"name": ""}):
        response = browser.post("/admin/partners/new", {**SHELTER, **bad})
        assert response.status_code == 422, bad
    assert _count() == 0


def test_an_admin_cannot_manage_partners_outside_her_subtree(app, org, browser):
    make_user("admin.d2", "admin", org["D2"])
    theirs = make_partner("Shelter D1", "shelter", [org["D1"]])
    _sign_in(browser, "admin.d2")
    assert browser.post("/admin/partners/new", SHELTER).status_code == 403
    assert browser.get(f"/admin/partners/{theirs.id}/edit").status_code == 403
    assert "Shelter D1" not in browser.get("/admin/partners").get_data(as_text=True)
    assert _count() == 1


def test_staff_cannot_manage_partners(app, org, browser):
    _sign_in(browser, "officer.c1")
    assert browser.get("/admin/partners").status_code == 403
    assert browser.post("/admin/partners/new", SHELTER).status_code == 403
    assert _count() == 0


def test_an_edit_on_a_stale_form_is_refused(app, org, browser):
    partner = make_partner("Shelter D1", "shelter", [org["D1"]])
    _sign_in(browser, "admin.tw")
    url = f"/admin/partners/{partner.id}/edit"
    assert browser.get(url).status_code == 200
    fresh = {**SHELTER, "version": str(partner.version), "active": "y"}
    assert browser.post(url, fresh).status_code == 303
    db.session.refresh(partner)
    assert partner.name == SHELTER["name"] and partner.capacity == 6
    stale = {**SHELTER, "name": "Renamed", "version": "1", "active": "y"}
    assert browser.post(url, stale).status_code == 409
    db.session.refresh(partner)
    assert partner.name == SHELTER["name"]
