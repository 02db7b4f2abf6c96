"""Support and follow-ups: the services a victim receives, and the contacts that keep her safe.

Support rows and follow-ups are edited in place, so each carries a version and an edit made on an
old form is refused (StaleEdit), never lost. Follow-ups fall due from the case's risk level
(FOLLOW_UP_DAYS: imminent 1 day, high 2, medium 7, low 30 by default) or on a chosen date.

The small helpers at the top are shared with the timeline (casework.cases.timeline), which imports
this module to schedule a follow-up after a safety assessment.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casework import audit
from casework.accounts.models import Unit, User
from casework.audit import Tag
from casework.cases import rows as case_rows
from casework.cases import vocab
from casework.cases.models import Case, FollowUp, Person, Support
from casework.cases.service import _text, check_version
from casework.db import utcnow
from casework.errors import Invalid, StaleEdit
from casework.extensions import db
from casework.policy import Permission, require
from casework.referrals.models import Partner, Referral, partner_unit, referral_support

TEXT_MAX = 4000
# A typed time may run a little ahead of the server's clock.
CLOCK_SKEW = timedelta(minutes=5)
# A follow-up further ahead than this is a typo, not a plan.
FOLLOW_UP_HORIZON = timedelta(days=366)
SUPPORTED_ROLES = ("victim", "child")


# --- Shared helpers -----------------------------------------------------------------------------


def local_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def local_today() -> date:
    """Today in Vietnam: the date an officer means when she types "today"."""
    return datetime.now(local_tz()).date()


def require_open(case: Case) -> None:
    """A closed case is reopened before anything more is recorded in it."""
    if case.status == "closed":
        raise Invalid(_l("This case is closed. Reopen it before recording anything more."))


def lock_case(case: Case) -> None:
    """Serialise writes to one case's records (a row lock on PostgreSQL; SQLite writers are
    serialised already), and read the case afresh so its version is current."""
    db.session.refresh(case, with_for_update=True)


def flush() -> None:
    """Flush, turning a concurrent save of a versioned row into the user's "stale" message."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise StaleEdit(
            _l("Someone else saved this record after you opened it. Your changes were not saved.")
        ) from exc


def _refuse(field: str, message: Any) -> Invalid:
    return Invalid(message, **{field: message})


def check_past(moment: datetime, case: Case, field: str) -> None:
    """Something already done: not in the future, not before the case reached the Union."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused: use an aware UTC time")
    if moment > utcnow() + CLOCK_SKEW:
        raise _refuse(field, _l("This time is in the future."))
    if moment < case.received_at - CLOCK_SKEW:
        raise _refuse(field, _l("This is before the case was received."))


# --- Follow-up due dates ------------------------------------------------------------------------


def follow_up_days(risk: str, days: Mapping[str, int] | None = None) -> int:
    table = days if days is not None else current_app.config["FOLLOW_UP_DAYS"]
    return int(table[risk])


def follow_up_due(risk: str, start: datetime, days: Mapping[str, int] | None = None) -> datetime:
    """The next contact after `start` for this risk level: start plus the configured days."""
    if risk not in vocab.RISKS:
        raise ValueError(f"unknown risk level {risk!r}")
    if start.tzinfo is None:
        raise ValueError("naive datetime refused: use an aware UTC time")
    return (start + timedelta(days=follow_up_days(risk, days))).astimezone(UTC)


# --- Follow-ups ---------------------------------------------------------------------------------


def _new_follow_up(actor: User, case: Case, due_at: datetime, basis: str) -> FollowUp:
    follow_up = FollowUp(
        id=uuid.uuid4(), case_id=case.id, due_at=due_at, status="due", created_by_id=actor.id
    )
    db.session.add(follow_up)
    flush()
    audit.record(
        actor,
        Tag.FOLLOW_UP_ADD,
        case,
        follow_up_id=str(follow_up.id),
        basis=basis,
        fields=["due_at"],
    )
    return follow_up


def schedule_follow_up(actor: User, case: Case, *, due_at: datetime | None = None) -> FollowUp:
    """Schedule a contact on the chosen date, or (none chosen) from the case's risk level."""
    require(actor, Permission.CASE_EDIT, case)
    require_open(case)
    now = utcnow()
    if due_at is None:
        if case.risk is None:
            raise _refuse(
                "due_at",
                _l("The case has no risk level yet: choose a date, or make a safety assessment."),
            )
        return _new_follow_up(actor, case, follow_up_due(case.risk, now), "risk")
    _check_due(due_at, now)
    return _new_follow_up(actor, case, due_at, "chosen")


def _check_due(due_at: datetime, now: datetime) -> None:
    if due_at.tzinfo is None:
        raise ValueError("naive datetime refused: use an aware UTC time")
    if due_at < now - CLOCK_SKEW:
        raise _refuse("due_at", _l("A follow-up is due in the future."))
    if due_at > now + FOLLOW_UP_HORIZON:
        raise _refuse("due_at", _l("A follow-up is due within a year."))


