"""The queries behind each table of the report: one GROUP BY per figure, both periods at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from casework.cases import vocab
from casework.cases.models import Action, Case, CaseType, FollowUp, Person, Relationship, Support
from casework.cases.workflow.models import Escalation, QuickReport
from casework.db import utcnow
from casework.extensions import db
from casework.referrals.models import Partner, Referral

if TYPE_CHECKING:
    from casework.reports.service import Scope, Window

Counts = dict[tuple[Any, ...], int]

# "A is B's spouse" read the other way round: the perpetrator's relation to the victim.
INVERSE = {"parent": "child", "child": "parent", "step_parent": "child", "employer": "other"}
DEADLINE_KINDS = ("notify_commune_chair", "report_child_abuse", "referral_answer", "follow_up")


def later_than(later: Any, earlier: Any, hours: float) -> ColumnElement[bool]:
    """later > earlier + hours, on SQLite (julian days) and PostgreSQL (intervals)."""
    if db.engine.dialect.name == "sqlite":
        return func.julianday(later) > func.julianday(earlier) + hours / 24.0
    return later > earlier + func.make_interval(0, 0, 0, 0, 0, 0, hours * 3600.0)


def due_passed(earlier: Any, hours: float) -> ColumnElement[bool]:
    """earlier + hours is already past (so an unmet deadline is missed, not pending)."""
    return earlier < utcnow() - timedelta(hours=hours)


def grouped(stmt: Select[Any]) -> dict[tuple[Any, ...], int]:
    """Run a GROUP BY whose last column is the count: {(flag, key…): n}."""
    out: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in db.session.execute(stmt):
        *keys, n = row
        out[tuple(keys)] += n
    return out


def main_type() -> Any:
    """The main type of a case-type code ("domestic_violence.physical" → "domestic_violence")."""
    return case(
        *(
            (or_(CaseType.code == main, CaseType.code.like(f"{main}.%")), literal(main))
            for main in vocab.CASE_TYPES
        ),
        else_=literal("other"),
    )


def _by(counts: Counts, position: int) -> Counts:
    """Roll a multi-key count up to (flag, key at position)."""
    out: Counts = {}
    for keys, n in counts.items():
        k = (keys[0], keys[position])
        out[k] = out.get(k, 0) + n
    return out


def _run(stmt: Any) -> Counts:
    return grouped(stmt)


def case_columns(scope: Scope, w: Window) -> Counts:
    """Cases received in each period by owning unit, severity, source and status: one scan for
    four tables (the unit is mapped to the report's row later, with the small unit tree)."""
    flag = w.flag(Case.received_at)
    columns = (Case.owning_unit_id, Case.severity, Case.source, Case.status)
    stmt = select(flag, *columns, func.count()).where(w.within(Case.received_at))
    return _run(scope.cases(stmt).group_by(flag, *columns))


def by_unit(scope: Scope, cases: Counts) -> Counts:
    """The cases under each direct unit of the report's unit (its own cases under itself)."""
    out: Counts = {}
    for (bucket, unit_id, *_rest), n in cases.items():
        top = scope.tops.get(unit_id)
        if top is not None:
            out[(bucket, top)] = out.get((bucket, top), 0) + n
    return out


def types(scope: Scope, w: Window) -> Counts:
    flag = w.flag(Case.received_at)
    main = main_type()
    stmt = (
        select(flag, main, func.count(func.distinct(Case.id)))
        .join(CaseType, CaseType.case_id == Case.id)
        .where(w.within(Case.received_at))
    )
    stmt = scope.cases(stmt).group_by(flag, main)
    return _run(stmt)


def closures(scope: Scope, w: Window) -> Counts:
    flag = w.flag(Case.closed_at)
    stmt = select(flag, Case.closure_outcome, func.count()).where(
        Case.status == "closed", w.within(Case.closed_at)
    )
    stmt = scope.cases(stmt).group_by(flag, Case.closure_outcome)
    return _run(stmt)


def victims(scope: Scope, w: Window) -> Counts:
    flag = w.flag(Case.received_at)
    stmt = (
        select(flag, Person.sex, Person.age_band, func.count())
        .join(Case, Case.id == Person.case_id)
        .where(Person.role == "victim", w.within(Case.received_at))
    )
    return _run(scope.cases(stmt).group_by(flag, Person.sex, Person.age_band))


# The two people of a relationship, aliased once (see _LATER below).
_ONE, _OTHER = aliased(Person, name="one"), aliased(Person, name="other")


def relationships(scope: Scope, w: Window) -> Counts:
    """Each perpetrator–victim pair once, as the perpetrator's relation to the victim."""
    p, o = _ONE, _OTHER
    forward = and_(p.role == "perpetrator", o.role == "victim")
    backward = and_(p.role == "victim", o.role == "perpetrator")
    inverse = case(
        *((Relationship.kind == k, literal(v)) for k, v in INVERSE.items()),
        else_=Relationship.kind,
    )
    kind = case((forward, Relationship.kind), else_=inverse)
    flag = w.flag(Case.received_at)
    stmt = (
        select(flag, kind, func.count())
        .join(p, p.id == Relationship.person_id)
        .join(o, o.id == Relationship.other_id)
        .join(Case, Case.id == Relationship.case_id)
        .where(or_(forward, backward), w.within(Case.received_at))
    )
    stmt = scope.cases(stmt).group_by(flag, kind)
    return _run(stmt)


def escalations(scope: Scope, w: Window) -> Counts:
    flag = w.flag(Escalation.requested_at)
    stmt = (
        select(flag, Escalation.status, func.count())
        .join(Case, Case.id == Escalation.case_id)
        .where(w.within(Escalation.requested_at))
    )
    stmt = scope.cases(stmt).group_by(flag, Escalation.status)
    return _run(stmt)


def _outcome(done: Any, start: Any, hours: float) -> Any:
    """on_time / late / not_met / pending for a deadline `hours` after `start`."""
    return case(
        (and_(done.is_(None), due_passed(start, hours)), literal("not_met")),
        (done.is_(None), literal("pending")),
        (later_than(done, start, hours), literal("late")),
        else_=literal("on_time"),
    )


def quick_reports(scope: Scope, w: Window) -> Counts:
    """Cases classified in the period at a severity that needs a quick report."""
    hours = float(current_app.config["QUICK_REPORT_HOURS"])
    first = (
        select(func.min(QuickReport.sent_at))
        .where(QuickReport.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    outcome = _outcome(first, func.coalesce(Case.reportable_since, Case.classified_at), hours)
    flag = w.flag(Case.classified_at)
    stmt = select(flag, outcome, func.count()).where(
        Case.severity.in_(current_app.config["QUICK_REPORT_SEVERITIES"]),
        w.within(Case.classified_at),
    )
    return _run(scope.cases(stmt).group_by(flag, outcome))


def _referral_outcome() -> Any:
    answered = func.coalesce(Referral.answered_at, Referral.withdrawn_at)
    return case(
        (and_(answered.is_(None), Referral.answer_due_at < utcnow()), literal("not_met")),
        (answered.is_(None), literal("pending")),
        (answered > Referral.answer_due_at, literal("late")),
        else_=literal("on_time"),
    )


def referrals(scope: Scope, w: Window) -> Counts:
    """Referrals sent in each period by partner kind, status and answer deadline: one scan for
    two tables and a deadline row."""
    flag = w.flag(Referral.sent_at)
    outcome = _referral_outcome()
    stmt = (
        select(flag, Partner.kind, Referral.status, outcome, func.count())
        .join(Partner, Partner.id == Referral.partner_id)
        .join(Case, Case.id == Referral.case_id)
        .where(w.within(Referral.sent_at))
    )
    return _run(scope.cases(stmt).group_by(flag, Partner.kind, Referral.status, outcome))


def services(scope: Scope, w: Window) -> Counts:
    flag = w.flag_days(Support.ended_on)
    stmt = (
        select(flag, Support.service, func.count())
        .join(Case, Case.id == Support.case_id)
        .where(Support.status == "delivered", w.within_days(Support.ended_on))
    )
    return _run(scope.cases(stmt).group_by(flag, Support.service))


# Made once: SQLAlchemy remembers how it adapts an alias's columns, so a new alias per report
# would pay for that adaptation again each time.
_LATER = aliased(Action)


def _first_notice(authorities: Iterable[str]) -> Any:
    """When the case's authorities were first notified (a corrected notice counts as its
    correction)."""
    later = _LATER
    return (
        select(func.min(Action.occurred_at))
        .where(
            Action.case_id == Case.id,
            Action.kind == "notify_authority",
            Action.authority.in_(list(authorities)),
            ~exists().where(later.supersedes_id == Action.id),
        )
        .correlate(Case)
        .scalar_subquery()
    )


def _main_type_exists(main: str) -> Any:
    return exists().where(
        CaseType.case_id == Case.id, or_(CaseType.code == main, CaseType.code.like(f"{main}.%"))
    )


# The notification deadlines: which cases owe each, and whom it is owed to.
_NOTICES = (
    ("notify_commune_chair", ("commune_committee",)),
    ("report_child_abuse", ("hotline_111", "police", "commune_committee")),
)


def _notifications(scope: Scope, w: Window) -> dict[str, Counts]:
    """Both notification deadlines of the cases received in each period, in one scan: each
    outcome is counted only for the cases that owe that notice (NULL for the others)."""
    owes = {
        "notify_commune_chair": _main_type_exists("domestic_violence"),
        "report_child_abuse": or_(Case.child_involved.is_(True), _main_type_exists("child_abuse")),
    }
    hours = current_app.config["DEADLINE_HOURS"]
    outcomes = [
        case(
            (
                owes[kind],
                _outcome(_first_notice(authorities), Case.received_at, float(hours[kind])),
            ),
            else_=None,
        )
        for kind, authorities in _NOTICES
    ]
    flag = w.flag(Case.received_at)
    stmt = select(flag, *outcomes, func.count()).where(
        or_(*owes.values()), w.within(Case.received_at)
    )
    both = _run(scope.cases(stmt).group_by(flag, *outcomes))
    out: dict[str, Counts] = {kind: {} for kind, _ in _NOTICES}
    for (bucket, *per_kind), n in both.items():
        for (kind, _), outcome in zip(_NOTICES, per_kind, strict=True):
            if outcome is not None:
                counts = out[kind]
                counts[(bucket, outcome)] = counts.get((bucket, outcome), 0) + n
    return out


def _follow_ups(scope: Scope, w: Window) -> Counts:
    follow_outcome = case(
        (FollowUp.status == "missed", literal("not_met")),
        (and_(FollowUp.status == "done", FollowUp.done_at > FollowUp.due_at), literal("late")),
        (FollowUp.status == "done", literal("on_time")),
        (due_passed(FollowUp.due_at, 0), literal("not_met")),
        else_=literal("pending"),
    )
    flag = w.flag(FollowUp.due_at)
    stmt = (
        select(flag, follow_outcome, func.count())
        .join(Case, Case.id == FollowUp.case_id)
        .where(w.within(FollowUp.due_at))
    )
    return _run(scope.cases(stmt).group_by(flag, follow_outcome))


def raw_counts(scope: Scope, w: Window) -> dict[str, Counts]:
    """Every figure's counts {(bucket, code): n}, keyed by table (deadline groups as
    "deadlines:<kind>"). The bucket is "c"/"p" for a report, a month for the summary."""
    cases = case_columns(scope, w)
    people = victims(scope, w)
    sent = referrals(scope, w)
    notices = _notifications(scope, w)
    return {
        "units": by_unit(scope, cases),
        "types": types(scope, w),
        "severity": _by(cases, 2),
        "source": _by(cases, 3),
        "status": _by(cases, 4),
        "closures": closures(scope, w),
        "victim_sex": _by(people, 1),
        "victim_age": _by(people, 2),
        "relationships": relationships(scope, w),
        "escalations": escalations(scope, w),
        "quick_reports": quick_reports(scope, w),
        "referral_kind": _by(sent, 1),
        "referral_result": _by(sent, 2),
        "services": services(scope, w),
        "deadlines:notify_commune_chair": notices["notify_commune_chair"],
        "deadlines:report_child_abuse": notices["report_child_abuse"],
        "deadlines:referral_answer": _by(sent, 3),
        "deadlines:follow_up": _follow_ups(scope, w),
    }
