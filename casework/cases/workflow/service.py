"""The workflow services (DESIGN.md §4): every transition checked against the state machine, with
actor, time and reason recorded and audited in the same transaction.

Answers to escalations and closure requests are guarded updates (`... WHERE status = 'pending'`),
so when two reviewers answer at once exactly one wins and the other is told.
"""

from __future__ import annotations

import json
import uuid

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from casework import audit
from casework.accounts.models import Unit, User
from casework.audit import Tag
from casework.cases.models import Case, Person
from casework.cases.service import _text
from casework.cases.workflow import requests
from casework.cases.workflow.models import (
    CLOSURE_REASONS,
    ClosureRequest,
    Escalation,
    QuickReport,
    QuickReportDelivery,
)
from casework.cases.workflow.notifications import notify, reviewers_of
from casework.cases.workflow.states import MOVABLE, move
from casework.crypto import normalise
from casework.crypto.fields import ERASED
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition
from casework.extensions import db
from casework.policy import Permission, can, require

REASON_MAX = 2000


def start_monitoring(actor: User, case: Case) -> None:
    """Active → monitoring: the case is handled and now watched through follow-ups."""
    require(actor, Permission.CASE_EDIT, case)
    move(actor, case, "monitoring")


def resume_handling(actor: User, case: Case) -> None:
    """Monitoring → active."""
    require(actor, Permission.CASE_EDIT, case)
    if case.status != "monitoring":
        raise InvalidTransition(_l("Only a case under monitoring can return to active handling."))
    move(actor, case, "active")


# --- Quick reports ----------------------------------------------------------------------------


def quick_report_required(case: Case) -> bool:
    return case.severity in current_app.config["QUICK_REPORT_SEVERITIES"]


def _snapshot(case: Case) -> str:
    """The de-identified facts: codes, flags and counts only."""
    victims = db.session.scalars(
        select(Person).where(Person.case_id == case.id, Person.role.in_(("victim", "child")))
    )
    return json.dumps(
        {
            "code": case.code,
            "status": case.status,
            "types": case.type_codes,
            "severity": case.severity,
            "risk": case.risk,
            "gbv_type": case.gbv_type,
            "received_at": case.received_at.isoformat(),
            "classified_at": case.classified_at.isoformat() if case.classified_at else None,
            "handling_unit": case.handling_unit.code,
            "flags": {
                "immediate_danger": case.immediate_danger,
                "child_involved": case.child_involved,
                "injuries": case.injuries,
                "sexual_violence": case.sexual_violence,
            },
            "victims": [{"role": v.role, "sex": v.sex, "age_band": v.age_band} for v in victims],
        },
        sort_keys=True,
        ensure_ascii=False,
    )


def _names_someone(case: Case, text: str) -> bool:
    """Whether the text holds the full name (in any spelling: case, spaces, diacritics), the phone
    number or the ID number of a person of the case. A de-identified report must not."""
    words = f" {normalise.name(text) or ''} "
    digits = "".join(ch for ch in text if ch.isdigit())
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    for person in case.people:
        full_name = person.full_name
        if isinstance(full_name, str) and full_name != ERASED:
            folded = normalise.name(full_name)
            if folded and " " in folded and f" {folded} " in words:
                return True
        phone = normalise.phone(person.phone) if isinstance(person.phone, str) else None
        if phone and phone.lstrip("0") in digits:
            return True
        number = person.id_number if isinstance(person.id_number, str) else None
        cleaned = normalise.id_number(number) if number and number != ERASED else None
        if cleaned and len(cleaned) >= 6 and cleaned in letters:
            return True
    return False


def _central(unit: Unit) -> Unit:
    chain = [unit, *unit.ancestors()]
    return chain[-1]


