"""Retention of closed cases and legal holds (DESIGN.md §7, docs/operations.md).

A closed case keeps its personal data for a period set per case type (RETENTION_YEARS, the longest
of its types), counted in whole years from the Vietnam date of closure. Once the period is over, and
unless a legal hold is active, retention crypto-shreds the case's data key and the keys of its
people: names, narratives and attachments become unreadable for good, while the plain statistics
columns (types, severity, dates, sex, age band, outcome) stay, so reports still count the case.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases.models import Case, CaseType, Person
from casework.cases.service import _text
from casework.cases.support import local_today, local_tz
from casework.crypto import shredding
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition
from casework.extensions import db
from casework.policy import Permission, require
from casework.policy.scopes import supervised_cases
from casework.retention.models import LegalHold, RetentionErasure, RetentionRun

REASON_MAX = 500


# --- Periods ----------------------------------------------------------------------------------


def period_years(type_codes: Iterable[str]) -> int:
    """The retention period of a case: the longest of its types' (a sub-type may have its own)."""
    by_type: dict[str, int] = current_app.config["RETENTION_YEARS"]
    default = int(current_app.config["RETENTION_DEFAULT_YEARS"])
    years = [
        int(by_type.get(code, by_type.get(code.partition(".")[0], default))) for code in type_codes
    ]
    return max(years, default=default)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year: the period ends a day later, never sooner
        return date(day.year + years, 3, 1)


def expires_on(closed_at: datetime, years: int) -> date:
    """The first Vietnam day on which a case closed at closed_at may be erased."""
    return add_years(closed_at.astimezone(local_tz()).date(), years)


# --- What is due ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A closed case whose period is over, and the hold that stops its erasure (if any)."""

    case_id: uuid.UUID
    code: str
    closed_at: datetime
    years: int
    expires_on: date
    types: tuple[str, ...]
    hold_until: date | None = None
    held: bool = False


def active_holds(case_ids: Iterable[uuid.UUID], day: date) -> dict[uuid.UUID, LegalHold]:
    """The active hold of each listed case that has one (the one lasting longest)."""
    ids = list(case_ids)
    found: dict[uuid.UUID, LegalHold] = {}
    for start in range(0, len(ids), 500):
        holds = db.session.scalars(
            select(LegalHold).where(
                LegalHold.case_id.in_(ids[start : start + 500]),
                LegalHold.lifted_at.is_(None),
                or_(LegalHold.until.is_(None), LegalHold.until >= day),
            )
        )
        for hold in holds:
            known = found.get(hold.case_id)
            if known is None or (
                known.until is not None and (hold.until or date.max) > known.until
            ):
                found[hold.case_id] = hold
    return found


def due(day: date | None = None) -> list[Due]:
    """Every closed case not yet erased whose period ended on or before `day` (Vietnam date),
    held ones included and marked; oldest closure first."""
    day = day or local_today()
    shortest = min(
        [int(current_app.config["RETENTION_DEFAULT_YEARS"])]
        + [int(y) for y in current_app.config["RETENTION_YEARS"].values()]
    )
    # Anything closed after this local day cannot have expired yet: the query skips it.
    latest = add_years(day, -shortest)
    bound = datetime.combine(latest + timedelta(days=1), time.min, tzinfo=local_tz())
    erased = select(RetentionErasure.case_id)
    rows = db.session.execute(
        select(Case.id, Case.code, Case.closed_at)
        .where(
            Case.status == "closed",
            Case.closed_at.is_not(None),
            Case.closed_at < bound,
            Case.id.not_in(erased),
        )
        .order_by(Case.closed_at, Case.id)
    ).all()
    types: dict[uuid.UUID, list[str]] = {}
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        for case_id, code in db.session.execute(
            select(CaseType.case_id, CaseType.code).where(
                CaseType.case_id.in_(ids[start : start + 500])
            )
        ):
            types.setdefault(case_id, []).append(code)
    expired = []
    for row in rows:
        codes = tuple(sorted(types.get(row.id, [])))
        years = period_years(codes)
        ends = expires_on(row.closed_at, years)
        if ends <= day:
            expired.append(Due(row.id, row.code, row.closed_at, years, ends, codes))
    holds = active_holds([d.case_id for d in expired], day)
    return [
        replace(d, held=True, hold_until=holds[d.case_id].until) if d.case_id in holds else d
        for d in expired
    ]


