"""Assessments and the actions timeline: what was found, what was planned, what was done.

Both are append-only. An assessment is saved as a new numbered version of its kind (safety and
risk, or needs); the file shows the latest and keeps the history. A safety assessment sets the
case's risk level and schedules the next follow-up from it. An action is never edited: a correction
is a new entry that supersedes the old one, and only the latest entry of a chain can be corrected.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases import rows as case_rows
from casework.cases import support, vocab
from casework.cases.models import Action, Assessment, Case
from casework.cases.service import _text
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition, StaleEdit
from casework.extensions import db
from casework.policy import Permission, require

TEXT_MAX = 4000
# Kinds that name the authority they went to or came from.
AUTHORITY_KINDS = frozenset({"notify_authority", "recommendation", "reply"})
# Reconciliation is never for child sexual abuse or sexual violence (DOMAIN.md step 5).
RECONCILIATION_BARRED_TYPES = frozenset({"child_abuse.sexual", "sexual_violence"})
# A high or imminent risk is not left without a plan.
PLAN_REQUIRED_RISKS = frozenset({"high", "imminent"})


def _refuse(field_name: str, message: Any) -> Invalid:
    return Invalid(message, **{field_name: message})


# --- Assessments --------------------------------------------------------------------------------


def latest_number(case: Case, kind: str) -> int:
    """The number of the kind's current version (0 before the first)."""
    number = db.session.scalar(
        select(func.max(Assessment.number)).where(
            Assessment.case_id == case.id, Assessment.kind == kind
        )
    )
    return int(number or 0)


def add_assessment(
    actor: User,
    case: Case,
    *,
    kind: str,
    risk: str | None,
    findings: str,
    safety_plan: str | None,
    based_on: int | None = None,
) -> Assessment:
    """Save the next version of a safety or needs assessment. A safety assessment sets the case's
    risk level and schedules the next follow-up from it. `based_on` is the version the form showed:
    a newer one saved meanwhile makes this one stale."""
    require(actor, Permission.CASE_EDIT, case)
    support.require_open(case)
    if kind not in vocab.ASSESSMENT_KINDS:
        raise _refuse("kind", _l("Choose a value from the list."))
    if kind == "safety":
        if risk not in vocab.RISKS:
            raise _refuse("risk", _l("Choose the risk level."))
    elif risk is not None:
        raise _refuse("risk", _l("A needs assessment has no risk level: make a safety assessment."))
    findings_text = _text(findings, TEXT_MAX, "findings", required=True)
    plan = _text(safety_plan, TEXT_MAX, "safety_plan")
    if kind == "safety" and risk in PLAN_REQUIRED_RISKS and plan is None:
        raise _refuse("safety_plan", _l("A high or imminent risk needs a safety plan."))

    support.lock_case(case)
    previous = latest_number(case, kind)
    if based_on is not None and based_on != previous:
        raise StaleEdit(
            _l(
                "Someone saved a newer version of this assessment after you opened the form. "
                "Your text was not saved: compare it with the new version."
            )
        )
    now = utcnow()
    assessment = Assessment(
        id=uuid.uuid4(),
        case_id=case.id,
        kind=kind,
        number=previous + 1,
        risk=risk,
        created_at=now,
        created_by_id=actor.id,
    )
    assessment.findings = findings_text
    assessment.safety_plan = plan
    db.session.add(assessment)
    case_fields = []
    if kind == "safety" and case.risk != risk:
        case.risk = risk
        case.updated_at = now
        case_fields.append("risk")
    support.flush()
    audit.record(
        actor,
        Tag.ASSESSMENT_ADD,
        case,
        assessment_id=str(assessment.id),
        kind=kind,
        number=assessment.number,
        fields=["findings", "safety_plan", "risk"] if kind == "safety" else ["findings"],
        case_fields=case_fields,
    )
    if kind == "safety" and risk is not None:
        support.schedule_after_assessment(actor, case, risk, now)
    return assessment


