"""Per-service delivery: the partner records each service of a referral as delivered (on a day) or
not delivered (with a reason); the referring unit reads it on the referral and in the case file's
support section, where the service is an entry provided by the partner via the referral."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.cases import consent
from casework.cases.models import Support
from casework.cases.support import local_today
from casework.cases.workflow.models import Notification
from casework.extensions import db
from casework.referrals import service
from casework.referrals.models import Referral
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY
from tests.referrals.conftest import give, refer


def _accepted(org, partners, services=("legal_advice", "legal_aid")):  # type: ignore[no-untyped-def]
    """A legal-aid referral for two services, accepted by the centre."""
    case = open_case(org["officer_c1"])
    (made,) = give(org["officer_c1"], case, "refer_legal_aid")
    referral = refer(org["officer_c1"], case, partners["legal"], services=list(services))
    service.accept_referral(partners["staff_legal"], referral, expected_version=1)
    db.session.commit()
    return case, made, referral


def _support(referral: Referral, code: str) -> Support:
    return db.session.scalar(
        select(Support).where(Support.case_id == referral.case_id, Support.service == code)
    )


def _form(support: Support, **values: str) -> dict[str, str]:
    prefix = f"svc-{support.id.hex}"
    return {f"{prefix}-version": str(support.version)} | {
        f"{prefix}-{k}": v for k, v in values.items()
    }


def _url(referral: Referral, support: Support) -> str:
    return f"/partner/referrals/{referral.id}/services/{support.id}"


def test_the_partner_records_each_service_and_the_unit_reads_it_in_the_file(
    app, org, partners, browser, new_browser
):
    case, _made, referral = _accepted(org, partners)
    advice, aid = _support(referral, "legal_advice"), _support(referral, "legal_aid")
    partner = new_browser()
    _sign_in(partner, "staff.legal")
    page = f"/partner/referrals/{referral.id}"
    html = partner.get(page).get_data(as_text=True)
    assert _url(referral, advice) in html and _url(referral, aid) in html
    day = local_today()
    form = _form(advice, result="delivered", on=day.isoformat())
    assert partner.post(_url(referral, advice), form, page=page).status_code == 303
    reason = "She moved to another province before the hearing."
    form = _form(aid, result="not_delivered", reason=reason)
    assert partner.post(_url(referral, aid), form, page=page).status_code == 303
    db.session.expire_all()
    advice, aid = _support(referral, "legal_advice"), _support(referral, "legal_aid")
    assert (advice.status, advice.ended_on, advice.provider_partner_id) == (
        "delivered",
        day,
        partners["legal"].id,
    )
    assert (aid.status, aid.outcome) == ("stopped", reason)
    # A delivered service put the accepted referral in service.
    assert db.session.get(Referral, referral.id).status == "in_service"
    # Audited as support updates on the case, with ids and codes only.
    events = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.tag == "case:support:update")
            .order_by(AuditEvent.seq)
        )
    )
    details = [json.loads(e.details) for e in events]
    assert [(d["service"], d["status"]) for d in details] == [
        ("legal_advice", "delivered"),
        ("legal_aid", "stopped"),
    ]
    assert all(e.actor_id == partners["staff_legal"].id for e in events)
    assert all("moved" not in e.details for e in events)
    # The officer who referred hears of it: in service (the first delivery), then the failure.
    kinds = db.session.scalars(
        select(Notification.kind)
        .where(
            Notification.user_id == org["officer_c1"].id, Notification.kind != "referral_accepted"
        )
        .order_by(Notification.created_at)
    ).all()
    assert kinds == ["referral_in_service", "referral_service_failed"]
    # The referring unit: on the referral, and in the file's support section.
    _sign_in(browser, "officer.c1")
    on_referral = browser.get(f"/cases/{case.id}/referrals/{referral.id}").get_data(as_text=True)
    assert reason in on_referral and "delivered on" in on_referral
    file_html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    support_part = file_html[file_html.index('id="support"') : file_html.index('id="follow-ups"')]
    assert "Legal aid HY" in support_part and referral.reference in support_part
    assert reason in support_part and "Delivered" in support_part


def test_a_delivery_needs_a_day_not_in_the_future_and_a_refusal_needs_a_reason(
    app, org, partners, new_browser
):
    _case, _made, referral = _accepted(org, partners)
    advice = _support(referral, "legal_advice")
    partner = new_browser()
    _sign_in(partner, "staff.legal")
    page = f"/partner/referrals/{referral.id}"
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    before = (local_today() - timedelta(days=3)).isoformat()  # before the referral was sent
    for values, message in (
        ({"result": "delivered"}, "Enter the day the service was delivered."),
        ({"result": "delivered", "on": tomorrow}, "This date is in the future."),
        ({"result": "delivered", "on": before}, "This is before the referral was sent."),
        ({"result": "not_delivered"}, "Say why the service was not delivered."),
        ({"result": "maybe"}, "Not a valid choice"),
    ):
        response = partner.post(_url(referral, advice), _form(advice, **values), page=page)
        assert response.status_code == 422, values
        assert message in response.get_data(as_text=True), values
    db.session.expire_all()
    assert _support(referral, "legal_advice").status == "planned"
    assert db.session.get(Referral, referral.id).status == "accepted"


def test_a_stale_delivery_form_is_refused(app, org, partners, new_browser):
    _case, _made, referral = _accepted(org, partners)
    advice = _support(referral, "legal_advice")
    partner = new_browser()
    _sign_in(partner, "staff.legal")
    page = f"/partner/referrals/{referral.id}"
    form = _form(advice, result="not_delivered", reason="She did not come.")
    form[f"svc-{advice.id.hex}-version"] = str(advice.version - 1)
    assert partner.post(_url(referral, advice), form, page=page).status_code == 409
    db.session.expire_all()
    assert _support(referral, "legal_advice").status == "planned"


def test_another_partner_cannot_record_a_service_of_a_referral_not_hers(
    app, org, partners, new_browser
):
    _case, _made, referral = _accepted(org, partners)
    advice = _support(referral, "legal_advice")
    other = new_browser()
    _sign_in(other, "staff.a")
    before = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.tag == "access:request:refused")
    )
    form = _form(advice, result="delivered", on=local_today().isoformat())
    response = other.post(_url(referral, advice), form)
    assert response.status_code == 404
    assert CANARY not in response.get_data(as_text=True)
    refused = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.tag == "access:request:refused")
    )
    assert refused == before + 1
    db.session.expire_all()
    assert _support(referral, "legal_advice").status == "planned"


def test_a_support_entry_of_another_referral_is_not_found(app, org, partners, new_browser):
    _case, _made, referral = _accepted(org, partners)
    _case2, _made2, other_referral = _accepted(org, partners)
    theirs = _support(other_referral, "legal_aid")
    partner = new_browser()
    _sign_in(partner, "staff.legal")
    form = _form(theirs, result="delivered", on=local_today().isoformat())
    assert partner.post(_url(referral, theirs), form).status_code == 404
    db.session.expire_all()
    assert db.session.get(Support, theirs.id).status == "planned"


def test_after_withdrawal_or_consent_withdrawal_nothing_more_is_recorded(
    app, org, partners, new_browser
):
    case, made, referral = _accepted(org, partners)
    _case2, _made2, withdrawn = _accepted(org, partners)
    partner = new_browser()
    _sign_in(partner, "staff.legal")
    # Consent withdrawn: the first referral is closed to her at once.
    consent.withdraw_consent(org["officer_c1"], case, made)
    db.session.commit()
    advice = _support(referral, "legal_advice")
    form = _form(advice, result="delivered", on=local_today().isoformat())
    assert partner.post(_url(referral, advice), form).status_code == 404
    # Referral withdrawn by the unit: the same.
    service.withdraw_referral(
        org["officer_c1"], withdrawn, reason="She asked us to stop.", expected_version=2
    )
    db.session.commit()
    aid = _support(withdrawn, "legal_aid")
    form = _form(aid, result="delivered", on=local_today().isoformat())
    assert partner.post(_url(withdrawn, aid), form).status_code == 404
    db.session.expire_all()
    assert _support(referral, "legal_advice").status == "planned"
    assert _support(withdrawn, "legal_aid").status == "stopped"  # stopped by the withdrawal
    assert _support(withdrawn, "legal_aid").outcome is None


def test_completing_delivers_what_is_not_recorded_and_keeps_a_refusal(org, partners):
    from casework.referrals import delivery

    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_legal_aid")
    referral = refer(
        org["officer_c1"], case, partners["legal"], services=["legal_advice", "legal_aid"]
    )
    assert delivery.services_of(referral) == []  # the entries come with the acceptance
    service.accept_referral(partners["staff_legal"], referral, expected_version=1)
    service.start_service(partners["staff_legal"], referral, expected_version=2)
    db.session.commit()
    advice, aid = (row.support for row in delivery.services_of(referral))
    assert (advice.service, aid.service) == ("legal_advice", "legal_aid")
    delivery.record_delivery(
        partners["staff_legal"],
        referral,
        aid,
        result="not_delivered",
        on=None,
        reason="Not eligible: the centre referred her on.",
        expected_version=aid.version,
    )
    service.complete_referral(
        partners["staff_legal"], referral, outcome="Advice given.", expected_version=3
    )
    db.session.commit()
    db.session.expire_all()
    advice, aid = (row.support for row in delivery.services_of(referral))
    assert (advice.status, advice.ended_on) == ("delivered", local_today())
    assert (aid.status, aid.outcome) == ("stopped", "Not eligible: the centre referred her on.")


def test_a_shelter_whose_guest_never_came_records_it_and_completes(app, org, partners, new_browser):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    service.accept_referral(partners["staff_a"], referral, expected_version=1)
    db.session.commit()
    partner = new_browser()
    _sign_in(partner, "staff.a")
    page = f"/partner/referrals/{referral.id}"
    complete = {"complete-version": "2", "complete-outcome": "She never arrived."}
    # Not yet: a service is still planned, so completing an accepted referral is refused.
    assert "/complete" not in partner.get(page).get_data(as_text=True)
    assert partner.post(f"{page}/complete", complete, page=page).status_code == 409
    assert db.session.get(Referral, referral.id).status == "accepted"
    bed = _support(referral, "shelter")
    form = _form(bed, result="not_delivered", reason="She did not come on the agreed day.")
    assert partner.post(_url(referral, bed), form, page=page).status_code == 303
    assert f"{page}/complete" in partner.get(page).get_data(as_text=True)
    assert partner.post(f"{page}/complete", complete, page=page).status_code == 303
    db.session.expire_all()
    done = db.session.get(Referral, referral.id)
    assert (done.status, done.started_at, done.outcome) == (
        "completed",
        None,
        "She never arrived.",
    )
    assert _support(referral, "shelter").status == "stopped"
