"""Asking a lower unit to act (DESIGN.md §4): once a case has moved up, the unit handling it can
ask a unit that handled it before — the commune that knows the family — to do something on the
spot. That unit keeps reading the file; it answers by recording what it did in the case's actions,
which the handling unit sees at once. Every step is audited in the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework import audit
from casework.accounts.models import Unit, User
from casework.audit import Tag
from casework.cases import rows as case_rows
from casework.cases import support, timeline
from casework.cases.models import Case
from casework.cases.service import _text, check_version
from casework.cases.workflow.models import ActionRequest, Escalation
from casework.cases.workflow.notifications import notify
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition
from casework.extensions import db
from casework.policy import Permission, Role, in_subtree, require

WHAT_MAX = 2000
# How far ahead an answer may be asked for: a request is for something to do soon.
LONGEST_WAIT = timedelta(days=60)


def units_to_ask(case: Case) -> list[Unit]:
    """The units that handled the case before it moved up and still lie below the unit handling
    it now, nearest first: they read the file and know the place."""
    from casework.cases import rows

    earlier = (
        []
        if rows.none_of(Escalation, case.id)  # the file's probe found none
        else db.session.scalars(
            select(Escalation.from_unit_id)
            .where(Escalation.case_id == case.id, Escalation.status == "accepted")
            .order_by(Escalation.answered_at.desc())
        )
    )
    units: list[Unit] = []
    for unit_id in dict.fromkeys([*earlier, case.owning_unit_id]):
        unit = db.session.get(Unit, unit_id)
        if (
            unit is not None
            and unit.id != case.handling_unit_id
            and not unit.is_retired
            and in_subtree(unit, case.handling_unit_id)
        ):
            units.append(unit)
    return units


def _refuse(field: str, message: object) -> Invalid:
    return Invalid(message, **{field: message})


def ask(
    actor: User, case: Case, *, unit_id: int | None, what: str, due_at: datetime
) -> ActionRequest:
    """The handling unit asks a unit below that handled the case to do something by a time."""
    require(actor, Permission.ACTION_REQUEST_SEND, case)
    support.require_open(case)
    unit = next((u for u in units_to_ask(case) if u.id == unit_id), None)
    if unit is None:
        raise _refuse("unit", _l("Choose a unit that handled this case before it moved up."))
    text = _text(what, WHAT_MAX, "what", required=True)
    if due_at.tzinfo is None:
        raise ValueError("naive datetime refused: use an aware UTC time")
    now = utcnow()
    if due_at <= now:
        raise _refuse("due_at", _l("Choose a time in the future."))
    if due_at > now + LONGEST_WAIT:
        raise _refuse("due_at", _l("Choose a time within the next 60 days."))
    request = ActionRequest(
        id=uuid.uuid4(),
        case_id=case.id,
        from_unit_id=case.handling_unit_id,
        to_unit_id=unit.id,
        due_at=due_at,
        asked_by_id=actor.id,
    )
    request.what = text
    db.session.add(request)
    db.session.flush()
    notify(_staff_of(unit.id), "action_requested", case, request.id)
    audit.record(actor, Tag.ACTION_REQUEST_SEND, request, case_id=str(case.id), to_unit=unit.id)
    return request


def _staff_of(unit_id: int) -> list[User]:
    """The officers and reviewers of a unit: whoever is on duty there may take the request."""
    return list(
        db.session.scalars(
            select(User).where(
                User.unit_id == unit_id,
                User.role.in_((Role.OFFICER, Role.REVIEWER)),
                User.active.is_(True),
            )
        )
    )


def _must_be_open(request: ActionRequest) -> None:
    if request.status != "open":
        raise InvalidTransition(_l("This request was already answered or withdrawn."))


def answer(
    actor: User,
    request: ActionRequest,
    *,
    expected_version: int,
    kind: str,
    authority: str | None,
    occurred_at: datetime,
    description: str,
) -> None:
    """The lower unit records what it did: an entry in the case's actions, linked to the request."""
    require(actor, Permission.ACTION_REQUEST_ANSWER, request)
    case = db.session.get(Case, request.case_id)
    support.require_open(case)
    check_version(request, expected_version)
    _must_be_open(request)
    action = timeline.record_for_request(
        actor,
        request,
        case,
        kind=kind,
        authority=authority,
        occurred_at=occurred_at,
        description=description,
    )
    request.status = "done"
    request.answered_at = utcnow()
    request.answered_by_id = actor.id
    request.action_id = action.id
    db.session.flush()
    notify([request.asked_by], "action_done", case, request.id, exclude=actor)
    audit.record(
        actor,
        Tag.ACTION_REQUEST_ANSWER,
        request,
        case_id=str(case.id),
        action_id=str(action.id),
        kind=kind,
    )


def withdraw(actor: User, request: ActionRequest, *, expected_version: int) -> None:
    """The handling unit no longer needs it (done another way, or the situation changed)."""
    case = db.session.get(Case, request.case_id)
    require(actor, Permission.ACTION_REQUEST_SEND, case)
    check_version(request, expected_version)
    _must_be_open(request)
    _end(actor, request, case)


def end_with_case(actor: User, case: Case) -> None:
    """The case is closing: its open requests end with it, each withdrawn, told and audited as
    one by the handling unit. Part of the closure's approval, which the caller has authorised."""
    for request in of_case(case):
        if request.status == "open":
            _end(actor, request, case, reason="case_closed")


def _end(actor: User, request: ActionRequest, case: Case, **details: str) -> None:
    request.status = "withdrawn"
    request.answered_at = utcnow()
    request.answered_by_id = actor.id
    db.session.flush()
    notify(_staff_of(request.to_unit_id), "action_withdrawn", case, request.id)
    audit.record(actor, Tag.ACTION_REQUEST_WITHDRAW, request, case_id=str(case.id), **details)


def of_case(case: Case) -> list[ActionRequest]:
    return sorted(case_rows.of_case(ActionRequest, case.id), key=lambda r: r.asked_at, reverse=True)
