"""Data-subject requests (Law 91/2025, Decree 356/2025; DOMAIN.md "Personal data protection").

A request is recorded by the staff of a unit that holds the case file, acknowledged within two
working days and answered within 10 (access, rectification), 15 (restriction, withdrawal of
consent) or 20 (erasure) days of receipt. Before anything is released or done, a reviewer of the
handling unit or above decides it: the safety review. A request that may come from the alleged
perpetrator (he says so, someone flagged it, or it is about him) is never granted for a victim's or
a child's data, and an export made for it holds only his own record: never a victim, a shelter or
the reporter. An access request is answered with a readable HTML file of the person's data; an
erasure request by crypto-shredding the person's key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from casework import audit
from casework.accounts import passwords
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases.models import Case, Consent, Person, Relationship, Support
from casework.cases.service import check_version
from casework.crypto import shredding
from casework.dataprotection.models import (
    REQUEST_KINDS,
    REQUESTER_RELATIONS,
    DataRequest,
)
from casework.db import utcnow
from casework.errors import DomainError, Invalid, InvalidTransition
from casework.extensions import db
from casework.policy import Permission, can, require

# Days to answer, counted from receipt (calendar days; DOMAIN.md). Rectification is not named
# there: it is answered as fast as access, which it usually follows.
ANSWER_DAYS = {
    "access": 10,
    "rectification": 10,
    "restriction": 15,
    "withdrawal": 15,
    "erasure": 20,
}
ACKNOWLEDGE_WORKING_DAYS = 2
# The kinds of deadline on the board (casework.cases.workflow.timers.LABELS names them).
KIND_ACK = "data_request_ack"
KIND_ANSWER = "data_request_answer"
DETAILS_MAX = 2000
NOTE_MAX = 2000
# Whose data a request from the alleged perpetrator never reaches.
PROTECTED_ROLES = ("victim", "child")


class ReleaseRefused(DomainError):
    """The safety review forbids it: the request may come from the alleged perpetrator and
    concerns a victim's or a child's data. Answered with 403; nothing is released."""

    status = 403


# --- Deadlines --------------------------------------------------------------------------------


def acknowledge_due(request: DataRequest) -> datetime:
    """The end of the second working day after receipt (Vietnam's calendar and holidays)."""
    from casework.cases.workflow.timers import add_working_days

    return add_working_days(request.received_at, ACKNOWLEDGE_WORKING_DAYS)


def answer_due(request: DataRequest) -> datetime:
    """The end of the Nth calendar day after receipt, in Vietnam's time zone."""
    from zoneinfo import ZoneInfo

    days = current_app.config.get("DATA_REQUEST_DAYS", ANSWER_DAYS)[request.kind]
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    day = request.received_at.astimezone(tz).date() + timedelta(days=days)
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(request.received_at.tzinfo)


def answered_at(request: DataRequest) -> datetime | None:
    """When the requester got an answer: refused at the review, or done."""
    if request.status == "refused":
        return request.reviewed_at
    return request.completed_at


# --- Recording and the review -----------------------------------------------------------------


def _text(value: str | None, limit: int, field: str, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            message = _l("Write what is asked.")
            raise Invalid(message, **{field: message})
        return None
    if len(text) > limit:
        message = _l("At most %(n)d characters.", n=limit)
        raise Invalid(message, **{field: message})
    return text


def record_request(
    actor: User,
    case: Case,
    person: Person,
    *,
    kind: str,
    requester_relation: str,
    received_at: datetime,
    details: str | None,
    safety_concern: bool = False,
) -> DataRequest:
    """Register a request about one person of a case; the deadlines run from its receipt."""
    if person.case_id != case.id:
        message = _l("Choose a person of this case.")
        raise Invalid(message, person=message)
    request = DataRequest(id=uuid.uuid4(), case_id=case.id, person_id=person.id)
    request.case, request.person = case, person
    require(actor, Permission.DATA_REQUEST_RECORD, request)
    if kind not in REQUEST_KINDS:
        message = _l("Choose what is asked.")
        raise Invalid(message, kind=message)
    if requester_relation not in REQUESTER_RELATIONS:
        message = _l("Choose who asks.")
        raise Invalid(message, requester_relation=message)
    if received_at > utcnow() + timedelta(minutes=5):
        message = _l("The time of receipt is in the future.")
        raise Invalid(message, received_at=message)
    request.kind = kind
    request.requester_relation = requester_relation
    request.received_at = received_at
    request.safety_concern = bool(safety_concern)
    request.details = _text(details, DETAILS_MAX, "details", required=True)
    request.recorded_by_id = actor.id
    request.status = "received"
    db.session.add(request)
    db.session.flush()
    audit.record(
        actor,
        Tag.DATA_REQUEST_RECORD,
        case,
        request_id=str(request.id),
        person_id=str(person.id),
        kind=kind,
        relation=requester_relation,
        safety_concern=request.safety_concern,
    )
    return request


def acknowledge(actor: User, request: DataRequest, *, expected_version: int) -> None:
    """Tell the requester the request was received (within two working days)."""
    require(actor, Permission.DATA_REQUEST_RECORD, request)
    check_version(request, expected_version)
    if request.status != "received":
        raise InvalidTransition(_l("This request has already been acknowledged."))
    request.status = "acknowledged"
    request.acknowledged_at = utcnow()
    db.session.flush()
    audit.record(actor, Tag.DATA_REQUEST_ACKNOWLEDGE, request.case, request_id=str(request.id))


def forbidden_release(request: DataRequest) -> bool:
    """True when granting it could hand a victim's or a child's data to the alleged perpetrator."""
    return request.perpetrator_risk and request.person.role in PROTECTED_ROLES


def review(
    actor: User,
    request: DataRequest,
    *,
    approve: bool,
    safety_concern: bool,
    note: str | None,
    expected_version: int,
) -> None:
    """The safety review: a reviewer grants or refuses; a request that may come from the alleged
    perpetrator is never granted for a victim's or a child's data."""
    require(actor, Permission.DATA_REQUEST_REVIEW, request)
    check_version(request, expected_version)
    if request.status not in ("received", "acknowledged"):
        raise InvalidTransition(_l("This request has already been decided."))
    request.safety_concern = request.safety_concern or bool(safety_concern)
    note_text = _text(note, NOTE_MAX, "note")
    if approve and forbidden_release(request):
        message = _l(
            "This request may come from the alleged perpetrator and concerns a victim's or a "
            "child's data: it cannot be granted. Refuse it, and write why."
        )
        raise Invalid(message, decision=message)
    if not approve and note_text is None:
        message = _l("Write why the request is refused; the requester must be told.")
        raise Invalid(message, note=message)
    now = utcnow()
    if request.acknowledged_at is None:
        request.acknowledged_at = now  # a decision is also an acknowledgement
    request.status = "approved" if approve else "refused"
    request.reviewed_at = now
    request.reviewed_by_id = actor.id
    request.review_note = note_text
    db.session.flush()
    audit.record(
        actor,
        Tag.DATA_REQUEST_REVIEW,
        request.case,
        request_id=str(request.id),
        decision=request.status,
        safety_concern=request.safety_concern,
    )


def _complete(actor: User, request: DataRequest, note: str | None = None) -> None:
    request.status = "completed"
    request.completed_at = utcnow()
    request.completed_by_id = actor.id
    if note is not None:
        request.outcome_note = note


def complete(actor: User, request: DataRequest, *, note: str | None, expected_version: int) -> None:
    """Record that an approved rectification, restriction or withdrawal has been carried out (the
    change itself is made where it belongs: the person's form, the consent)."""
    require(actor, Permission.DATA_REQUEST_FULFIL, request)
    check_version(request, expected_version)
    if request.kind in ("access", "erasure"):
        raise InvalidTransition(
            _l("An access request is answered by its export, an erasure by erasing.")
        )
    note_text = _text(note, NOTE_MAX, "note")
    if note_text is None:
        message = _l("Write what was done.")
        raise Invalid(message, note=message)
    _complete(actor, request, note_text)
    db.session.flush()
    audit.record(
        actor,
        Tag.DATA_REQUEST_COMPLETE,
        request.case,
        request_id=str(request.id),
        kind=request.kind,
    )


def erase(actor: User, request: DataRequest, *, expected_version: int) -> int:
    """Carry out an approved erasure: the person's data key is crypto-shredded, so her identity
    is gone from the file, the lists, the search and every backup replayed with the ledger; her
    statistics fields stay. Returns how many keys were destroyed."""
    require(actor, Permission.DATA_REQUEST_FULFIL, request)
    check_version(request, expected_version)
    if request.kind != "erasure":
        raise InvalidTransition(_l("Only an erasure request erases."))
    if forbidden_release(request):  # approved before a concern was raised: check again
        raise ReleaseRefused(_l("This request may come from the alleged perpetrator."))
    person_id = request.person_id
    destroyed = shredding.shred(actor, "person", person_id)
    _complete(actor, request)
    db.session.flush()
    audit.record(
        actor,
        Tag.DATA_REQUEST_ERASE,
        request.case,
        request_id=str(request.id),
        person_id=str(person_id),
        keys=destroyed,
    )
    return destroyed


# --- The access export --------------------------------------------------------------------------


@dataclass
class Export:
    """What an access export holds; `restricted` when it was made for a possible perpetrator."""

    request: DataRequest
    person: Person
    restricted: bool
    consents: list[Consent]
    support: list[Support]
    links: list[tuple[str, str]]  # (relationship word, the other person's role): never a name
    generated_at: datetime


def export_contents(actor: User, request: DataRequest) -> Export:
    """The person's own data: her identity, and when no safety concern, her consents, the support
    she received (never a shelter's name) and how she is related to others (roles, not names).
    Never the reporter, never another person's identity."""
    require(actor, Permission.DATA_REQUEST_FULFIL, request)
    if request.kind != "access":
        raise InvalidTransition(_l("Only an access request is answered with an export."))
    if forbidden_release(request):
        raise ReleaseRefused(
            _l(
                "This request may come from the alleged perpetrator: a victim's or a child's "
                "data is never released to him."
            )
        )
    person = request.person
    restricted = request.perpetrator_risk
    consents: list[Consent] = []
    support: list[Support] = []
    links: list[tuple[str, str]] = []
    if not restricted:
        consents = list(
            db.session.scalars(
                select(Consent).where(Consent.person_id == person.id).order_by(Consent.given_at)
            )
        )
        support = list(
            db.session.scalars(
                select(Support).where(Support.person_id == person.id).order_by(Support.created_at)
            )
        )
        from casework.cases.people import kind_label

        rows = db.session.scalars(
            select(Relationship).where(
                or_(Relationship.person_id == person.id, Relationship.other_id == person.id)
            )
        )
        for rel in rows:
            if rel.person_id == person.id:
                links.append((kind_label(rel.kind, person.sex), rel.other.role))
            else:
                links.append((kind_label(rel.kind, rel.person.sex), rel.person.role))
    return Export(request, person, restricted, consents, support, links, utcnow())


def export_html(actor: User, request: DataRequest, *, expected_version: int, password: str) -> str:
    """Render the export as a print-friendly HTML file, after the password is entered again
    (DESIGN.md §7: exports re-authenticate); audited, and the request is answered."""
    # Refused before anything about the request's state is told (a stale version included).
    require(actor, Permission.DATA_REQUEST_FULFIL, request)
    check_version(request, expected_version)
    if not passwords.verify_password(actor.password_hash, password):
        audit.record(
            actor,
            Tag.DATA_REQUEST_EXPORT,
            request.case,
            request_id=str(request.id),
            outcome="refused",
            reason="password",
        )
        message = _l("The password is not correct.")
        raise Invalid(message, current_password=message)
    contents = export_contents(actor, request)
    from casework.cases import vocab as case_vocab

    html = render_template("dataprotection/export.html", export=contents, case_vocab=case_vocab)
    if request.status == "approved":
        _complete(actor, request)
    db.session.flush()
    audit.record(
        actor,
        Tag.DATA_REQUEST_EXPORT,
        request.case,
        request_id=str(request.id),
        person_id=str(request.person_id),
        restricted=contents.restricted,
    )
    return html


# --- Reading ------------------------------------------------------------------------------------


def visible_requests(user: User, *, open_only: bool = False) -> list[DataRequest]:
    """Requests of the cases the user may open, and for reviewers of her subtree's cases."""
    from sqlalchemy import or_

    from casework.policy.scopes import supervised_case_branches, visible_case_branches

    if not (can(user, Permission.DATA_REQUEST_RECORD) or can(user, Permission.DATA_REQUEST_REVIEW)):
        return []
    branches = list(visible_case_branches(user))
    if can(user, Permission.DATA_REQUEST_REVIEW):  # reviewers decide on their subtree's requests
        branches += list(supervised_case_branches(user))
    if not branches:
        return []
    # Each request's case checked by key against each grant: the cost follows the requests (a
    # few), not the tens of thousands of cases of a province.
    allowed = [
        b.with_only_columns(Case.id).where(Case.id == DataRequest.case_id).exists()
        for b in branches
    ]
    stmt = select(DataRequest).where(or_(*allowed))
    if open_only:
        stmt = stmt.where(DataRequest.status.in_(("received", "acknowledged", "approved")))
    return list(db.session.scalars(stmt.order_by(DataRequest.received_at.desc()).limit(500)))


def may_see(user: User, request: DataRequest) -> bool:
    return any(
        can(user, p, request)
        for p in (
            Permission.DATA_REQUEST_RECORD,
            Permission.DATA_REQUEST_REVIEW,
            Permission.DATA_REQUEST_FULFIL,
        )
    )


def deadline_items(user: User) -> list[tuple[Case, Any]]:
    """Unmet acknowledgement and answer deadlines of the user's requests, for the deadlines
    board: overdue, or due within a day (as every other deadline there)."""
    from casework.cases.workflow.timers import Deadline

    horizon = utcnow() + timedelta(days=1)
    items: list[tuple[Case, Any]] = []
    for request in visible_requests(user, open_only=True):
        subject = str(request.id)
        if request.acknowledged_at is None and acknowledge_due(request) <= horizon:
            due = acknowledge_due(request)
            items.append((request.case, Deadline(request.case_id, KIND_ACK, due, None, subject)))
        if answered_at(request) is None and answer_due(request) <= horizon:
            due = answer_due(request)
            items.append((request.case, Deadline(request.case_id, KIND_ANSWER, due, None, subject)))
    return items