def view_assessment(actor: User, assessment: Assessment) -> Case:
    """Open one version of an assessment: a read of the case file, audited like the file."""
    case = db.session.get(Case, assessment.case_id)
    assert case is not None  # noqa: S101 (a foreign key guarantees it)  # nosec B101
    require(actor, Permission.CASE_READ, case)
    audit.record(actor, Tag.CASE_VIEW, case, assessment_id=str(assessment.id))
    return case


@dataclass
class AssessmentHistory:
    kind: str
    versions: list[Assessment] = field(default_factory=list)  # newest first

    @property
    def current(self) -> Assessment | None:
        return self.versions[0] if self.versions else None


def assessments_of(case: Case) -> list[AssessmentHistory]:
    """Each kind's versions, newest first."""
    by_kind = {kind: AssessmentHistory(kind) for kind in vocab.ASSESSMENT_KINDS}
    rows = sorted(case_rows.of_case(Assessment, case.id), key=lambda a: (a.kind, -a.number))
    for row in rows:
        by_kind.setdefault(row.kind, AssessmentHistory(row.kind)).versions.append(row)
    return list(by_kind.values())


# --- Actions ------------------------------------------------------------------------------------


def reconciliation_barred(case: Case) -> bool:
    """Child sexual abuse or sexual violence in the case: no reconciliation, ever."""
    return case.sexual_violence or bool(RECONCILIATION_BARRED_TYPES & set(case.type_codes))


def _check_action(
    case: Case, kind: str, authority: str | None, occurred_at: datetime, description: str | None
) -> str | None:
    if kind not in vocab.ACTION_KINDS:
        raise _refuse("kind", _l("Choose a value from the list."))
    if kind == "reconciliation" and reconciliation_barred(case):
        raise _refuse(
            "kind",
            _l(
                "Reconciliation is not allowed in a case of child sexual abuse or sexual violence. "
                "Protect the victim instead: a protective measure, a contact-ban request or a "
                "referral."
            ),
        )
    if authority is not None and authority not in vocab.AUTHORITIES:
        raise _refuse("authority", _l("Choose a value from the list."))
    if kind in AUTHORITY_KINDS and authority is None:
        raise _refuse("authority", _l("Choose the authority."))
    support.check_past(occurred_at, case, "occurred_at")
    return _text(description, TEXT_MAX, "description", required=True)


def _new_action(
    actor: User,
    case: Case,
    *,
    kind: str,
    authority: str | None,
    occurred_at: datetime,
    description: str | None,
    supersedes: Action | None = None,
) -> Action:
    action = Action(
        id=uuid.uuid4(),
        case_id=case.id,
        kind=kind,
        authority=authority,
        occurred_at=occurred_at,
        supersedes_id=supersedes.id if supersedes is not None else None,
        created_by_id=actor.id,
    )
    action.description = description
    db.session.add(action)
    support.flush()
    return action


def add_action(
    actor: User,
    case: Case,
    *,
    kind: str,
    occurred_at: datetime,
    description: str,
    authority: str | None = None,
) -> Action:
    """Add an entry to the actions timeline (reconciliation refused where the case bars it)."""
    require(actor, Permission.CASE_EDIT, case)
    support.require_open(case)
    text = _check_action(case, kind, authority, occurred_at, description)
    action = _new_action(
        actor, case, kind=kind, authority=authority, occurred_at=occurred_at, description=text
    )
    audit.record(actor, Tag.ACTION_ADD, case, action_id=str(action.id), kind=kind)
    return action


