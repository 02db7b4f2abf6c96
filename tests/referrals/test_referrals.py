"""Referrals and the partner portal: the consent gate, packets per kind of partner, partner
isolation, and the canary victim's secrets never reaching a partner (the lifecycle is in
test_lifecycle.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.cases import consent
from casework.cases.models import Case
from casework.cases.workflow.models import Notification
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import NotPermitted
from casework.referrals import packets, portal, service
from casework.referrals.models import Referral, ReferralNote, ReferralPacket
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY
from tests.referrals.conftest import ADDRESS, REPORTER, give, refer, victim_of, with_secrets

PHONE = "0912 345 678"  # the victim's phone in open_case


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def _packet(referral: Referral) -> dict:
    return packets.read(portal.latest_packet(referral).content)


def _shelter_form(case: Case, partner, **overrides) -> dict:  # type: ignore[no-untyped-def]
    form = {
        "person": str(victim_of(case).id),
        "partner": str(partner.id),
        "services": ["shelter"],
        "packet_fields": list(packets.default_fields("shelter")),
        "needs": "A safe bed for two weeks",
    }
    form.update(overrides)
    return form


# --- The consent gate ---------------------------------------------------------------------------


def test_an_officer_refers_with_consent_and_the_partner_reads_only_the_packet(
    app, org, partners, browser, new_browser
):
    case = with_secrets(open_case(org["officer_c1"]))
    give(org["officer_c1"], case, "refer_shelter")
    _sign_in(browser, "officer.c1")
    url = f"/cases/{case.id}/referrals/new?kind=shelter"
    page = browser.get(url)
    assert page.status_code == 200
    response = browser.post(url, _shelter_form(case, partners["shelter_a"]))
    assert response.status_code == 303, response.get_data(as_text=True)
    referral = db.session.scalar(select(Referral))
    assert referral.status == "sent" and referral.basis == "consent"
    assert referral.answer_due_at == referral.sent_at + timedelta(hours=48)

    partner = new_browser()
    _sign_in(partner, "staff.a")
    home = partner.get("/partner").get_data(as_text=True)
    assert "Yến" in home and referral.reference in home  # the first name, never the full name
    page = partner.get(f"/partner/referrals/{referral.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Yến" in html and "A safe bed for two weeks" in html
    for secret in (CANARY, ADDRESS, REPORTER, PHONE, "beaten by her husband", case.code):
        assert secret not in home and secret not in html
    # Every partner read is audited on the case: it shows in "who has seen this file".
    views = _events("referral:packet:view")
    assert [(e.object_type, e.object_id, e.actor_id) for e in views] == [
        ("case_file", str(case.id), partners["staff_a"].id)
    ]
    assert _events("referral:portal:list")
    # The partner's staff were told, without the case code.
    note = db.session.scalar(
        select(Notification).where(Notification.user_id == partners["staff_a"].id)
    )
    assert note.kind == "referral_received" and note.case_id is None


def test_a_referral_without_consent_is_refused_and_nothing_is_sent(app, org, partners, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    url = f"/cases/{case.id}/referrals/new?kind=shelter"
    response = browser.post(url, _shelter_form(case, partners["shelter_a"]))
    assert response.status_code == 422
    assert "No active consent covers" in response.get_data(as_text=True)
    assert _count(Referral) == 0 and _count(ReferralPacket) == 0
    assert _count(Notification) == 0


def test_consent_for_another_kind_of_partner_does_not_cover_a_referral(org, partners):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_legal_aid")
    with pytest.raises(service.ConsentMissing):
        refer(org["officer_c1"], case, partners["shelter_a"])
    db.session.rollback()
    assert _count(Referral) == 0
    refer(org["officer_c1"], case, partners["legal"])  # the kind she agreed to
    assert _count(Referral) == 1


def test_a_withdrawn_consent_refuses_a_referral(org, partners):
    case = open_case(org["officer_c1"])
    (made,) = give(org["officer_c1"], case, "refer_shelter")
    consent.withdraw_consent(org["officer_c1"], case, made)
    db.session.commit()
    with pytest.raises(service.ConsentMissing):
        refer(org["officer_c1"], case, partners["shelter_a"])


def test_a_recorded_legal_basis_stands_in_for_consent(org, partners):
    case = open_case(org["officer_c1"], child_involved=True)
    consent.record_legal_basis(
        org["officer_c1"],
        case,
        basis="child_protection",
        purpose="refer_shelter",
        note="The child is in danger at home.",
    )
    db.session.commit()
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    assert referral.basis == "legal_basis"


def test_withdrawing_consent_cuts_the_partners_access_at_once(
    app, org, partners, browser, new_browser
):
    case = open_case(org["officer_c1"])
    (made,) = give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    partner = new_browser()
    _sign_in(partner, "staff.a")
    assert partner.get(f"/partner/referrals/{referral.id}").status_code == 200
    consent.withdraw_consent(org["officer_c1"], case, made)
    db.session.commit()
    page = partner.get(f"/partner/referrals/{referral.id}")
    assert page.status_code == 404
    assert "Yến" not in page.get_data(as_text=True)
    assert referral.reference not in partner.get("/partner").get_data(as_text=True)
    refused = _events("access:request:refused")
    assert refused and refused[-1].actor_id == partners["staff_a"].id
    assert partner.post(f"/partner/referrals/{referral.id}/accept", {}).status_code == 404
    db.session.refresh(referral)
    assert referral.status == "sent"


# --- Packets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["shelter", "legal_aid", "health", "social", "police"])
def test_each_kind_of_partner_gets_the_minimum_for_its_work_by_default(org, partners, kind):
    name = {
        "shelter": "shelter_a",
        "legal_aid": "legal",
        "health": "health",
        "social": "social",
        "police": "police",
    }[kind]
    case = with_secrets(open_case(org["officer_c1"]))
    give(org["officer_c1"], case, packets.KIND_PURPOSE[kind])
    referral = refer(org["officer_c1"], case, partners[name])
    data = _packet(referral)
    assert sorted(data["fields"]) == sorted(packets.default_fields(kind))
    assert data["fields"]["first_name"] == "Yến"
    assert data["fields"]["safe_contact"].startswith("Call after 9 am")
    content = portal.latest_packet(referral).content
    for secret in (CANARY, ADDRESS, REPORTER, PHONE, "beaten"):
        assert secret not in content
    assert ("eligibility" in data) == (kind == "legal_aid")
    event = _events("referral:referral:send")[-1]
    assert sorted(json.loads(event.details)["fields"]) == sorted(packets.default_fields(kind))


def test_the_address_goes_only_to_a_shelter_for_a_pick_up_explicitly_confirmed(org, partners):
    case = with_secrets(open_case(org["officer_c1"]))
    give(org["officer_c1"], case, "refer_shelter", "refer_legal_aid")
    wanted = [*packets.default_fields("shelter"), "address", "reporter"]
    with pytest.raises(Invalid) as refused:
        refer(org["officer_c1"], case, partners["shelter_a"], fields=wanted)
    assert "pickup_confirmed" in refused.value.fields
    db.session.rollback()
    with pytest.raises(Invalid) as refused:
        refer(
            org["officer_c1"],
            case,
            partners["legal"],
            fields=[*packets.default_fields("legal_aid"), "address"],
            pickup_confirmed=True,
        )
    assert "packet_fields" in refused.value.fields
    db.session.rollback()
    assert _count(Referral) == 0
    referral = refer(
        org["officer_c1"], case, partners["shelter_a"], fields=wanted, pickup_confirmed=True
    )
    data = _packet(referral)
    assert data["fields"]["address"] == ADDRESS and REPORTER in data["fields"]["reporter"]
    assert json.loads(_events("referral:referral:send")[-1].details)["pickup"] is True


def test_the_packet_is_frozen_until_the_officer_shares_again(org, partners):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    victim_of(case).safe_contact = "Only through her sister"
    db.session.commit()
    assert _packet(referral)["fields"]["safe_contact"].startswith("Call after 9 am")
    service.reshare_packet(
        org["officer_c1"], referral, fields=list(packets.default_fields("shelter")), needs=None
    )
    db.session.commit()
    assert _packet(referral)["fields"]["safe_contact"] == "Only through her sister"
    assert _count(ReferralPacket) == 2  # the first packet stays on record


def _person_aged(case: Case, years: int | None, band: str | None = None):  # type: ignore[no-untyped-def]
    victim = victim_of(case)
    if years is not None:
        today = date.today()
        victim.date_of_birth = date(today.year - years - 1, 1, 1)
    victim.age_band = band
    db.session.commit()
    return victim


@pytest.mark.parametrize(
    ("types", "years", "level", "reason"),
    [
        (["domestic_violence"], 12, "always", "child_under_16"),
        (["trafficking"], 30, "always", "trafficking"),
        (["domestic_violence.physical"], 30, "if_hardship", "domestic_violence"),
        (["land_property"], 16, "if_hardship", "aged_16_to_18"),
        (["land_property"], 40, "not_listed", None),
    ],
)
def test_legal_aid_eligibility_follows_the_legal_aid_law(org, types, years, level, reason):
    case = open_case(org["officer_c1"], types=types)
    hint = packets.legal_aid_eligibility(case, _person_aged(case, years))
    assert hint.level == level
    assert (reason in hint.reasons) if reason else hint.reasons == ()


def test_legal_aid_eligibility_from_the_age_band_when_the_birth_date_is_unknown(org):
    case = open_case(org["officer_c1"], types=["land_property"])
    assert packets.legal_aid_eligibility(case, _person_aged(case, None, "12-15")).level == "always"
    assert packets.legal_aid_eligibility(case, _person_aged(case, None, None)).level == "unknown"


# --- Partner isolation --------------------------------------------------------------------------


def test_a_partner_cannot_reach_another_organisations_referral(app, org, partners, new_browser):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    other = new_browser()
    _sign_in(other, "staff.b")
    before = len(_events("access:request:refused"))
    for url in (
        f"/partner/referrals/{referral.id}",
        f"/cases/{case.id}",
        f"/cases/{case.id}/referrals/{referral.id}",
        f"/cases/{case.id}/referrals/new?kind=shelter",
    ):
        page = other.get(url)
        assert page.status_code in (403, 404), url
        assert "Yến" not in page.get_data(as_text=True)
    for url in ("accept", "decline", "notes", "stays"):
        assert other.post(f"/partner/referrals/{referral.id}/{url}", {}).status_code == 404
    assert referral.reference not in other.get("/partner").get_data(as_text=True)
    refused = _events("access:request:refused")[before:]
    assert len(refused) >= 8
    assert all(e.actor_id == partners["staff_b"].id for e in refused)
    db.session.refresh(referral)
    assert referral.status == "sent" and _count(ReferralNote) == 0


def test_a_partner_reaches_no_case_page_even_for_her_own_referral(app, org, partners, new_browser):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    partner = new_browser()
    _sign_in(partner, "staff.a")
    for url in (
        "/cases/",
        f"/cases/{case.id}",
        f"/cases/{case.id}/summary",
        f"/cases/{case.id}/referrals/{referral.id}",
        "/deadlines",
        "/shelters",
    ):
        page = partner.get(url)
        assert page.status_code in (403, 404), url
        assert CANARY not in page.get_data(as_text=True)


def test_only_the_handling_unit_refers(app, org, partners, browser):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    with pytest.raises(NotPermitted):
        refer(org["officer_c2"], case, partners["shelter_a"])
    db.session.rollback()
    _sign_in(browser, "admin.tw")
    url = f"/cases/{case.id}/referrals/new?kind=shelter"
    assert browser.post(url, _shelter_form(case, partners["shelter_a"])).status_code == 403
    assert _count(Referral) == 0
