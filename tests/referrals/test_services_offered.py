"""Services offered: an admin records which services a partner offers, and a referral offers only
the partners of the kind, serving the case's area, that offer every service she needs."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.cases import vocab
from casework.errors import Invalid
from casework.extensions import db
from casework.referrals import packets, service
from casework.referrals.models import Partner, Referral, ReferralPacket
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import make_partner
from tests.referrals.conftest import give, refer, victim_of
from tests.referrals.test_partner_admin import SHELTER


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- The admin's side ---------------------------------------------------------------------------


def test_an_admin_records_the_services_a_partner_offers(app, org, browser):
    _sign_in(browser, "admin.tw")
    assert browser.post("/admin/partners/new", SHELTER).status_code == 303
    partner = db.session.scalar(select(Partner))
    assert partner.service_codes == ["counselling", "shelter"]
    listing = browser.get("/admin/partners").get_data(as_text=True)
    assert "Counselling, Shelter" in listing
    url = f"/admin/partners/{partner.id}/edit"
    form = browser.get(url).get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="counselling"', form)
    assert not re.search(r'<input checked[^>]*value="legal_aid"', form)
    edited = {**SHELTER, "services": ["shelter", "medical"], "version": "1", "active": "y"}
    assert browser.post(url, edited).status_code == 303
    db.session.refresh(partner)
    assert partner.service_codes == ["medical", "shelter"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "admin:partner:update"))
    assert json.loads(event.details)["fields"] == ["services"]


@pytest.mark.parametrize("services", [[], ["shelter", "haircut"]])
def test_a_partner_offering_no_known_service_is_refused(app, org, browser, services):
    _sign_in(browser, "admin.tw")
    response = browser.post("/admin/partners/new", {**SHELTER, "services": services})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose at least one service it offers" in html or "not a valid choice" in html
    assert _count(Partner) == 0


def test_an_edit_that_removes_every_service_is_refused_and_keeps_them(app, org, browser):
    partner = make_partner("Shelter D1", "shelter", [org["D1"]])
    _sign_in(browser, "admin.tw")
    url = f"/admin/partners/{partner.id}/edit"
    bad = {**SHELTER, "services": [], "version": str(partner.version), "active": "y"}
    response = browser.post(url, bad)
    assert response.status_code == 422
    assert "Choose at least one service it offers" in response.get_data(as_text=True)
    db.session.refresh(partner)
    assert partner.service_codes == ["shelter", "counselling"] and partner.name == "Shelter D1"


# --- The referral form --------------------------------------------------------------------------


@pytest.fixture
def shelter_c(org):  # type: ignore[no-untyped-def]
    """A second shelter for D1 that offers a bed and nothing else."""
    return make_partner("Shelter C", "shelter", [org["D1"]], services=("shelter",))


def test_the_form_asks_the_services_first_and_offers_only_partners_offering_them_all(
    app, org, partners, shelter_c, browser
):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    _sign_in(browser, "officer.c1")
    base = f"/cases/{case.id}/referrals/new?kind=shelter"
    first = browser.get(base).get_data(as_text=True)
    assert 'name="services"' in first and "Shelter A" not in first
    # Nothing ticked: asked again, with a reason.
    refused = browser.get(f"{base}&show=1")
    assert refused.status_code == 422
    assert "Choose at least one service." in refused.get_data(as_text=True)
    # A bed: both shelters of the area (never Shelter B, which serves another district).
    bed = browser.get(f"{base}&services=shelter").get_data(as_text=True)
    assert "Shelter A" in bed and "Shelter C" in bed and "Shelter B" not in bed
    # A bed and counselling: only the shelter that offers both.
    both = browser.get(f"{base}&services=shelter&services=counselling").get_data(as_text=True)
    assert "Shelter A" in both and "Shelter C" not in both
    # Nothing offers legal aid among the shelters: the officer is told so.
    none = browser.get(f"{base}&services=legal_aid").get_data(as_text=True)
    assert "offers every service she needs" in none
    assert "Shelter A" not in none and "Shelter C" not in none


def test_a_forged_choice_of_a_partner_lacking_a_service_is_refused(
    app, org, partners, shelter_c, browser
):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    _sign_in(browser, "officer.c1")
    url = f"/cases/{case.id}/referrals/new?kind=shelter"
    form = {
        "person": str(victim_of(case).id),
        "partner": str(shelter_c.id),
        "services": ["shelter", "counselling"],
        "packet_fields": list(packets.default_fields("shelter")),
    }
    response = browser.post(url, form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Shelter C does not offer: Counselling" in html
    assert _count(Referral) == 0 and _count(ReferralPacket) == 0
    # The same with a bed only is sent.
    response = browser.post(url, {**form, "services": ["shelter"]})
    assert response.status_code == 303
    assert db.session.scalar(select(Referral.partner_id)) == shelter_c.id


def test_a_partner_of_another_area_posted_by_hand_is_refused(app, org, partners, browser):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    _sign_in(browser, "officer.c1")
    url = f"/cases/{case.id}/referrals/new?kind=shelter"
    form = {
        "person": str(victim_of(case).id),
        "partner": str(partners["shelter_b"].id),
        "services": ["shelter"],
        "packet_fields": list(packets.default_fields("shelter")),
    }
    response = browser.post(url, form)
    assert response.status_code == 422
    assert "Choose an active partner that serves this case" in response.get_data(as_text=True)
    assert _count(Referral) == 0


def test_the_service_refuses_a_partner_lacking_a_service_whatever_calls_it(
    org, partners, shelter_c
):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    with pytest.raises(Invalid) as refused:
        refer(org["officer_c1"], case, shelter_c, services=["shelter", "medical"])
    assert "partner" in refused.value.fields
    assert str(vocab.SERVICES["medical"]) in str(refused.value.fields["partner"])
    db.session.rollback()
    assert _count(Referral) == 0
    assert [p.name for p in service.partners_for(case, "shelter", ["shelter", "counselling"])] == [
        "Shelter A"
    ]
