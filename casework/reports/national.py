"""The de-identified export for the national domestic-violence database (Decree 110/2025/NĐ-CP).

One CSV row per case received in the year, with the statistics the decree's information groups ask
for (docs/national-export.md documents every column): the case and its handling (group 4), the
victims and alleged perpetrators in counts and categories (group 5), and the measures of protection
and support (group 9). No name, contact, address, date of birth, free text, case code or id: rows
are numbered in an order unrelated to time or place, the place is the province only and times are
months. Only reviewers of a province or central unit may export it, for their own subtree, after
entering their password again; every export is audited with the year and the number of rows.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from flask import Flask
from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from casework import audit
from casework.accounts.models import Unit, User
from casework.audit import Tag
from casework.cases.models import Action, Case, CaseType, Person, Relationship, Support
from casework.cases.workflow.models import Escalation, QuickReport
from casework.extensions import db
from casework.policy import Permission, require
from casework.referrals.models import Partner, Referral
from casework.reports.figures import INVERSE
from casework.reports.periods import Period, report_tz
from casework.reports.service import Scope, Window

BATCH = 2000
MEASURES = ("contact_ban_request", "protective_measure", "reconciliation", "notify_authority")

COLUMNS = (
    "row",
    "year",
    "month_received",
    "province_code",
    "receiving_level",
    "source",
    "case_types",
    "dv_acts",
    "gbv_type",
    "severity",
    "immediate_danger",
    "child_involved",
    "injuries",
    "sexual_violence",
    "status",
    "month_closed",
    "closure_outcome",
    "escalated",
    "quick_report_sent",
    "victims",
    "victims_female",
    "victims_male",
    "victims_child",
    "victims_with_disability",
    "victim_age_bands",
    "perpetrators",
    "perpetrators_male",
    "perpetrator_relationship",
    "authority_notified",
    "contact_ban_requested",
    "protective_measure",
    "reconciliation",
    "services_delivered",
    "referred_to",
)


def authorise(user: User) -> None:
    """The national export: for reviewers of a province or central unit (the policy's
    REPORT_NATIONAL, asked of her own unit; DOMAIN.md: national statistics)."""
    require(user, Permission.REPORT_VIEW)
    require(user, Permission.REPORT_NATIONAL, user.unit)


def record(user: User, year: int, rows: int, *, outcome: str = "ok") -> None:
    audit.record(user, Tag.NATIONAL_EXPORT, user.unit, outcome=outcome, year=year, rows=rows)


def count_rows(user: User, year: int) -> int:
    authorise(user)
    window = Window(Period.calendar("year", year))
    stmt = (
        select(func.count())
        .select_from(Case)
        .where(Case.received_at >= window.start, Case.received_at < window.end)
    )
    return int(db.session.scalar(Scope(user.unit, "recorded").cases(stmt)) or 0)  # type: ignore[arg-type]


def _provinces() -> dict[int, str]:
    """Each unit's province code (the unit itself at province level; none above)."""
    units = {
        u.id: u for u in db.session.execute(select(Unit.id, Unit.parent_id, Unit.level, Unit.code))
    }
    out: dict[int, str] = {}
    for uid in units:
        node = units.get(uid)
        while node is not None and node.level != "province":
            node = units.get(node.parent_id) if node.parent_id is not None else None
        out[uid] = node.code if node is not None else ""
    return out


def _month(moment: Any) -> str:
    return "" if moment is None else moment.astimezone(report_tz()).strftime("%Y-%m")


def _flag(value: bool | None) -> str:
    return "1" if value else "0"


def _by_case(stmt: Any) -> dict[Any, list[tuple[Any, ...]]]:
    out: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
    for case_id, *rest in db.session.execute(stmt):
        out[case_id].append(tuple(rest))
    return out


def _relationship(ids: list[Any]) -> dict[Any, str]:
    """The first perpetrator's relation to a victim, per case (either direction of recording)."""
    p, o = aliased(Person), aliased(Person)
    forward = and_(p.role == "perpetrator", o.role == "victim")
    inverse = case(
        *((Relationship.kind == k, literal(v)) for k, v in INVERSE.items()),
        else_=Relationship.kind,
    )
    kind = case((forward, Relationship.kind), else_=inverse)
    stmt = (
        select(Relationship.case_id, kind)
        .join(p, p.id == Relationship.person_id)
        .join(o, o.id == Relationship.other_id)
        .where(
            Relationship.case_id.in_(ids),
            or_(forward, and_(p.role == "victim", o.role == "perpetrator")),
        )
        .order_by(Relationship.case_id, Relationship.id)
    )
    out: dict[Any, str] = {}
    for case_id, value in db.session.execute(stmt):
        out.setdefault(case_id, value)
    return out