def schedule_after_assessment(
    actor: User, case: Case, risk: str, assessed_at: datetime
) -> FollowUp | None:
    """After a safety assessment: the next contact falls due from the new risk level, unless a
    pending follow-up already falls due as early."""
    due_at = follow_up_due(risk, assessed_at)
    sooner = db.session.scalar(
        select(FollowUp.id).where(
            FollowUp.case_id == case.id, FollowUp.status == "due", FollowUp.due_at <= due_at
        )
    )
    if sooner is not None:
        return None
    return _new_follow_up(actor, case, due_at, "safety_assessment")


def update_follow_up(
    actor: User,
    follow_up: FollowUp,
    *,
    expected_version: int | None,
    status: str,
    note: str | None,
    done_at: datetime | None = None,
    due_at: datetime | None = None,
) -> None:
    """Mark a follow-up done (when, with a note) or missed, or move its due date (None: keep)."""
    case = db.session.get(Case, follow_up.case_id)
    assert case is not None  # noqa: S101 (a foreign key guarantees it)  # nosec B101
    require(actor, Permission.CASE_EDIT, case)
    require_open(case)
    check_version(follow_up, expected_version)
    if status not in vocab.FOLLOW_UP_STATUSES:
        raise _refuse("status", _l("Choose a value from the list."))
    text = _text(note, TEXT_MAX, "note", required=status == "done")
    if status == "done":
        if done_at is None:
            raise _refuse("done_at", _l("Enter when the contact took place."))
        check_past(done_at, case, "done_at")
    else:
        done_at = None
    if due_at is None:
        due_at = follow_up.due_at
    elif due_at != follow_up.due_at:
        if status != "due":
            raise _refuse("due_at", _l("Only a follow-up still due can be moved."))
        _check_due(due_at, utcnow())

    changed = []
    for name, value in (("status", status), ("due_at", due_at), ("done_at", done_at)):
        if getattr(follow_up, name) != value:
            setattr(follow_up, name, value)
            changed.append(name)
    if follow_up.note != text:
        follow_up.note = text
        changed.append("note")
    if changed:
        flush()
        audit.record(
            actor,
            Tag.FOLLOW_UP_UPDATE,
            case,
            follow_up_id=str(follow_up.id),
            status=status,
            fields=changed,
        )


@dataclass(frozen=True)
class FollowUpRow:
    follow_up: FollowUp
    overdue: bool


def follow_ups_of(case: Case) -> list[FollowUpRow]:
    now = utcnow()
    rows = sorted(case_rows.of_case(FollowUp, case.id), key=lambda f: (f.due_at, f.id))
    return [FollowUpRow(f, f.status == "due" and f.due_at < now) for f in rows]


# --- Support ------------------------------------------------------------------------------------


def case_units(case: Case) -> set[int]:
    """The case's units (owning, handling, place) and all their ancestors."""
    ids: set[int] = set()
    for unit in (case.owning_unit, case.handling_unit, case.place_unit):
        if unit is not None:
            ids.add(unit.id)
            ids.update(u.id for u in unit.ancestors())
    return ids


def eligible_partners(case: Case) -> list[Partner]:
    """Active partners serving one of the case's units or a unit above them."""
    served = select(partner_unit.c.partner_id).where(partner_unit.c.unit_id.in_(case_units(case)))
    return list(
        db.session.scalars(
            select(Partner)
            .where(Partner.active.is_(True), Partner.id.in_(served))
            .order_by(Partner.name)
        )
    )


def supported_people(case: Case) -> list[Person]:
    """The people a service can go to: the victims and the children of the case."""
    return list(
        db.session.scalars(
            select(Person)
            .where(Person.case_id == case.id, Person.role.in_(SUPPORTED_ROLES))
            .order_by(Person.created_at)
        )
    )


def _check_provider(case: Case, partner: Partner | None) -> None:
    if partner is not None and partner.id not in {p.id for p in eligible_partners(case)}:
        raise _refuse(
            "provider", _l("Choose an active partner that serves this case's area, or your unit.")
        )


def _check_dates(case: Case, status: str, started_on: date | None, ended_on: date | None) -> None:
    """Dates that fit the status: a service in progress has started, one delivered or stopped has
    ended, what has happened is not in the future, and the end is not before the start."""
    if status not in vocab.SUPPORT_STATUSES:
        raise _refuse("status", _l("Choose a value from the list."))
    if started_on is not None and ended_on is not None and ended_on < started_on:
        raise _refuse("ended_on", _l("The end is before the start."))
    today = local_today()
    received = case.received_at.astimezone(local_tz()).date()
    for name, value in (("started_on", started_on), ("ended_on", ended_on)):
        if value is not None and value < received:
            raise _refuse(name, _l("This is before the case was received."))
    if status in ("in_progress", "delivered") and started_on is None:
        raise _refuse("started_on", _l("Enter when the service started."))
    if status in ("delivered", "stopped") and ended_on is None:
        raise _refuse("ended_on", _l("Enter when the service ended."))
    if status != "planned":
        if started_on is not None and started_on > today:
            raise _refuse("started_on", _l("This date is in the future."))
        if status != "in_progress" and ended_on is not None and ended_on > today:
            raise _refuse("ended_on", _l("This date is in the future."))
    if started_on is None and ended_on is not None and status != "stopped":
        raise _refuse("started_on", _l("Enter when the service started."))


