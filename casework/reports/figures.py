"""The queries behind each table of the report: one GROUP BY per figure, both periods at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from casework.accounts.models import Unit
from casework.cases import vocab
from casework.cases.models import Action, Case, CaseType, FollowUp, Person, Relationship, Support
from casework.cases.workflow.forms import CLOSURE_REASON_LABELS
from casework.cases.workflow.models import Escalation, QuickReport
from casework.db import utcnow
from casework.extensions import db
from casework.labels import PARTNER_KIND_LABELS
from casework.referrals.models import Partner, Referral
from casework.reports.tables import Group, Row, Table

if TYPE_CHECKING:
    from casework.reports.service import Scope, Window

Counts = dict[tuple[Any, ...], int]

OUTCOMES = {
    "on_time": _l("Met on time"),
    "late": _l("Met late"),
    "not_met": _l("Not met, overdue"),
    "pending": _l("Not yet due"),
}
ESCALATION_LABELS = {
    "pending": _l("Waiting for an answer"),
    "accepted": _l("Accepted"),
    "returned": _l("Returned with guidance"),
    "withdrawn": _l("Withdrawn"),
}
REFERRAL_LABELS = {
    "sent": _l("Sent, waiting for an answer"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "in_service": _l("In service"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
}
AGE_BAND_LABELS = {band: band for band in vocab.AGE_BANDS}
SEVERITY_LABELS = {**vocab.SEVERITIES, None: _l("Not classified yet")}
# "A is B's spouse" read the other way round: the perpetrator's relation to the victim.
INVERSE = {"parent": "child", "child": "parent", "step_parent": "child", "employer": "other"}
NOT_RECORDED = _l("Not recorded")


def _rows(counts: Counts, labels: Mapping[Any, object], group: str = "") -> list[Row]:
    """Rows for every known code (zeros too, so tables compare) then any other code found."""
    codes = list(labels) + sorted(
        {k[1] for k in counts if k[1] not in labels}, key=lambda c: (c is None, str(c))
    )
    return [
        Row(
            key="" if code is None else str(code),
            label=str(labels.get(code, NOT_RECORDED if code is None else code)),
            current=counts.get(("c", code), 0),
            previous=counts.get(("p", code), 0),
            group=group,
        )
        for code in codes
    ]


def _single(
    key: str,
    title: object,
    counts: Counts,
    labels: Mapping[Any, object],
    *,
    adds_up: bool = True,
    note: object = "",
) -> Table:
    rows = _rows(counts, labels)
    group = Group("", "", rows, sum(r.current for r in rows), sum(r.previous for r in rows))
    return Table(key, str(title), [group], adds_up=adds_up, note=str(note))


def _by(counts: Counts, position: int) -> Counts:
    """Roll a multi-key count up to (flag, key at position)."""
    out: Counts = {}
    for keys, n in counts.items():
        k = (keys[0], keys[position])
        out[k] = out.get(k, 0) + n
    return out


def _run(stmt: Any) -> Counts:
    from casework.reports.service import grouped

    return grouped(stmt)


def case_columns(scope: Scope, w: Window) -> Counts:
    """Cases received in each period by severity, source and status: one scan."""
    flag = w.flag(Case.received_at)
    stmt = select(flag, Case.severity, Case.source, Case.status, func.count()).where(
        w.within(Case.received_at)
    )
    stmt = scope.cases(stmt).group_by(flag, Case.severity, Case.source, Case.status)
    return _run(stmt)


def by_unit(scope: Scope, w: Window) -> Table:
    tree = scope.tree
    flag = w.flag(Case.received_at)
    stmt = (
        select(flag, tree.c.top, func.count())
        .join(tree, tree.c.id == Case.owning_unit_id)
        .where(w.within(Case.received_at))
        .group_by(flag, tree.c.top)
    )
    counts = _run(stmt)
    tops = {k[1] for k in counts}
    children = select(Unit.id, Unit.name).where(
        or_(Unit.parent_id == scope.unit.id, Unit.id.in_(tops))
    )
    names = {uid: name for uid, name in db.session.execute(children.order_by(Unit.code))}
    labels = {scope.unit.id: _l("%(unit)s (own cases)", unit=scope.unit.name)}
    labels.update({uid: name for uid, name in names.items() if uid != scope.unit.id})
    return _single("units", _l("Cases received, by unit"), counts, labels)


def types(scope: Scope, w: Window) -> Table:
    from casework.reports.service import main_type

    flag = w.flag(Case.received_at)
    main = main_type()
    stmt = (
        select(flag, main, func.count(func.distinct(Case.id)))
        .join(CaseType, CaseType.case_id == Case.id)
        .where(w.within(Case.received_at))
    )
    stmt = scope.cases(stmt).group_by(flag, main)
    labels = {code: label for code, (label, _subs) in vocab.CASE_TYPES.items()}
    return _single(
        "types",
        _l("Cases received, by type"),
        _run(stmt),
        labels,
        adds_up=False,
        note=_l("A case can have several types: the rows do not add up to the total."),
    )


def closures(scope: Scope, w: Window) -> Table:
    flag = w.flag(Case.closed_at)
    stmt = select(flag, Case.closure_outcome, func.count()).where(
        Case.status == "closed", w.within(Case.closed_at)
    )
    stmt = scope.cases(stmt).group_by(flag, Case.closure_outcome)
    return _single("closures", _l("Cases closed, by outcome"), _run(stmt), CLOSURE_REASON_LABELS)


def victims(scope: Scope, w: Window) -> Counts:
    flag = w.flag(Case.received_at)
    stmt = (
        select(flag, Person.sex, Person.age_band, func.count())
        .join(Case, Case.id == Person.case_id)
        .where(Person.role == "victim", w.within(Case.received_at))
    )
    return _run(scope.cases(stmt).group_by(flag, Person.sex, Person.age_band))


def relationships(scope: Scope, w: Window) -> Table:
    """Each perpetrator–victim pair once, as the perpetrator's relation to the victim."""
    p, o = aliased(Person), aliased(Person)
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
    return _single(
        "relationships",
        _l("Alleged perpetrators, by relationship to the victim"),
        _run(stmt),
        vocab.RELATIONSHIPS,
    )


