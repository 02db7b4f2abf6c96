"""Decision 2605 workflow: quick reports, escalation, take-over, closure, reopening."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.cases.workflow import service as wf
from casework.cases.workflow.models import (
    Escalation,
    Notification,
    QuickReport,
    QuickReportDelivery,
    Transition,
)
from casework.errors import Invalid, InvalidTransition
from casework.extensions import db
from casework.policy import NotPermitted, Permission, can
from tests.cases.conftest import classified_case, open_case
from tests.conftest import CANARY, make_user


def _classified(org, severity="S3"):  # type: ignore[no-untyped-def]
    return classified_case(org["officer_c1"], severity)


def test_quick_report_reaches_the_parent_and_carries_no_names(org):
    case = _classified(org)
    report = wf.send_quick_report(org["officer_c1"], case, "Woman injured; police informed.")
    db.session.commit()
    units = set(
        db.session.scalars(
            select(QuickReportDelivery.unit_id).where(QuickReportDelivery.report_id == report.id)
        )
    )
    assert units == {org["D1"].id}
    assert CANARY not in report.snapshot and "345 678" not in report.snapshot
    assert json.loads(report.snapshot)["severity"] == "S3"
    assert can(org["reviewer_d1"], Permission.QUICK_REPORT_RECEIVE, report)
    assert not can(org["reviewer_d2"], Permission.QUICK_REPORT_RECEIVE, report)
    notes = db.session.scalars(
        select(Notification).where(Notification.user_id == org["reviewer_d1"].id)
    ).all()
    assert [n.kind for n in notes] == ["quick_report"]


@pytest.mark.parametrize(
    "situation",
    [
        f"{CANARY} was beaten again",
        "Victim: canary NGUYEN  thi hoàng-yen, injured",  # the canary in another spelling
        "Call her on +84 912.345.678 before noon",
        "Her phone: 0912345678",
    ],
)
def test_a_quick_report_naming_a_person_of_the_case_is_refused(org, situation):
    case = _classified(org)
    with pytest.raises(Invalid) as refused:
        wf.send_quick_report(org["officer_c1"], case, situation)
    assert "situation" in refused.value.fields
    db.session.rollback()
    assert db.session.scalar(select(func.count(QuickReport.id))) == 0


def test_a_quick_report_may_use_ordinary_words_that_are_also_given_names(org):
    """Only a full name counts: "hoa" alone (flower, also a given name) is an ordinary word."""
    case = _classified(org)
    wf.send_quick_report(org["officer_c1"], case, "Hoa and her children are safe; 2 injuries")
    assert db.session.scalar(select(func.count(QuickReport.id))) == 1


def test_s4_quick_report_also_reaches_central(org):
    case = _classified(org, "S4")
    report = wf.send_quick_report(org["officer_c1"], case, "Death of a victim.")
    db.session.commit()
    units = set(
        db.session.scalars(
            select(QuickReportDelivery.unit_id).where(QuickReportDelivery.report_id == report.id)
        )
    )
    assert units == {org["D1"].id, org["TW"].id}


def test_quick_report_only_for_configured_severities(org):
    case = _classified(org, "S1")
    with pytest.raises(Invalid):
        wf.send_quick_report(org["officer_c1"], case, "x")


def test_a_correction_is_a_new_version_and_the_first_stays(org):
    case = _classified(org)
    first = wf.send_quick_report(org["officer_c1"], case, "First")
    second = wf.send_quick_report(org["officer_c1"], case, "Second")
    db.session.commit()
    assert (first.number, second.number) == (1, 2) and second.supersedes_id == first.id
    assert first.situation == "First"


def test_receiving_reviewer_forwards_up_once(org):
    case = _classified(org)
    report = wf.send_quick_report(org["officer_c1"], case, "x")
    wf.forward_quick_report(org["reviewer_d1"], report)
    db.session.commit()
    assert can(org["reviewer_hy"], Permission.QUICK_REPORT_RECEIVE, report)
    with pytest.raises(InvalidTransition):
        wf.forward_quick_report(org["reviewer_d1"], report)


def test_escalation_accepted_moves_handling_up_and_the_commune_keeps_reading(org):
    case = _classified(org)
    esc = wf.request_escalation(org["officer_c1"], case, "Beyond our capacity")
    db.session.commit()
    assert not can(org["officer_c1"], Permission.ESCALATION_ANSWER, esc)
    wf.accept_escalation(org["reviewer_d1"], esc)
    db.session.commit()
    assert case.handling_unit_id == org["D1"].id
    assert can(org["reviewer_d1"], Permission.CASE_EDIT, case)
    assert can(org["officer_c1"], Permission.CASE_READ, case)
    assert not can(org["officer_c1"], Permission.CASE_EDIT, case)


def test_escalation_returned_with_guidance(org):
    case = _classified(org)
    esc = wf.request_escalation(org["officer_c1"], case, "Unsure")
    with pytest.raises(Invalid):
        wf.return_escalation(org["reviewer_d1"], esc, "")
    wf.return_escalation(org["reviewer_d1"], esc, "Contact the police first")
    db.session.commit()
    assert case.handling_unit_id == org["C1"].id and esc.status == "returned"


def test_only_the_parent_units_reviewers_answer_an_escalation(org):
    case = _classified(org)
    esc = wf.request_escalation(org["officer_c1"], case, "Help")
    for who in ("reviewer_d2", "reviewer_hy", "officer_c2", "admin"):
        with pytest.raises(NotPermitted):
            wf.accept_escalation(org[who], esc)


def test_a_second_answer_to_the_same_escalation_is_told_it_lost(org):
    case = _classified(org)
    esc = wf.request_escalation(org["officer_c1"], case, "Help")
    db.session.commit()
    other = make_user("reviewer.d1b", "reviewer", org["D1"])
    wf.accept_escalation(org["reviewer_d1"], esc)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        wf.return_escalation(other, esc, "No")


def test_province_reviewer_escalates_on_to_central(org):
    case = _classified(org)
    wf.accept_escalation(org["reviewer_d1"], wf.request_escalation(org["officer_c1"], case, "1"))
    wf.accept_escalation(org["reviewer_hy"], wf.request_escalation(org["reviewer_d1"], case, "2"))
    central = make_user("reviewer.tw", "reviewer", org["TW"])
    esc = wf.request_escalation(org["reviewer_hy"], case, "Cross-province")
    wf.accept_escalation(central, esc)
    db.session.commit()
    assert case.handling_unit_id == org["TW"].id
    with pytest.raises(InvalidTransition):
        wf.request_escalation(central, case, "nowhere higher")


def test_take_over_by_a_unit_above(org):
    case = _classified(org)
    assert not can(org["reviewer_d2"], Permission.CASE_TAKE_OVER, case)
    wf.take_over(org["reviewer_hy"], case, "Media attention")
    db.session.commit()
    assert case.handling_unit_id == org["HY"].id
    assert can(org["officer_c1"], Permission.CASE_READ, case)


def test_closure_needs_a_reviewer_above_and_never_the_requester(org):
    case = _classified(org)
    request = wf.request_closure(
        org["officer_c1"], case, "resolved", "Violence stopped; victim safe."
    )
    db.session.commit()
    assert case.status == "closure_requested"
    # A reviewer of the same commune (not above) and a sibling district cannot approve.
    same = make_user("reviewer.c1", "reviewer", org["C1"])
    for reviewer in (same, org["reviewer_d2"]):
        with pytest.raises(NotPermitted):
            wf.approve_closure(reviewer, request)
    wf.approve_closure(org["reviewer_d1"], request, "Agreed")
    db.session.commit()
    assert case.status == "closed" and case.closure_outcome == "resolved"


def test_no_self_approval_at_the_top(org):
    case = _classified(org)
    central_a = make_user("reviewer.tw.a", "reviewer", org["TW"])
    central_b = make_user("reviewer.tw.b", "reviewer", org["TW"])
    wf.take_over(central_a, case, "National case")
    request = wf.request_closure(central_a, case, "resolved", "Done")
    with pytest.raises(NotPermitted):
        wf.approve_closure(central_a, request)
    wf.approve_closure(central_b, request)
    assert case.status == "closed"


def test_refused_closure_returns_the_case_to_active(org):
    case = _classified(org)
    request = wf.request_closure(org["officer_c1"], case, "needs_met", "All services given")
    with pytest.raises(Invalid):
        wf.refuse_closure(org["reviewer_d1"], request, "")
    wf.refuse_closure(org["reviewer_d1"], request, "Follow-up visit still needed")
    db.session.commit()
    assert case.status == "active" and request.status == "refused"


def test_reopen_a_closed_case_with_a_reason(org):
    case = _classified(org)
    wf.approve_closure(
        org["reviewer_d1"], wf.request_closure(org["officer_c1"], case, "resolved", "ok")
    )
    with pytest.raises(NotPermitted):
        wf.reopen(org["officer_c1"], case, "new violence")
    wf.reopen(org["reviewer_d1"], case, "New violence reported")
    db.session.commit()
    assert case.status == "active" and case.closed_at is None


def test_transitions_outside_the_state_machine_are_refused(org):
    case = open_case(org["officer_c1"])  # open, not classified
    with pytest.raises(InvalidTransition):
        wf.request_closure(org["officer_c1"], case, "duplicate", "Same as another case")
    with pytest.raises(InvalidTransition):
        wf.start_monitoring(org["officer_c1"], case)
    with pytest.raises(InvalidTransition):
        wf.reopen(org["reviewer_d1"], case, "x")


def test_every_transition_is_recorded_and_audited(org):
    case = _classified(org)
    wf.start_monitoring(org["officer_c1"], case)
    wf.approve_closure(
        org["reviewer_d1"], wf.request_closure(org["officer_c1"], case, "resolved", "ok")
    )
    db.session.commit()
    steps = db.session.scalars(
        select(Transition).where(Transition.case_id == case.id).order_by(Transition.at)
    ).all()
    assert [(s.from_status, s.to_status) for s in steps] == [
        ("open", "active"),
        ("active", "monitoring"),
        ("monitoring", "closure_requested"),
        ("closure_requested", "closed"),
    ]
    audited = db.session.scalars(
        select(AuditEvent).where(AuditEvent.tag == "case:status:change")
    ).all()
    assert len(audited) == 4
    for event in audited:
        assert CANARY not in event.details
    # The steps that carry words keep them with the step: the outcome asked for, then the comment.
    assert [s.reason for s in steps] == [None, None, "ok", None]


def test_the_reason_of_a_refused_closure_stays_with_its_step(org):
    case = _classified(org)
    request = wf.request_closure(org["officer_c1"], case, "needs_met", "All services given")
    wf.refuse_closure(org["reviewer_d1"], request, "Follow-up visit still needed")
    db.session.commit()
    back = db.session.scalars(
        select(Transition).where(
            Transition.case_id == case.id, Transition.from_status == "closure_requested"
        )
    ).one()
    assert (back.to_status, back.reason) == ("active", "Follow-up visit still needed")


def test_a_case_waiting_for_closure_cannot_move_up_and_be_closed_by_its_new_unit(org):
    """The district that would approve the closure must not become the handling unit first and so
    approve the closure of its own case."""
    case = _classified(org)
    request = wf.request_closure(org["officer_c1"], case, "resolved", "Violence stopped")
    db.session.commit()
    with pytest.raises(InvalidTransition):
        wf.request_escalation(org["officer_c1"], case, "Too hard for the commune")
    with pytest.raises(InvalidTransition):
        wf.take_over(org["reviewer_d1"], case, "We will handle it")
    db.session.rollback()
    assert case.handling_unit_id == org["C1"].id and case.status == "closure_requested"
    assert not db.session.scalars(select(Escalation).where(Escalation.case_id == case.id)).all()
    wf.approve_closure(org["reviewer_d1"], request)
    assert case.status == "closed"


def test_a_case_with_an_escalation_waiting_cannot_ask_for_closure(org):
    case = _classified(org)
    escalation = wf.request_escalation(org["officer_c1"], case, "Needs the district")
    db.session.commit()
    with pytest.raises(InvalidTransition):
        wf.request_closure(org["officer_c1"], case, "resolved", "Done")
    db.session.rollback()
    assert case.status == "active"
    wf.accept_escalation(org["reviewer_d1"], escalation)
    assert case.handling_unit_id == org["D1"].id


def test_the_new_handling_unit_never_approves_a_closure_asked_before_it_took_the_case(org):
    """Even should a case move after its closure was asked (data from before this rule, or an
    import), the policy asks for a reviewer above the unit handling it now."""
    case = _classified(org)
    request = wf.request_closure(org["officer_c1"], case, "resolved", "Done")
    case.handling_unit = org["D1"]
    db.session.flush()
    assert not can(org["reviewer_d1"], Permission.CLOSURE_DECIDE, request)
    assert can(org["reviewer_hy"], Permission.CLOSURE_DECIDE, request)


def test_an_escalation_cannot_be_accepted_once_the_case_is_closed(org):
    case = _classified(org)
    escalation = wf.request_escalation(org["officer_c1"], case, "Needs the district")
    db.session.commit()
    case.status = "closed"  # closed by a path outside these services (an import, say)
    db.session.flush()
    with pytest.raises(InvalidTransition):
        wf.accept_escalation(org["reviewer_d1"], escalation)
    assert escalation.status == "pending" and case.handling_unit_id == org["C1"].id