def send_quick_report(actor: User, case: Case, situation: str) -> QuickReport:
    """Send (or correct, as a new version) the de-identified quick report to the parent unit; S4
    also to central. Immutable once sent."""
    require(actor, Permission.QUICK_REPORT_SEND, case)
    if case.severity is None:
        raise Invalid(_l("Classify the case before sending a quick report."))
    if not quick_report_required(case):
        raise Invalid(
            _l(
                "Quick reports are sent for severities %(list)s.",
                list=", ".join(current_app.config["QUICK_REPORT_SEVERITIES"]),
            )
        )
    parent = case.handling_unit.parent
    if parent is None:
        raise Invalid(_l("The handling unit has no higher level to report to."))
    text = _text(situation, REASON_MAX, "situation", required=True)
    if _names_someone(case, text or ""):
        message = _l(
            "Quick reports go to other units without names: the situation names a person of the "
            "case or gives a phone or ID number of hers. Describe it without them."
        )
        raise Invalid(message, situation=message)
    previous = db.session.scalar(
        select(QuickReport)
        .where(QuickReport.case_id == case.id)
        .order_by(QuickReport.number.desc())
        .limit(1)
    )
    report = QuickReport(
        id=uuid.uuid4(),
        case_id=case.id,
        number=(previous.number + 1) if previous else 1,
        supersedes_id=previous.id if previous else None,
        from_unit_id=case.handling_unit_id,
        sent_by_id=actor.id,
        snapshot=_snapshot(case),
    )
    report.situation = text
    db.session.add(report)
    targets = [parent]
    central = _central(case.handling_unit)
    if (
        case.severity in current_app.config["QUICK_REPORT_CENTRAL_SEVERITIES"]
        and central.id != parent.id
    ):
        targets.append(central)
    for unit in targets:
        db.session.add(QuickReportDelivery(report_id=report.id, unit_id=unit.id))
        notify(reviewers_of(unit.id), "quick_report", case, report.id, urgent=case.severity == "S4")
    db.session.flush()
    audit.record(
        actor,
        Tag.QUICK_REPORT_SEND,
        report,
        case_id=str(case.id),
        number=report.number,
        to_units=[u.id for u in targets],
    )
    return report


def forward_quick_report(actor: User, report: QuickReport) -> QuickReportDelivery:
    """A receiving reviewer passes the report on to her own parent unit."""
    require(actor, Permission.QUICK_REPORT_RECEIVE, report)
    parent = actor.unit.parent if actor.unit else None
    if parent is None:
        raise Invalid(_l("Your unit has no higher level to forward to."))
    already = db.session.scalar(
        select(QuickReportDelivery).where(
            QuickReportDelivery.report_id == report.id, QuickReportDelivery.unit_id == parent.id
        )
    )
    if already is not None:
        raise InvalidTransition(_l("The report has already reached %(unit)s.", unit=parent.name))
    delivery = QuickReportDelivery(report_id=report.id, unit_id=parent.id, forwarded_by_id=actor.id)
    db.session.add(delivery)
    case = db.session.get(Case, report.case_id)
    notify(reviewers_of(parent.id), "quick_report", case, report.id)
    db.session.flush()
    audit.record(actor, Tag.QUICK_REPORT_FORWARD, report, to_unit=parent.id)
    return delivery


def received_quick_reports(user: User, limit: int = 50) -> list[QuickReport]:
    """Quick reports delivered to the reviewer's unit, newest first."""
    if not can(user, Permission.QUICK_REPORT_RECEIVE) or user.unit_id is None:
        return []
    return list(
        db.session.scalars(
            select(QuickReport)
            .join(QuickReportDelivery, QuickReportDelivery.report_id == QuickReport.id)
            .where(QuickReportDelivery.unit_id == user.unit_id)
            .order_by(QuickReport.sent_at.desc())
            .limit(limit)
        )
    )


def view_quick_report(actor: User, report: QuickReport) -> dict:
    require(actor, Permission.QUICK_REPORT_RECEIVE, report)
    audit.record(actor, Tag.QUICK_REPORT_VIEW, report)
    return json.loads(report.snapshot)


# --- Escalation -------------------------------------------------------------------------------


def _must_be_movable(case: Case) -> None:
    """Refuse to move a case between units while its closure waits for a decision, or once closed."""
    if case.status == "closed":
        raise InvalidTransition(
            _l("A closed case must be reopened before it moves to another unit.")
        )
    if case.status not in MOVABLE:
        raise InvalidTransition(
            _l("A closure request is waiting for a decision: decide it before the case moves.")
        )


def pending_escalation(case: Case) -> Escalation | None:
    return db.session.scalar(
        select(Escalation).where(Escalation.case_id == case.id, Escalation.status == "pending")
    )


