"""Consent per purpose: who may give it, its withdrawal, and the legal bases that stand in for it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, text

from casework.audit.models import AuditEvent
from casework.cases import consent, people
from casework.cases.models import Consent, LegalBasis, Person
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition
from casework.extensions import db
from casework.policy import NotPermitted
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, PASSWORD, audit_text

SECRET_REASON = "Canary's father beats the child"


def _born(years: int):  # type: ignore[no-untyped-def]
    return people.years_before(people.local_today(), years) - timedelta(days=30)


def _victim(case) -> Person:  # type: ignore[no-untyped-def]
    return db.session.scalar(
        select(Person).where(Person.case_id == case.id, Person.role == "victim")
    )


def _person(org, case, role="child", years=None, **fields):  # type: ignore[no-untyped-def]
    person = people.add_person(
        org["officer_c1"],
        case,
        role=role,
        full_name=fields.pop("full_name", f"{role} person"),
        date_of_birth=_born(years) if years is not None else None,
        **fields,
    )
    db.session.commit()
    return person


def _give(org, case, subject, given_by="victim", purposes=("record",), **kw):  # type: ignore[no-untyped-def]
    made = consent.give_consent(
        kw.pop("actor", org["officer_c1"]),
        case,
        subject=subject,
        purposes=list(purposes),
        given_by=given_by,
        method=kw.pop("method", "verbal"),
        given_at=kw.pop("given_at", utcnow() - timedelta(minutes=5)),
        **kw,
    )
    db.session.commit()
    return made


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def _refused(org, case, subject, field_name, **kw):  # type: ignore[no-untyped-def]
    before = _count(Consent)
    with pytest.raises(Invalid) as refused:
        _give(org, case, subject, **kw)
    db.session.rollback()
    assert field_name in refused.value.fields, refused.value.fields
    assert _count(Consent) == before
    return refused.value


# --- Adults -------------------------------------------------------------------------------------


def test_an_adult_victim_consents_herself_per_purpose(org):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    made = _give(org, case, victim, purposes=["record", "refer_shelter"])
    assert sorted(c.purpose for c in made) == ["record", "refer_shelter"]
    assert all(c.active and c.recorded_by_id == org["officer_c1"].id for c in made)
    assert consent.has_basis(case, "refer_shelter")
    assert not consent.has_basis(case, "refer_police")
    events = _events("case:consent:give")
    assert len(events) == 2
    assert all(str(case.id) == e.object_id and "Canary" not in e.details for e in events)


def test_a_representative_consents_for_an_adult_only_with_a_reason(org):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    _refused(org, case, victim, "reason", given_by="representative")
    made = _give(org, case, victim, given_by="representative", reason="She is unconscious")
    assert made[0].substitute_reason == "She is unconscious"


def test_an_adult_is_not_a_child_with_a_representative(org):
    case = open_case(org["officer_c1"])
    _refused(org, case, _victim(case), "given_by", given_by="child_and_representative")


def test_a_sixteen_year_old_consents_herself(org):
    case = open_case(org["officer_c1"])
    teen = _person(org, case, role="victim", years=16)
    assert _give(org, case, teen, given_by="victim")


# --- Children -----------------------------------------------------------------------------------


@pytest.mark.parametrize("given_by", ["victim", "representative", "substitute"])
def test_a_child_aged_seven_or_more_must_agree_with_her_representative(org, given_by):
    case = open_case(org["officer_c1"])
    child = _person(org, case, years=10)
    _refused(
        org, case, child, "given_by" if given_by != "substitute" else "reason", given_by=given_by
    )


def test_a_child_aged_seven_agrees_together_with_her_representative(org):
    case = open_case(org["officer_c1"])
    child = _person(org, case, years=7)
    mother = _victim(case)
    made = _give(org, case, child, given_by="child_and_representative", representative=mother)
    assert made[0].representative_id == mother.id
    assert '"child_agreed":true' in _events("case:consent:give")[-1].details


@pytest.mark.parametrize("given_by", ["victim", "child_and_representative"])
def test_for_a_child_under_seven_the_representative_gives_consent(org, given_by):
    case = open_case(org["officer_c1"])
    child = _person(org, case, years=5)
    _refused(org, case, child, "given_by", given_by=given_by)
    assert _give(org, case, child, given_by="representative")


def test_a_childs_consent_needs_her_date_of_birth(org):
    case = open_case(org["officer_c1"])
    child = _person(org, case)
    error = _refused(org, case, child, "subject", given_by="representative")
    with force_locale("en"):
        assert "date of birth" in str(error.message)


def test_a_victim_who_is_a_child_follows_the_child_rules(org):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    people.update_person(
        org["officer_c1"],
        victim,
        expected_version=victim.version,
        role="victim",
        full_name=CANARY,
        date_of_birth=_born(12),
    )
    db.session.commit()
    _refused(org, case, victim, "given_by", given_by="victim")


# --- The representative is the alleged perpetrator ---------------------------------------------


def test_a_perpetrator_recorded_as_representative_never_consents_for_the_child(org):
    case = open_case(org["officer_c1"])
    child = _person(org, case, years=10)
    father = _person(org, case, role="perpetrator", full_name="Father", sex="male")
    for given_by in ("representative", "child_and_representative"):
        error = _refused(org, case, child, "given_by", given_by=given_by, representative=father)
        with force_locale("en"):
            assert "perpetrator" in str(error.message)
    _refused(org, case, child, "reason", given_by="substitute", representative=father)
    _refused(
        org,
        case,
        child,
        "child_agrees",
        given_by="substitute",
        representative=father,
        reason=SECRET_REASON,
    )
    made = _give(
        org,
        case,
        child,
        given_by="substitute",
        representative=father,
        reason=SECRET_REASON,
        child_agrees=True,
    )
    assert made[0].given_by == "substitute" and made[0].representative_id == father.id
    assert made[0].substitute_reason == SECRET_REASON
    details = _events("case:consent:give")[-1].details
    assert '"representative_is_perpetrator":true' in details and "father" not in details


def test_the_officer_can_say_the_representative_is_the_perpetrator(org):
    case = open_case(org["officer_c1"])
    child = _person(org, case, years=4)
    _refused(
        org, case, child, "given_by", given_by="representative", representative_is_perpetrator=True
    )
    made = _give(
        org,
        case,
        child,
        given_by="substitute",
        representative_is_perpetrator=True,
        reason="Child-protection worker of the commune",
    )
    assert made[0].representative_id is None


def test_the_substitute_reason_is_encrypted(org):
    case = open_case(org["officer_c1"])
    child = _person(org, case, years=3)
    _give(org, case, child, given_by="substitute", reason=SECRET_REASON)
    raw = repr(db.session.execute(text("SELECT * FROM consent")).all())
    raw += audit_text()
    assert "Canary" not in raw and "beats" not in raw


# --- Other refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "field_name"),
    [
        ({"purposes": []}, "purposes"),
        ({"purposes": ["sell_data"]}, "purposes"),
        ({"method": "telepathy"}, "method"),
        ({"given_by": "neighbour"}, "given_by"),
        ({"given_at": utcnow() + timedelta(days=1)}, "given_at"),
        ({"given_by": "representative", "reason": "x" * 1001}, "reason"),
    ],
)
def test_bad_consent_is_refused_and_nothing_is_saved(org, kw, field_name):
    case = open_case(org["officer_c1"])
    _refused(org, case, _victim(case), field_name, **kw)
    assert not _events("case:consent:give")


def test_consent_is_about_the_victim_or_a_child_of_this_case(org):
    case, other = open_case(org["officer_c1"]), open_case(org["officer_c1"])
    perpetrator = _person(org, case, role="perpetrator")
    _refused(org, case, perpetrator, "subject")
    _refused(org, case, _victim(other), "subject")
    _refused(org, case, _victim(case), "representative", representative=_victim(other))
    _refused(org, case, _victim(case), "representative", representative=_victim(case))


def test_an_active_consent_is_not_recorded_twice(org):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    _give(org, case, victim, purposes=["record"])
    _refused(org, case, victim, "purposes", purposes=["contact_phone", "record"])


# --- Withdrawal and legal bases -----------------------------------------------------------------


def test_withdrawn_consent_stays_in_history_and_no_longer_counts(org):
    case = open_case(org["officer_c1"])
    (given,) = _give(org, case, _victim(case), purposes=["refer_police"])
    consent.withdraw_consent(org["officer_c1"], case, given)
    db.session.commit()
    assert given.withdrawn_at is not None
    assert given.withdrawn_recorded_by_id == org["officer_c1"].id
    assert not consent.has_basis(case, "refer_police")
    assert _count(Consent) == 1
    event = _events("case:consent:withdraw")[-1]
    assert str(given.id) in event.details
    with pytest.raises(InvalidTransition):
        consent.withdraw_consent(org["officer_c1"], case, given)
    # After withdrawal the same purpose may be consented to again.
    assert _give(org, case, _victim(case), purposes=["refer_police"])


def test_a_legal_basis_stands_where_there_is_no_consent(org):
    case = open_case(org["officer_c1"])
    assert not consent.has_basis(case, "refer_shelter")
    basis = consent.record_legal_basis(
        org["officer_c1"],
        case,
        basis="protect_life",
        purpose="refer_shelter",
        note=f"{CANARY} was threatened with a knife",
    )
    db.session.commit()
    assert consent.has_basis(case, "refer_shelter")
    assert not consent.has_basis(case, "refer_police")
    assert basis.note.endswith("knife")
    raw = repr(db.session.execute(text("SELECT * FROM legal_basis")).all())
    raw += audit_text()
    assert "Canary" not in raw and "knife" not in raw
    assert '"basis":"protect_life"' in _events("case:legal_basis:record")[-1].details


@pytest.mark.parametrize(
    ("kw", "field_name"),
    [
        ({"basis": "convenience"}, "basis"),
        ({"purpose": "gossip"}, "purpose"),
        ({"note": "  "}, "note"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_a_legal_basis_needs_a_known_ground_purpose_and_a_note(org, kw, field_name):
    case = open_case(org["officer_c1"])
    values = {"basis": "mandatory_notification", "purpose": "record", "note": "DV law art. 20"}
    with pytest.raises(Invalid) as refused:
        consent.record_legal_basis(org["officer_c1"], case, **{**values, **kw})
    assert field_name in refused.value.fields
    db.session.rollback()
    assert _count(LegalBasis) == 0


def test_consent_of_one_case_is_no_basis_for_another(org):
    case, other = open_case(org["officer_c1"]), open_case(org["officer_c1"])
    _give(org, case, _victim(case), purposes=["refer_health"])
    assert consent.has_basis(case, "refer_health")
    assert not consent.has_basis(other, "refer_health")


@pytest.mark.parametrize("who", ["officer_c2", "reviewer_d1", "reviewer_hy", "admin", "auditor"])
def test_only_the_handling_unit_records_consent(org, who):
    case = open_case(org["officer_c1"])
    (given,) = _give(org, case, _victim(case))
    with pytest.raises(NotPermitted):
        _give(org, case, _victim(case), purposes=["contact_phone"], actor=org[who])
    with pytest.raises(NotPermitted):
        consent.withdraw_consent(org[who], case, given)
    with pytest.raises(NotPermitted):
        consent.record_legal_basis(org[who], case, basis="protect_life", purpose="record", note="x")
    with pytest.raises(NotPermitted):
        consent.section(org[who], case)
    db.session.rollback()
    assert given.active and _count(Consent) == 1


# --- Pages --------------------------------------------------------------------------------------


def test_the_consent_form_is_never_pre_ticked_and_says_the_data_is_sensitive(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    page = browser.get(f"/cases/{case.id}/consent/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "sensitive personal data" in html
    assert "checked" not in html
    with force_locale("en"):
        meanings = {code: str(meaning) for code, meaning in consent.PURPOSE_MEANINGS.items()}
    for code, meaning in meanings.items():
        assert f'value="{code}"' in html and meaning in html


def _consent_form(subject: Person, **fields: object) -> dict[str, object]:
    return {
        "subject": str(subject.id),
        "purposes": ["record", "contact_phone"],
        "given_by": "victim",
        "method": "verbal",
        "given_at": "2026-11-28T20:30",
        "representative": "",
        **fields,
    }


def test_officer_records_and_withdraws_consent_on_the_file(app, org, browser):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    _sign_in(browser, "officer.c1")
    response = browser.post(f"/cases/{case.id}/consent/new", _consent_form(victim))
    assert response.status_code == 303
    assert response.location.endswith("#consent")
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="consent"')[1].split("</section>")[0]
    assert "Contact by phone" in section and "Record and handle the case" in section
    assert 'href="#consent"' in html
    assert consent.has_basis(case, "contact_phone")

    given = db.session.scalar(select(Consent).where(Consent.purpose == "contact_phone"))
    url = f"/cases/{case.id}/consent/{given.id}/withdraw"
    assert browser.get(url).status_code == 200
    assert browser.post(url, {}).status_code == 303
    db.session.expire_all()
    assert not consent.has_basis(case, "contact_phone")
    section = browser.get(f"/cases/{case.id}").get_data(as_text=True).split('id="consent"')[1]
    withdrawn = section.split("Withdrawn consent (1)")[1].split("</details>")[0]
    assert "Contact by phone" in withdrawn
    # Withdrawing again: the record has changed.
    assert browser.post(url, {}, page=f"/cases/{case.id}").status_code == 409


def test_a_refused_consent_form_answers_422_keeps_the_reason_and_saves_nothing(app, org, browser):
    case = open_case(org["officer_c1"])
    child = _person(org, case, years=10)
    _sign_in(browser, "officer.c1")
    response = browser.post(
        f"/cases/{case.id}/consent/new",
        _consent_form(child, given_by="representative", reason="Grandmother brought her"),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Grandmother brought her" in html and "7 or more" in html
    assert _count(Consent) == 0


def test_a_consent_form_without_purpose_answers_422(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = browser.post(
        f"/cases/{case.id}/consent/new", _consent_form(_victim(case), purposes=[])
    )
    assert response.status_code == 422
    assert _count(Consent) == 0


def test_officer_records_a_legal_basis_on_the_file(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = browser.post(
        f"/cases/{case.id}/legal-basis/new",
        {"basis": "child_protection", "purpose": "refer_social", "note": "Child left alone"},
    )
    assert response.status_code == 303
    section = browser.get(f"/cases/{case.id}").get_data(as_text=True).split('id="consent"')[1]
    assert "Child protection" in section and "Child left alone" in section
    bad = browser.post(
        f"/cases/{case.id}/legal-basis/new",
        {"basis": "child_protection", "purpose": "refer_social", "note": ""},
    )
    assert bad.status_code == 422
    assert _count(LegalBasis) == 1


@pytest.mark.parametrize("username", ["officer.c2", "reviewer.d1", "admin.tw", "auditor.tw"])
def test_outsiders_get_403_on_consent_pages_and_nothing_changes(app, org, new_browser, username):
    case = open_case(org["officer_c1"])
    (given,) = _give(org, case, _victim(case))
    browser = new_browser()
    _sign_in(browser, username)
    withdraw = f"/cases/{case.id}/consent/{given.id}/withdraw"
    for url in (f"/cases/{case.id}/consent/new", f"/cases/{case.id}/legal-basis/new", withdraw):
        response = browser.get(url)
        assert response.status_code == 403, url
        assert CANARY not in response.get_data(as_text=True)
    assert browser.post(withdraw, {}, page="/").status_code == 403
    posted = browser.post(f"/cases/{case.id}/consent/new", _consent_form(_victim(case)), page="/")
    assert posted.status_code == 403
    db.session.expire_all()
    assert db.session.get(Consent, given.id).active and _count(Consent) == 1


def test_the_file_page_shows_no_consent_buttons_to_a_reader_who_may_not_edit(app, org, browser):
    case = open_case(org["officer_c1"])
    _give(org, case, _victim(case))
    # Break-glass gives a supervising reviewer the file to read, not to edit.
    from casework.cases import service

    service.break_glass(org["reviewer_d1"], case, "Check", password=PASSWORD)
    db.session.commit()
    _sign_in(browser, "reviewer.d1")
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="consent"')[1].split("</section>")[0]
    assert "Record and handle the case" in section
    assert "/withdraw" not in section and "/consent/new" not in section
    assert browser.get(f"/cases/{case.id}/consent/new").status_code == 403


def test_the_printable_file_shows_people_and_consent_without_buttons(app, org, browser):
    case = open_case(org["officer_c1"])
    _give(org, case, _victim(case), purposes=["refer_legal_aid"])
    _sign_in(browser, "officer.c1")
    page = browser.get(f"/cases/{case.id}/print")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert CANARY in html and "Refer to legal aid" in html
    assert "/withdraw" not in html and "/people/new" not in html
    assert "could not be printed" not in html