def _details(ids: list[Any]) -> dict[str, Any]:
    later = aliased(Action)
    return {
        "types": _by_case(select(CaseType.case_id, CaseType.code).where(CaseType.case_id.in_(ids))),
        "people": _by_case(
            select(
                Person.case_id,
                Person.role,
                Person.sex,
                Person.is_child,
                Person.disability,
                Person.age_band,
            ).where(Person.case_id.in_(ids), Person.role.in_(("victim", "perpetrator")))
        ),
        "measures": _by_case(
            select(Action.case_id, Action.kind)
            .where(
                Action.case_id.in_(ids),
                Action.kind.in_(MEASURES),
                ~exists().where(later.supersedes_id == Action.id),
            )
            .distinct()
        ),
        "services": _by_case(
            select(Support.case_id, Support.service)
            .where(Support.case_id.in_(ids), Support.status == "delivered")
            .distinct()
        ),
        "referred": _by_case(
            select(Referral.case_id, Partner.kind)
            .join(Partner, Partner.id == Referral.partner_id)
            .where(Referral.case_id.in_(ids))
            .distinct()
        ),
        "escalated": set(
            db.session.scalars(
                select(Escalation.case_id).where(
                    Escalation.case_id.in_(ids), Escalation.status == "accepted"
                )
            )
        ),
        "reported": set(
            db.session.scalars(select(QuickReport.case_id).where(QuickReport.case_id.in_(ids)))
        ),
        "relationship": _relationship(ids),
    }


def _joined(values: list[tuple[Any, ...]], position: int = 0) -> str:
    return ";".join(sorted({str(v[position]) for v in values if v[position] is not None}))


def _row(
    number: int, c: Any, d: dict[str, Any], provinces: dict[int, str], levels: dict[int, str]
) -> list[str]:
    types = d["types"].get(c.id, [])
    people = d["people"].get(c.id, [])
    victims = [p for p in people if p[0] == "victim"]
    perpetrators = [p for p in people if p[0] == "perpetrator"]
    measures = {m[0] for m in d["measures"].get(c.id, [])}
    return [
        str(number),
        c.received_at.astimezone(report_tz()).strftime("%Y"),
        _month(c.received_at),
        provinces.get(c.owning_unit_id, ""),
        levels.get(c.owning_unit_id, ""),
        c.source,
        ";".join(sorted({t[0].partition(".")[0] for t in types})),
        ";".join(
            sorted(t[0].partition(".")[2] for t in types if t[0].startswith("domestic_violence."))
        ),
        c.gbv_type or "",
        c.severity or "",
        _flag(c.immediate_danger),
        _flag(c.child_involved),
        _flag(c.injuries),
        _flag(c.sexual_violence),
        c.status,
        _month(c.closed_at) if c.status == "closed" else "",
        (c.closure_outcome or "") if c.status == "closed" else "",
        _flag(c.id in d["escalated"]),
        _flag(c.id in d["reported"]),
        str(len(victims)),
        str(sum(1 for v in victims if v[1] == "female")),
        str(sum(1 for v in victims if v[1] == "male")),
        str(sum(1 for v in victims if v[2])),
        str(sum(1 for v in victims if v[3])),
        _joined(victims, 4),
        str(len(perpetrators)),
        str(sum(1 for p in perpetrators if p[1] == "male")),
        d["relationship"].get(c.id, ""),
        _flag("notify_authority" in measures),
        _flag("contact_ban_request" in measures),
        _flag("protective_measure" in measures),
        _flag("reconciliation" in measures),
        _joined(d["services"].get(c.id, [])),
        _joined(d["referred"].get(c.id, [])),
    ]


CASE_COLUMNS = (
    Case.id,
    Case.received_at,
    Case.owning_unit_id,
    Case.source,
    Case.gbv_type,
    Case.severity,
    Case.immediate_danger,
    Case.child_involved,
    Case.injuries,
    Case.sexual_violence,
    Case.status,
    Case.closed_at,
    Case.closure_outcome,
)


def csv_chunks(app: Flask, unit_id: int, year: int) -> Iterator[str]:
    """The CSV in chunks, each batch read in an application context of its own (the response is
    read after the request has ended; no transaction stays open between chunks)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    last = None
    number = 0
    with app.app_context():
        window = Window(Period.calendar("year", year))
        provinces = _provinces()
        levels = dict(db.session.execute(select(Unit.id, Unit.level)).all())
    while True:
        with app.app_context():
            unit = db.session.get(Unit, unit_id)
            stmt = select(*CASE_COLUMNS).where(
                Case.received_at >= window.start, Case.received_at < window.end
            )
            stmt = Scope(unit, "recorded").cases(stmt)  # type: ignore[arg-type]
            if last is not None:
                stmt = stmt.where(Case.id > last)
            batch = db.session.execute(stmt.order_by(Case.id).limit(BATCH)).all()
            details = _details([c.id for c in batch]) if batch else {}
            for c in batch:
                number += 1
                writer.writerow(_row(number, c, details, provinces, levels))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < BATCH:
            return
        last = batch[-1].id
