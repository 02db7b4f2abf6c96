"""Ending a legal basis: by the handling unit, with a reason, once; from then on it covers nothing
(referrals that relied on it lose their partner's access) and it stays in the file's history."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from casework.audit.models import AuditEvent
from casework.cases import consent
from casework.cases import service as cases
from casework.cases.models import LegalBasis
from casework.cases.workflow import service as wf
from casework.errors import Invalid, InvalidTransition, StaleEdit
from casework.extensions import db
from casework.policy import NotPermitted, Permission, can
from casework.referrals import service as referrals
from tests.cases.conftest import classified_case, open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, PASSWORD, audit_text
from tests.referrals.conftest import partners, refer  # noqa: F401 (fixture)

REASON = f"{CANARY} moved to her mother's house; the danger is over"


def _basis(org, case, purpose="refer_shelter"):  # type: ignore[no-untyped-def]
    made = consent.record_legal_basis(
        org["officer_c1"], case, basis="protect_life", purpose=purpose, note="Threatened tonight"
    )
    db.session.commit()
    return made


def _end(actor, case, basis, reason=REASON, version=None):  # type: ignore[no-untyped-def]
    consent.end_legal_basis(
        actor,
        case,
        basis,
        reason=reason,
        expected_version=basis.version if version is None else version,
    )
    db.session.commit()


def _ends() -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.tag == "case:legal_basis:end"))
    )


def test_an_ended_legal_basis_no_longer_counts_and_stays_in_the_history(org):
    case = open_case(org["officer_c1"])
    basis = _basis(org, case)
    assert consent.has_basis(case, "refer_shelter")
    _end(org["officer_c1"], case, basis)
    assert not consent.has_basis(case, "refer_shelter")
    db.session.expire_all()
    row = db.session.get(LegalBasis, basis.id)
    assert row.ended_at is not None and row.ended_by_id == org["officer_c1"].id
    assert row.end_reason == REASON and not row.active
    assert consent.section(org["officer_c1"], case).bases == [row]
    # The reason is encrypted; the audit event names the row, not the reason.
    raw = repr(db.session.execute(text("SELECT * FROM legal_basis")).all()) + audit_text()
    assert "Canary" not in raw and "danger is over" not in raw
    [event] = _ends()
    assert event.actor_id == org["officer_c1"].id and str(basis.id) in event.details


def test_a_referral_that_relied_on_the_basis_loses_its_partners_access(org, partners):  # noqa: F811
    case = open_case(org["officer_c1"])
    basis = _basis(org, case)
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    assert can(partners["staff_a"], Permission.REFERRAL_WORK, referral)
    _end(org["officer_c1"], case, basis)
    assert not can(partners["staff_a"], Permission.REFERRAL_WORK, referral)
    with pytest.raises(referrals.ConsentMissing):
        refer(org["officer_c1"], case, partners["shelter_a"])


def test_another_active_basis_for_the_purpose_still_counts(org):
    case = open_case(org["officer_c1"])
    first, _second = _basis(org, case), _basis(org, case)
    _end(org["officer_c1"], case, first)
    assert consent.has_basis(case, "refer_shelter")


@pytest.mark.parametrize("who", ["officer_c2", "reviewer_d1", "reviewer_hy", "admin", "auditor"])
def test_only_the_handling_unit_ends_a_legal_basis(org, who):
    case = open_case(org["officer_c1"])
    basis = _basis(org, case)
    with pytest.raises(NotPermitted):
        _end(org[who], case, basis)
    db.session.rollback()
    assert db.session.get(LegalBasis, basis.id).active and _ends() == []


def test_after_escalation_the_commune_reads_but_no_longer_ends_it(org):
    case = classified_case(org["officer_c1"])
    basis = _basis(org, case)
    wf.accept_escalation(org["reviewer_d1"], wf.request_escalation(org["officer_c1"], case, "up"))
    db.session.commit()
    with pytest.raises(NotPermitted):
        _end(org["officer_c1"], case, basis)
    db.session.rollback()
    _end(org["reviewer_d1"], case, basis)
    assert not consent.has_basis(case, "refer_shelter")


def test_a_second_end_is_refused_and_the_first_reason_stays(org):
    case = open_case(org["officer_c1"])
    basis = _basis(org, case)
    _end(org["officer_c1"], case, basis)
    with pytest.raises(InvalidTransition):
        _end(org["officer_c1"], case, basis, reason="another reason")
    db.session.rollback()
    assert db.session.get(LegalBasis, basis.id).end_reason == REASON and len(_ends()) == 1


def test_an_end_from_a_stale_page_is_refused(org):
    case = open_case(org["officer_c1"])
    basis = _basis(org, case)
    with pytest.raises(StaleEdit):
        _end(org["officer_c1"], case, basis, version=basis.version + 7)
    db.session.rollback()
    assert db.session.get(LegalBasis, basis.id).active


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_an_end_needs_a_reason_of_reasonable_length(org, reason):
    case = open_case(org["officer_c1"])
    basis = _basis(org, case)
    with pytest.raises(Invalid) as refused:
        _end(org["officer_c1"], case, basis, reason=reason)
    assert "reason" in refused.value.fields
    db.session.rollback()
    assert db.session.get(LegalBasis, basis.id).active


def test_a_basis_of_another_case_is_refused(org):
    case, other = open_case(org["officer_c1"]), open_case(org["officer_c1"])
    basis = _basis(org, case)
    with pytest.raises(Invalid):
        _end(org["officer_c1"], other, basis)
    db.session.rollback()
    assert db.session.get(LegalBasis, basis.id).active


# --- Pages ----------------------------------------------------------------------------------------


def test_the_handling_officer_ends_a_basis_from_the_consent_section(app, org, browser):
    case = open_case(org["officer_c1"])
    basis = _basis(org, case)
    _sign_in(browser, "officer.c1")
    section = browser.get(f"/cases/{case.id}").get_data(as_text=True).split('id="consent"')[1]
    url = f"/cases/{case.id}/legal-basis/{basis.id}/end"
    assert url in section.split("</section>")[0]
    form = browser.get(url)
    assert form.status_code == 200
    response = browser.post(url, {"reason": "The danger is over", "version": basis.version})
    assert response.status_code == 303 and response.location.endswith("#consent")
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="consent"')[1].split("</section>")[0]
    assert "The danger is over" in section and url not in section
    assert not consent.has_basis(case, "refer_shelter")


def test_a_blank_reason_is_refused_with_422_and_nothing_changes(app, org, browser):
    case = open_case(org["officer_c1"])
    basis = _basis(org, case)
    _sign_in(browser, "officer.c1")
    url = f"/cases/{case.id}/legal-basis/{basis.id}/end"
    response = browser.post(url, {"reason": " ", "version": basis.version})
    assert response.status_code == 422
    assert "Say why the legal basis no longer holds." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(LegalBasis, basis.id).active


def test_two_pages_ending_the_same_basis_the_second_gets_409(app, org, browser, new_browser):
    case = open_case(org["officer_c1"])
    basis = _basis(org, case)
    url = f"/cases/{case.id}/legal-basis/{basis.id}/end"
    first, second = browser, new_browser()
    _sign_in(first, "officer.c1")
    _sign_in(second, "officer.c1")
    late_token = second.token(url)  # both pages open before either is sent
    assert first.post(url, {"reason": "First", "version": basis.version}).status_code == 303
    response = second.post(url, {"reason": "Second", "version": 1, "csrf_token": late_token})
    assert response.status_code == 409
    assert "This legal basis was already ended." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(LegalBasis, basis.id).end_reason == "First"


@pytest.mark.parametrize("username", ["officer.c2", "reviewer.d1", "admin.tw", "auditor.tw"])
def test_outsiders_get_403_on_the_end_page_and_nothing_changes(app, org, new_browser, username):
    case = open_case(org["officer_c1"])
    basis = _basis(org, case)
    browser = new_browser()
    _sign_in(browser, username)
    url = f"/cases/{case.id}/legal-basis/{basis.id}/end"
    assert browser.get(url).status_code == 403
    assert browser.post(url, {"reason": "x", "version": 1}, page="/").status_code == 403
    refusals = db.session.scalars(
        select(AuditEvent).where(AuditEvent.tag == "access:request:refused")
    ).all()
    assert [e.outcome for e in refusals] == ["refused", "refused"]
    db.session.expire_all()
    assert db.session.get(LegalBasis, basis.id).active


def test_a_reader_who_may_not_edit_sees_no_end_button(app, org, browser):
    case = open_case(org["officer_c1"])
    _basis(org, case)
    cases.break_glass(org["reviewer_d1"], case, "Check", password=PASSWORD)
    db.session.commit()
    _sign_in(browser, "reviewer.d1")
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="consent"')[1].split("</section>")[0]
    assert "Threatened tonight" in section and "/end" not in section