def record_for_request(
    actor: User,
    request: object,
    case: Case,
    *,
    kind: str,
    authority: str | None,
    occurred_at: datetime,
    description: str,
) -> Action:
    """An entry recorded by a unit below the handling unit, in answer to its request to act
    (casework.cases.workflow.requests): that request, not the case, is what permits it."""
    require(actor, Permission.ACTION_REQUEST_ANSWER, request)
    support.require_open(case)
    text = _check_action(case, kind, authority, occurred_at, description)
    action = _new_action(
        actor, case, kind=kind, authority=authority, occurred_at=occurred_at, description=text
    )
    audit.record(actor, Tag.ACTION_ADD, case, action_id=str(action.id), kind=kind)
    return action


def superseded_by(action: Action) -> Action | None:
    return db.session.scalar(select(Action).where(Action.supersedes_id == action.id))


def latest_of(action: Action) -> Action:
    """The entry that stands for this one now: itself, or the last of its corrections."""
    current = action
    while (newer := superseded_by(current)) is not None:
        current = newer
    return current


def correct_action(
    actor: User,
    action: Action,
    *,
    kind: str,
    occurred_at: datetime,
    description: str,
    authority: str | None = None,
) -> Action:
    """Correct a timeline entry: a new entry supersedes it; an entry corrected once already is
    refused (correct its latest version)."""
    case = db.session.get(Case, action.case_id)
    assert case is not None  # noqa: S101 (a foreign key guarantees it)  # nosec B101
    require(actor, Permission.CASE_EDIT, case)
    support.require_open(case)
    support.lock_case(case)  # two people correcting the same entry: the second one is refused
    if superseded_by(action) is not None:
        raise InvalidTransition(
            _l("This entry has already been corrected. Correct its latest version instead.")
        )
    text = _check_action(case, kind, authority, occurred_at, description)
    if (kind, authority, occurred_at, text) == (
        action.kind,
        action.authority,
        action.occurred_at,
        action.description,
    ):
        raise Invalid(_l("Nothing was changed."))
    correction = _new_action(
        actor,
        case,
        kind=kind,
        authority=authority,
        occurred_at=occurred_at,
        description=text,
        supersedes=action,
    )
    changed = [
        name
        for name, old, new in (
            ("kind", action.kind, kind),
            ("authority", action.authority, authority),
            ("occurred_at", action.occurred_at, occurred_at),
            ("description", action.description, text),
        )
        if old != new
    ]
    audit.record(
        actor,
        Tag.ACTION_CORRECT,
        case,
        action_id=str(correction.id),
        supersedes_id=str(action.id),
        kind=kind,
        fields=changed,
    )
    return correction


@dataclass
class TimelineEntry:
    action: Action
    corrected: list[Action] = field(default_factory=list)  # the versions it replaces, newest first

    @property
    def at(self) -> datetime:
        return self.action.occurred_at


def timeline_of(case: Case) -> list[TimelineEntry]:
    """The timeline, newest first: each current entry with the entries it corrected."""
    rows = sorted(
        case_rows.of_case(Action, case.id),
        key=lambda a: (a.occurred_at, a.created_at),
        reverse=True,
    )
    by_id = {row.id: row for row in rows}
    replaced = {row.supersedes_id for row in rows if row.supersedes_id is not None}
    entries = []
    for row in rows:
        if row.id in replaced:
            continue
        entry = TimelineEntry(row)
        older = by_id.get(row.supersedes_id) if row.supersedes_id else None
        while older is not None:
            entry.corrected.append(older)
            older = by_id.get(older.supersedes_id) if older.supersedes_id else None
        entries.append(entry)
    return entries


def for_file(actor: User, case: Case) -> dict[str, Any]:
    """The assessments and actions part of the case file page; the actions timeline also shows
    the steps of the case's referrals."""
    from casework.referrals.portal import referral_events  # referrals build on cases

    entries: list[Any] = [*timeline_of(case), *referral_events(case)]
    entries.sort(key=lambda e: e.at, reverse=True)  # stable: the order among equal times stays
    return {
        "assessments": assessments_of(case),
        "actions": entries,
        "reconciliation_barred": reconciliation_barred(case),
    }