def request_escalation(actor: User, case: Case, reason: str) -> Escalation:
    """The handling unit asks its parent to take the case over."""
    require(actor, Permission.ESCALATION_REQUEST, case)
    _must_be_movable(case)
    parent = case.handling_unit.parent
    if parent is None:
        raise InvalidTransition(_l("The handling unit is the highest level; it cannot escalate."))
    if pending_escalation(case) is not None:
        raise InvalidTransition(_l("An escalation of this case is already waiting for an answer."))
    text = _text(reason, REASON_MAX, "reason", required=True)
    escalation = Escalation(
        id=uuid.uuid4(),
        case_id=case.id,
        kind="request",
        from_unit_id=case.handling_unit_id,
        to_unit_id=parent.id,
        requested_by_id=actor.id,
    )
    escalation.reason = text
    db.session.add(escalation)
    db.session.flush()
    notify(reviewers_of(parent.id), "escalation_requested", case, escalation.id)
    audit.record(actor, Tag.ESCALATION_REQUEST, escalation, case_id=str(case.id), to_unit=parent.id)
    return escalation


def _answer(escalation: Escalation, actor: User, status: str) -> None:
    """Claim the pending escalation for this answer; exactly one concurrent answer wins."""
    won = db.session.execute(
        update(Escalation)
        .where(Escalation.id == escalation.id, Escalation.status == "pending")
        .values(
            status=status,
            answered_at=utcnow(),
            answered_by_id=actor.id,
            version=Escalation.version + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise InvalidTransition(_l("This escalation has already been answered by someone else."))
    db.session.refresh(escalation)


def accept_escalation(actor: User, escalation: Escalation) -> None:
    """The parent unit becomes the handling unit; the lower unit keeps reading the file."""
    require(actor, Permission.ESCALATION_ANSWER, escalation)
    case = db.session.get(Case, escalation.case_id)
    _must_be_movable(case)
    _answer(escalation, actor, "accepted")
    case.handling_unit = escalation.to_unit
    case.updated_at = utcnow()
    db.session.flush()
    notify([escalation.requested_by], "escalation_accepted", case, escalation.id)
    audit.record(actor, Tag.ESCALATION_ACCEPT, escalation, case_id=str(case.id))


def return_escalation(actor: User, escalation: Escalation, guidance: str) -> None:
    """Decline to take the case, with written guidance for the lower unit."""
    require(actor, Permission.ESCALATION_ANSWER, escalation)
    text = _text(guidance, REASON_MAX, "guidance", required=True)
    _answer(escalation, actor, "returned")
    escalation.guidance = text
    case = db.session.get(Case, escalation.case_id)
    db.session.flush()
    notify([escalation.requested_by], "escalation_returned", case, escalation.id)
    audit.record(actor, Tag.ESCALATION_RETURN, escalation, case_id=str(case.id))


def take_over(actor: User, case: Case, reason: str) -> Escalation:
    """A reviewer of a unit above takes the case over directly, with a reason."""
    require(actor, Permission.CASE_TAKE_OVER, case)
    _must_be_movable(case)
    text = _text(reason, REASON_MAX, "reason", required=True)
    waiting = pending_escalation(case)
    if waiting is not None:
        db.session.execute(
            update(Escalation)
            .where(Escalation.id == waiting.id, Escalation.status == "pending")
            .values(
                status="withdrawn",
                answered_at=utcnow(),
                answered_by_id=actor.id,
                version=Escalation.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
    escalation = Escalation(
        id=uuid.uuid4(),
        case_id=case.id,
        kind="take_over",
        from_unit_id=case.handling_unit_id,
        to_unit_id=actor.unit_id,
        requested_by_id=actor.id,
        status="accepted",
        answered_at=utcnow(),
        answered_by_id=actor.id,
    )
    escalation.reason = text
    db.session.add(escalation)
    previous_unit = case.handling_unit_id
    case.handling_unit = actor.unit
    case.updated_at = utcnow()
    db.session.flush()
    notify(reviewers_of(previous_unit), "case_taken_over", case, escalation.id)
    audit.record(
        actor, Tag.CASE_TAKE_OVER, escalation, case_id=str(case.id), from_unit=previous_unit
    )
    return escalation


# --- Closure ----------------------------------------------------------------------------------


def pending_closure(case: Case) -> ClosureRequest | None:
    return db.session.scalar(
        select(ClosureRequest).where(
            ClosureRequest.case_id == case.id, ClosureRequest.status == "pending"
        )
    )


def _closure_reviewers(case: Case) -> list[User]:
    unit = case.handling_unit
    return reviewers_of(unit.parent_id if unit.parent_id is not None else unit.id)


def request_closure(actor: User, case: Case, reason: str, outcome: str) -> ClosureRequest:
    """Ask a higher reviewer to close the case, with the reason and what came of it."""
    require(actor, Permission.CLOSURE_REQUEST, case)
    if reason not in CLOSURE_REASONS:
        message = _l("Choose why the case can be closed.")
        raise Invalid(message, reason=message)
    text = _text(outcome, REASON_MAX, "outcome", required=True)
    if pending_closure(case) is not None:
        raise InvalidTransition(_l("A closure request is already waiting for a decision."))
    if pending_escalation(case) is not None:
        raise InvalidTransition(
            _l("An escalation of this case is waiting for an answer: wait for it before closing.")
        )
    request = ClosureRequest(
        id=uuid.uuid4(),
        case_id=case.id,
        reason=reason,
        handling_unit_id=case.handling_unit_id,
        requested_by_id=actor.id,
    )
    request.outcome = text
    move(actor, case, "closure_requested", reason=text)
    db.session.add(request)
    db.session.flush()
    notify(_closure_reviewers(case), "closure_requested", case, request.id, exclude=actor)
    audit.record(actor, Tag.CLOSURE_REQUEST, request, case_id=str(case.id), reason=reason)
    return request


def _decide(request: ClosureRequest, actor: User, status: str) -> None:
    won = db.session.execute(
        update(ClosureRequest)
        .where(ClosureRequest.id == request.id, ClosureRequest.status == "pending")
        .values(
            status=status,
            decided_at=utcnow(),
            decided_by_id=actor.id,
            version=ClosureRequest.version + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise InvalidTransition(_l("This closure request has already been decided."))
    db.session.refresh(request)


def approve_closure(actor: User, request: ClosureRequest, comment: str | None = None) -> None:
    """Close the case: only a reviewer above the handling unit, never the one who asked."""
    require(actor, Permission.CLOSURE_DECIDE, request)
    _decide(request, actor, "approved")
    request.comment = _text(comment, REASON_MAX, "comment")
    case = db.session.get(Case, request.case_id)
    move(actor, case, "closed", reason=request.comment)
    # Nothing more is recorded in a closed case: its open requests to act end with it.
    requests.end_with_case(actor, case)
    case.closed_at = utcnow()
    case.closure_outcome = request.reason
    notify([request.requested_by], "closure_approved", case, request.id)
    audit.record(actor, Tag.CLOSURE_APPROVE, request, case_id=str(case.id))


def refuse_closure(actor: User, request: ClosureRequest, comment: str) -> None:
    """Send the case back to active handling, with a comment saying what is still needed."""
    require(actor, Permission.CLOSURE_DECIDE, request)
    text = _text(comment, REASON_MAX, "comment", required=True)
    _decide(request, actor, "refused")
    request.comment = text
    case = db.session.get(Case, request.case_id)
    move(actor, case, "active", reason=text)
    notify([request.requested_by], "closure_refused", case, request.id)
    audit.record(actor, Tag.CLOSURE_REFUSE, request, case_id=str(case.id))


def _erased(case: Case) -> bool:
    """The case's data key was crypto-shredded (retention or an erasure) and none is live."""
    from casework.crypto.models import DataKey

    states = set(
        db.session.scalars(
            select(DataKey.shredded_at.is_(None)).where(
                DataKey.owner_kind == "case", DataKey.owner_id == case.id
            )
        )
    )
    return False in states and True not in states


def reopen(actor: User, case: Case, reason: str) -> None:
    """A reviewer returns a closed case to active handling, with a reason."""
    require(actor, Permission.CASE_REOPEN, case)
    text = _text(reason, REASON_MAX, "reason", required=True)
    if case.status != "closed":
        raise InvalidTransition(_l("Only a closed case can be reopened."))
    if _erased(case):
        # Its key is gone: nothing could be recorded in it again. A new case starts afresh.
        raise InvalidTransition(
            _l("This case's personal data was erased: it cannot be reopened. Open a new case.")
        )
    move(actor, case, "active", reason=text)
    case.closed_at = None
    case.closure_outcome = None
    audit.record(actor, Tag.CASE_REOPEN, case)
