"""Reorganising units from a mapping file (DESIGN.md §2): `casework units reorganise MAPPING.csv`.

Each line names a unit that ends, the unit that takes over its work, the date the change takes
effect, and what happens to its user accounts:

    old_code,new_code,effective_date,users
    D1,HY,2025-07-01,move
    C7,C8,2025-07-01,deactivate

For each line: the old unit's open cases move to the successor (owning and handling unit alike,
each with an audited event), its closed cases keep their original unit for history and reports,
its active units below move under the successor, its accounts are moved or deactivated, what
waits on it (pending escalations and closure requests, open requests to act, the quick reports in
its inbox) goes to the successor, and the unit is retired with the successor named
(accounts.units.retire_unit). The whole file is checked
before anything changes, and nothing changes unless every line is valid. A dry run computes the
same plan and changes nothing; the real run carries out exactly that plan.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from casework import audit
from casework.accounts import units as unit_service
from casework.accounts import users as user_service
from casework.accounts.models import Unit, User
from casework.audit import Tag
from casework.db import utcnow
from casework.extensions import db

HEADER = ["old_code", "new_code", "effective_date", "users"]
USER_ACTIONS = ("move", "deactivate")


@dataclass(frozen=True)
class Mapping:
    line: int
    old: Unit
    new: Unit
    effective: date
    users: str


@dataclass
class Step:
    """What one line will do, counted before anything is done."""

    old_code: str
    new_code: str
    effective: date
    users_action: str
    open_cases: int = 0
    closed_cases: int = 0
    users: int = 0
    units_below: int = 0

    def line(self) -> str:
        values = {
            "old": self.old_code,
            "new": self.new_code,
            "day": self.effective.isoformat(),
            "open": self.open_cases,
            "closed": self.closed_cases,
            "users": self.users,
            "below": self.units_below,
        }
        if self.users_action == "move":
            return _(
                "%(old)s → %(new)s (effective %(day)s): %(open)d open case(s) move, %(closed)d "
                "closed case(s) stay; %(users)d account(s) moved to %(new)s; %(below)d unit(s) "
                "below move under %(new)s",
                **values,
            )
        return _(
            "%(old)s → %(new)s (effective %(day)s): %(open)d open case(s) move, %(closed)d "
            "closed case(s) stay; %(users)d account(s) deactivated, not moved to %(new)s; "
            "%(below)d unit(s) below move under %(new)s",
            **values,
        )


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def totals(self) -> dict[str, int]:
        return {
            "units_retired": len(self.steps),
            "open_cases_moved": sum(s.open_cases for s in self.steps),
            "closed_cases_kept": sum(s.closed_cases for s in self.steps),
            "users": sum(s.users for s in self.steps),
            "units_below_moved": sum(s.units_below for s in self.steps),
        }

    def summary(self) -> list[str]:
        totals = self.totals()
        return [s.line() for s in self.steps] + [
            _(
                "total: %(units_retired)d unit(s) retired, %(open_cases_moved)d open case(s) "
                "moved, %(closed_cases_kept)d closed case(s) kept, %(users)d account(s), "
                "%(units_below_moved)d unit(s) below moved",
                **totals,
            )
        ]


def _parse(text: str) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str]]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip().lower().lstrip("\ufeff") for h in header] != HEADER:
        return [], [(1, _("the first line must be: %(header)s", header=",".join(HEADER)))]
    rows, errors = [], []
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(HEADER):
            errors.append((reader.line_num, _("expected 4 columns, found %(n)d", n=len(record))))
            continue
        rows.append((reader.line_num, [cell.strip() for cell in record]))
    return rows, errors


def _check(rows: list[tuple[int, list[str]]]) -> tuple[list[Mapping], list[tuple[int, str]]]:
    """Every problem of the file, each with its line, before anything is changed."""
    from casework.cases.people import local_today

    by_code = {u.code: u for u in db.session.scalars(select(Unit))}
    olds = {r[1][0] for r in rows}
    seen: set[str] = set()
    mappings: list[Mapping] = []
    errors: list[tuple[int, str]] = []
    for line, (old_code, new_code, effective_text, users) in rows:
        old, new = by_code.get(old_code), by_code.get(new_code)
        problems = []
        if old is None:
            problems.append(_("unknown unit %(code)r", code=old_code[:40]))
        elif old.is_retired:
            problems.append(_("%(code)s is already retired", code=old_code))
        if new is None:
            problems.append(_("unknown unit %(code)r", code=new_code[:40]))
        elif new.is_retired:
            problems.append(_("%(code)s is retired and cannot take over", code=new_code))
        if old_code == new_code:
            problems.append(_("a unit cannot succeed itself"))
        if old_code in seen:
            problems.append(_("%(code)s appears twice", code=old_code))
        if new_code in olds:
            problems.append(
                _("%(code)s is itself retired by this file: name the final unit", code=new_code)
            )
        if old is not None and new is not None and old in new.ancestors():
            problems.append(_("%(new)s is below %(old)s", new=new_code, old=old_code))
        try:
            effective = date.fromisoformat(effective_text)
        except ValueError:
            problems.append(_("the effective date must be YYYY-MM-DD"))
            effective = None
        if effective is not None and effective > local_today():
            problems.append(_("the effective date is in the future: run the file on or after it"))
        if users not in USER_ACTIONS:
            problems.append(_("users must be 'move' or 'deactivate'"))
        seen.add(old_code)
        if problems or old is None or new is None or effective is None:
            errors.extend((line, p) for p in problems)
            continue
        mappings.append(Mapping(line, old, new, effective, users))
    for m in mappings:
        for child in _active_children(m.old):
            if unit_service.level_rank(child.level) <= unit_service.level_rank(m.new.level):
                errors.append(
                    (
                        m.line,
                        _(
                            "%(child)s cannot move under %(new)s: not a higher level",
                            child=child.code,
                            new=m.new.code,
                        ),
                    )
                )
    return mappings, sorted(errors)


def _active_children(unit: Unit) -> list[Unit]:
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.parent_id == unit.id, Unit.retired_at.is_(None))
            .order_by(Unit.code)
        )
    )


def _cases_of(unit: Unit, *, open_: bool):  # type: ignore[no-untyped-def]
    from casework.cases.models import Case

    held = (Case.owning_unit_id == unit.id) | (Case.handling_unit_id == unit.id)
    state = Case.status != "closed" if open_ else Case.status == "closed"
    return select(Case).where(held, state).order_by(Case.id)


def _count(stmt) -> int:  # type: ignore[no-untyped-def]
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def plan(text: str) -> tuple[Plan, list[Mapping]]:
    """Check the file and count what each line would do; changes nothing."""
    rows, errors = _parse(text)
    mappings, problems = _check(rows) if not errors else ([], [])
    result = Plan(errors=errors + problems)
    if not result.ok:
        return result, []
    for m in mappings:
        users = db.session.scalar(
            select(func.count(User.id)).where(User.unit_id == m.old.id, User.active.is_(True))
        )
        result.steps.append(
            Step(
                old_code=m.old.code,
                new_code=m.new.code,
                effective=m.effective,
                users_action=m.users,
                open_cases=_count(_cases_of(m.old, open_=True)),
                closed_cases=_count(_cases_of(m.old, open_=False)),
                users=int(users or 0),
                units_below=len(_active_children(m.old)),
            )
        )
    return result, mappings


def _move_cases(m: Mapping) -> int:
    moved = 0
    for case in db.session.scalars(_cases_of(m.old, open_=True)).all():
        fields = []
        if case.owning_unit_id == m.old.id:
            case.owning_unit_id = m.new.id
            fields.append("owning_unit")
        if case.handling_unit_id == m.old.id:
            case.handling_unit_id = m.new.id
            fields.append("handling_unit")
        _succession(m, case, fields=fields, effective=m.effective.isoformat())
        moved += 1
    return moved


def _reroute(m: Mapping) -> int:
    """What waits for an answer from the old unit, or from above on its behalf, goes to the
    successor: pending escalations and closure requests, open requests to act, quick reports in
    its inbox. One that would now go from the successor to itself (the old unit escalated to, or
    was asked to act by, the unit that succeeds it) has nothing left to ask and is withdrawn.
    Returns how many records changed; each change is audited."""
    from casework.cases.workflow.models import (
        ActionRequest,
        ClosureRequest,
        Escalation,
        QuickReportDelivery,
    )

    waiting = [
        *db.session.scalars(
            select(Escalation)
            .where(
                Escalation.status == "pending",
                (Escalation.from_unit_id == m.old.id) | (Escalation.to_unit_id == m.old.id),
            )
            .order_by(Escalation.requested_at, Escalation.id)
        ),
        *db.session.scalars(
            select(ActionRequest)
            .where(
                ActionRequest.status == "open",
                (ActionRequest.from_unit_id == m.old.id) | (ActionRequest.to_unit_id == m.old.id),
            )
            .order_by(ActionRequest.asked_at, ActionRequest.id)
        ),
    ]
    for item in waiting:
        if item.from_unit_id == m.old.id:
            item.from_unit_id = m.new.id
        if item.to_unit_id == m.old.id:
            item.to_unit_id = m.new.id
        withdrawn = item.from_unit_id == item.to_unit_id
        if withdrawn:  # the row keeps its units (they must differ); only its status ends it
            db.session.expire(item, ["from_unit_id", "to_unit_id"])
            item.status = "withdrawn"
            item.answered_at = utcnow()
        _succession(m, item, case_id=str(item.case_id), withdrawn=withdrawn)
    closures = db.session.scalars(
        select(ClosureRequest)
        .where(ClosureRequest.status == "pending", ClosureRequest.handling_unit_id == m.old.id)
        .order_by(ClosureRequest.requested_at, ClosureRequest.id)
    ).all()
    for request in closures:
        request.handling_unit_id = m.new.id
        _succession(m, request, case_id=str(request.case_id))
    # The old unit's inbox: each quick report it received reaches the successor too (the old
    # delivery stays, as history of where the report went).
    held = select(QuickReportDelivery.report_id).where(QuickReportDelivery.unit_id == m.new.id)
    deliveries = db.session.scalars(
        select(QuickReportDelivery)
        .where(QuickReportDelivery.unit_id == m.old.id, QuickReportDelivery.report_id.not_in(held))
        .order_by(QuickReportDelivery.delivered_at, QuickReportDelivery.id)
    ).all()
    for delivery in deliveries:
        copy = QuickReportDelivery(report_id=delivery.report_id, unit_id=m.new.id)
        db.session.add(copy)
        _succession(m, copy, report_id=str(delivery.report_id))
    return len(waiting) + len(closures) + len(deliveries)


def _succession(m: Mapping, record: object, **details: object) -> None:
    """Save one record moved to the successor and audit it (ids only)."""
    db.session.flush()
    audit.record(
        None,
        Tag.CASE_UNIT_SUCCESSION,
        record,
        from_unit_id=m.old.id,
        to_unit_id=m.new.id,
        **details,
    )


def _move_users(m: Mapping) -> int:
    done = 0
    for user in db.session.scalars(
        select(User).where(User.unit_id == m.old.id, User.active.is_(True)).order_by(User.id)
    ).all():
        if m.users == "move":
            user_service.update_user(
                None, user, display_name=user.display_name, role=user.role, unit=m.new
            )
        else:
            user_service.deactivate_user(None, user)
        done += 1
    return done


def apply(text: str) -> Plan:
    """Carry out the file (the caller commits), or nothing when any line is invalid. Returns the
    plan it carried out, counted before the first change, as a dry run would have shown it."""
    result, mappings = plan(text)
    if not result.ok:
        return result
    for m, step in zip(mappings, result.steps, strict=True):
        for child in _active_children(m.old):
            unit_service.move_unit(None, child, m.new)
        moved_users = _move_users(m)
        moved_cases = _move_cases(m)
        rerouted = _reroute(m)
        # Counted in the same transaction a moment earlier: a difference is a concurrent change.
        if (moved_users, moved_cases) != (step.users, step.open_cases):
            raise RuntimeError(f"{m.old.code} changed while being reorganised; nothing was saved")
        unit_service.retire_unit(None, m.old, m.new)
        audit.record(
            None,
            Tag.UNIT_REORGANISE,
            m.old,
            successor_id=m.new.id,
            effective=m.effective.isoformat(),
            open_cases_moved=step.open_cases,
            closed_cases_kept=step.closed_cases,
            users=step.users,
            users_action=m.users,
            waiting_rerouted=rerouted,
        )
    db.session.flush()
    return result