def escalations(scope: Scope, w: Window) -> Table:
    flag = w.flag(Escalation.requested_at)
    stmt = (
        select(flag, Escalation.status, func.count())
        .join(Case, Case.id == Escalation.case_id)
        .where(w.within(Escalation.requested_at))
    )
    stmt = scope.cases(stmt).group_by(flag, Escalation.status)
    return _single(
        "escalations",
        _l("Escalations and take-overs, by result"),
        _run(stmt),
        ESCALATION_LABELS,
    )


def _outcome(done: Any, start: Any, hours: float) -> Any:
    """on_time / late / not_met / pending for a deadline `hours` after `start`."""
    from casework.reports.service import due_passed, later_than

    return case(
        (and_(done.is_(None), due_passed(start, hours)), literal("not_met")),
        (done.is_(None), literal("pending")),
        (later_than(done, start, hours), literal("late")),
        else_=literal("on_time"),
    )


def quick_reports(scope: Scope, w: Window) -> Table:
    """Cases classified in the period at a severity that needs a quick report."""
    hours = float(current_app.config["QUICK_REPORT_HOURS"])
    first = (
        select(func.min(QuickReport.sent_at))
        .where(QuickReport.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    outcome = _outcome(first, Case.classified_at, hours)
    flag = w.flag(Case.classified_at)
    stmt = select(flag, outcome, func.count()).where(
        Case.severity.in_(current_app.config["QUICK_REPORT_SEVERITIES"]),
        w.within(Case.classified_at),
    )
    return _single(
        "quick_reports",
        _l("Quick reports due (cases classified in the period)"),
        _run(scope.cases(stmt).group_by(flag, outcome)),
        OUTCOMES,
    )


def referrals(scope: Scope, w: Window) -> Counts:
    flag = w.flag(Referral.sent_at)
    stmt = (
        select(flag, Partner.kind, Referral.status, func.count())
        .join(Partner, Partner.id == Referral.partner_id)
        .join(Case, Case.id == Referral.case_id)
        .where(w.within(Referral.sent_at))
    )
    return _run(scope.cases(stmt).group_by(flag, Partner.kind, Referral.status))


def services(scope: Scope, w: Window) -> Table:
    flag = w.flag_days(Support.ended_on)
    stmt = (
        select(flag, Support.service, func.count())
        .join(Case, Case.id == Support.case_id)
        .where(Support.status == "delivered", w.within_days(Support.ended_on))
    )
    return _single(
        "services",
        _l("Services delivered (ended in the period), by service"),
        _run(scope.cases(stmt).group_by(flag, Support.service)),
        vocab.SERVICES,
    )


def _notification(
    scope: Scope, w: Window, kind: str, cases_of: Any, authorities: Iterable[str]
) -> Counts:
    later = aliased(Action)
    first = (
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
    hours = float(current_app.config["DEADLINE_HOURS"][kind])
    outcome = _outcome(first, Case.received_at, hours)
    flag = w.flag(Case.received_at)
    stmt = select(flag, outcome, func.count()).where(cases_of, w.within(Case.received_at))
    return _run(scope.cases(stmt).group_by(flag, outcome))


def _deadline_rows(scope: Scope, w: Window) -> list[tuple[str, object, Counts]]:
    from casework.reports.service import due_passed

    dv = exists().where(
        CaseType.case_id == Case.id,
        or_(CaseType.code == "domestic_violence", CaseType.code.like("domestic_violence.%")),
    )
    child_abuse = exists().where(
        CaseType.case_id == Case.id,
        or_(CaseType.code == "child_abuse", CaseType.code.like("child_abuse.%")),
    )
    from casework.cases.workflow.timers import LABELS

    out = [
        (
            "notify_commune_chair",
            LABELS["notify_commune_chair"],
            _notification(scope, w, "notify_commune_chair", dv, ["commune_committee"]),
        ),
        (
            "report_child_abuse",
            LABELS["report_child_abuse"],
            _notification(
                scope,
                w,
                "report_child_abuse",
                or_(Case.child_involved.is_(True), child_abuse),
                ["hotline_111", "police", "commune_committee"],
            ),
        ),
    ]
    answered = func.coalesce(Referral.answered_at, Referral.withdrawn_at)
    referral_outcome = case(
        (and_(answered.is_(None), Referral.answer_due_at < utcnow()), literal("not_met")),
        (answered.is_(None), literal("pending")),
        (answered > Referral.answer_due_at, literal("late")),
        else_=literal("on_time"),
    )
    flag = w.flag(Referral.sent_at)
    stmt = (
        select(flag, referral_outcome, func.count())
        .join(Case, Case.id == Referral.case_id)
        .where(w.within(Referral.sent_at))
    )
    out.append(
        (
            "referral_answer",
            LABELS["referral_answer"],
            _run(scope.cases(stmt).group_by(flag, referral_outcome)),
        )
    )
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
    out.append(
        ("follow_up", LABELS["follow_up"], _run(scope.cases(stmt).group_by(flag, follow_outcome)))
    )
    return out


def deadlines(scope: Scope, w: Window) -> Table:
    groups = []
    for key, label, counts in _deadline_rows(scope, w):
        rows = _rows(counts, OUTCOMES, group=key)
        groups.append(
            Group(
                key, str(label), rows, sum(r.current for r in rows), sum(r.previous for r in rows)
            )
        )
    return Table("deadlines", str(_l("Deadline compliance")), groups)


def all_tables(scope: Scope, w: Window) -> tuple[list[Table], tuple[int, int]]:
    """Every table of the report, in reading order, and the cases received in each period."""
    cases = case_columns(scope, w)
    people = victims(scope, w)
    sent = referrals(scope, w)
    total = (
        sum(n for k, n in cases.items() if k[0] == "c"),
        sum(n for k, n in cases.items() if k[0] == "p"),
    )
    tables = [
        by_unit(scope, w),
        types(scope, w),
        _single("severity", _l("Cases received, by severity"), _by(cases, 1), SEVERITY_LABELS),
        _single("source", _l("Cases received, by source"), _by(cases, 2), vocab.SOURCES),
        _single("status", _l("Cases received, by status today"), _by(cases, 3), vocab.STATUSES),
        closures(scope, w),
        _single("victim_sex", _l("Victims, by sex"), _by(people, 1), vocab.SEXES),
        _single("victim_age", _l("Victims, by age band"), _by(people, 2), AGE_BAND_LABELS),
        relationships(scope, w),
        escalations(scope, w),
        quick_reports(scope, w),
        _single(
            "referral_kind",
            _l("Referrals sent, by kind of partner"),
            _by(sent, 1),
            PARTNER_KIND_LABELS,
        ),
        _single("referral_result", _l("Referrals sent, by result"), _by(sent, 2), REFERRAL_LABELS),
        services(scope, w),
        deadlines(scope, w),
    ]
    return tables, total