def add_support(
    actor: User,
    case: Case,
    *,
    person: Person,
    service: str,
    partner: Partner | None,
    status: str = "planned",
    started_on: date | None = None,
    ended_on: date | None = None,
    outcome: str | None = None,
) -> Support:
    """Record a service to a victim or child of the case, from the handling unit or a partner."""
    require(actor, Permission.CASE_EDIT, case)
    require_open(case)
    if person.case_id != case.id or person.role not in SUPPORTED_ROLES:
        raise _refuse("person", _l("Choose a victim or a child of this case."))
    if service not in vocab.SERVICES:
        raise _refuse("service", _l("Choose a value from the list."))
    _check_provider(case, partner)
    _check_dates(case, status, started_on, ended_on)
    text = _text(outcome, TEXT_MAX, "outcome")
    support = Support(
        id=uuid.uuid4(),
        case_id=case.id,
        person_id=person.id,
        service=service,
        provider_unit_id=None if partner is not None else case.handling_unit_id,
        provider_partner_id=partner.id if partner is not None else None,
        status=status,
        started_on=started_on,
        ended_on=ended_on,
        created_by_id=actor.id,
    )
    support.outcome = text
    db.session.add(support)
    flush()
    audit.record(
        actor,
        Tag.SUPPORT_ADD,
        case,
        support_id=str(support.id),
        person_id=str(person.id),
        service=service,
        partner_id=support.provider_partner_id,
        status=status,
    )
    return support


def update_support(
    actor: User,
    support: Support,
    *,
    expected_version: int | None,
    partner: Partner | None,
    status: str,
    started_on: date | None,
    ended_on: date | None,
    outcome: str | None,
) -> None:
    """Change a service's provider, status, dates or outcome; refused on a stale form."""
    case = db.session.get(Case, support.case_id)
    assert case is not None  # noqa: S101 (a foreign key guarantees it)  # nosec B101
    require(actor, Permission.CASE_EDIT, case)
    require_open(case)
    check_version(support, expected_version)
    partner_id = partner.id if partner is not None else None
    if partner_id != support.provider_partner_id:
        _check_provider(case, partner)
    _check_dates(case, status, started_on, ended_on)
    text = _text(outcome, TEXT_MAX, "outcome")
    # The unit that provided it stays when nothing else changes: a case escalated since keeps
    # the commune's own service on record as the commune's.
    unit_id = support.provider_unit_id
    if partner is None and unit_id is None:
        unit_id = case.handling_unit_id
    elif partner is not None:
        unit_id = None
    changed = []
    for name, value in (
        ("provider_partner_id", partner_id),
        ("provider_unit_id", unit_id),
        ("status", status),
        ("started_on", started_on),
        ("ended_on", ended_on),
    ):
        if getattr(support, name) != value:
            setattr(support, name, value)
            changed.append(name)
    if support.outcome != text:
        support.outcome = text
        changed.append("outcome")
    if changed:
        flush()
        audit.record(
            actor,
            Tag.SUPPORT_UPDATE,
            case,
            support_id=str(support.id),
            status=status,
            fields=changed,
        )


@dataclass(frozen=True)
class SupportRow:
    support: Support
    provider: str
    # The referral that asked the partner for it (DESIGN.md §3: "a partner via referral").
    referral: Referral | None = None


def _referrals_by_support(case: Case) -> dict[object, Referral]:
    rows = db.session.execute(
        select(referral_support.c.support_id, Referral)
        .join(Referral, Referral.id == referral_support.c.referral_id)
        .where(Referral.case_id == case.id)
    ).all()
    return {support_id: referral for support_id, referral in rows}


def supports_of(case: Case) -> list[SupportRow]:
    rows = sorted(case_rows.of_case(Support, case.id), key=lambda s: (s.created_at, s.id))
    partner_ids = {r.provider_partner_id for r in rows if r.provider_partner_id is not None}
    unit_ids = {r.provider_unit_id for r in rows if r.provider_unit_id is not None}
    partners = (
        {
            p.id: p.name
            for p in db.session.scalars(select(Partner).where(Partner.id.in_(partner_ids)))
        }
        if partner_ids
        else {}
    )
    units = (
        {u.id: u.name for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
        if unit_ids
        else {}
    )
    via = _referrals_by_support(case) if partner_ids else {}
    out = []
    for row in rows:
        if row.provider_partner_id is not None:
            name = partners.get(row.provider_partner_id, "")
        else:
            name = units.get(row.provider_unit_id or 0, "")
        out.append(SupportRow(row, name, via.get(row.id)))
    return out


def for_file(actor: User, case: Case) -> dict[str, Any]:
    """The support and follow-up part of the case file page."""
    return {"supports": supports_of(case), "follow_ups": follow_ups_of(case)}