# --- Erasing ----------------------------------------------------------------------------------


def start_run(actor: User | None, day: date) -> RetentionRun:
    run = RetentionRun(on_day=day, by_id=getattr(actor, "id", None))
    db.session.add(run)
    db.session.flush()
    return run


def erase_case(actor: User | None, run: RetentionRun, item: Due) -> RetentionErasure | None:
    """Crypto-shred one expired case and its people, unless it was reopened, held or erased since
    it was planned (checked again here, in the erasing transaction). Returns the record or None."""
    case = db.session.get(Case, item.case_id)
    if case is None or case.status != "closed" or case.closed_at != item.closed_at:
        return None
    if active_holds([case.id], run.on_day):
        return None
    if db.session.scalar(select(RetentionErasure.id).where(RetentionErasure.case_id == case.id)):
        return None
    people = list(db.session.scalars(select(Person.id).where(Person.case_id == case.id)))
    keys = shredding.shred(actor, "case", case.id)
    for person_id in people:
        keys += shredding.shred(actor, "person", person_id)
    erasure = RetentionErasure(
        run_id=run.id,
        case_id=case.id,
        closed_at=case.closed_at,
        years=item.years,
        expired_on=item.expires_on,
        people=len(people),
        keys=keys,
        types=",".join(item.types)[:400],
    )
    db.session.add(erasure)
    db.session.flush()
    audit.record(
        actor,
        Tag.RETENTION_ERASE,
        case,
        run=run.id,
        years=item.years,
        people=len(people),
        keys=keys,
    )
    return erasure


def finish_run(
    actor: User | None, run: RetentionRun, *, expired: int, erased: int, held: int
) -> None:
    run.expired, run.erased, run.held = expired, erased, held
    run.finished_at = utcnow()
    db.session.flush()
    audit.record(
        actor,
        Tag.RETENTION_RUN,
        run,
        on_day=run.on_day.isoformat(),
        expired=expired,
        erased=erased,
        held=held,
    )


# --- Legal holds ------------------------------------------------------------------------------


def set_hold(actor: User, case: Case, reason: str, until: date | None) -> LegalHold:
    """A province or central reviewer supervising the case holds it: retention will not erase it
    while the hold lasts (until a date, or until lifted)."""
    require(actor, Permission.CASE_HOLD, case)
    text = _text(reason, REASON_MAX, "reason", required=True)
    if until is not None and until < local_today():
        message = _l("This date is in the past.")
        raise Invalid(message, until=message)
    hold = LegalHold(id=uuid.uuid4(), case_id=case.id, set_by_id=actor.id, until=until)
    hold.reason = text
    db.session.add(hold)
    db.session.flush()
    audit.record(
        actor,
        Tag.LEGAL_HOLD_SET,
        hold,
        case_id=str(case.id),
        until=until.isoformat() if until else None,
    )
    return hold


def lift_hold(actor: User, hold: LegalHold) -> None:
    """End a hold; the case's retention period applies again from the next run."""
    require(actor, Permission.CASE_HOLD, hold.case)
    won = db.session.execute(
        update(LegalHold)
        .where(LegalHold.id == hold.id, LegalHold.lifted_at.is_(None))
        .values(lifted_at=utcnow(), lifted_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise InvalidTransition(_l("This hold has already been lifted."))
    db.session.refresh(hold)
    audit.record(actor, Tag.LEGAL_HOLD_LIFT, hold, case_id=str(hold.case_id))


def case_by_code(actor: User, code: str) -> Case:
    """The case a hold form names by its code; unknown and not-yours look alike (404)."""
    case = db.session.scalar(select(Case).where(Case.code == (code or "").strip().upper()))
    if case is None:
        message = _l("No case with this code that you may hold.")
        raise Invalid(message, case_code=message)
    require(actor, Permission.CASE_HOLD, case, hide=True)
    return case


def holds_for(actor: User, *, limit: int = 200) -> list[LegalHold]:
    """Holds, active first then the most recent, on the cases of the reviewer's subtree."""
    require(actor, Permission.CASE_HOLD, actor.unit)
    ids = supervised_cases(actor).with_only_columns(Case.id)
    return list(
        db.session.scalars(
            select(LegalHold)
            .where(LegalHold.case_id.in_(ids))
            .order_by(LegalHold.lifted_at.is_not(None), LegalHold.set_at.desc())
            .limit(limit)
        )
    )
