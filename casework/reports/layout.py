"""From counts to the report's tables: titles, row labels in reading order, zeros included.

The counts come either from the live queries (casework.reports.figures) or from the monthly summary
(casework.reports.summary); both give {(bucket, code): n} per table, bucket "c" for this period and
"p" for the previous one, so the tables, their suppression and their exports are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from casework.accounts.models import Unit
from casework.cases import vocab
from casework.cases.workflow.forms import CLOSURE_REASON_LABELS
from casework.cases.workflow.timers import LABELS as DEADLINE_LABELS
from casework.extensions import db
from casework.labels import PARTNER_KIND_LABELS
from casework.reports.figures import DEADLINE_KINDS
from casework.reports.tables import Group, Row, Table

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
TYPE_LABELS = {code: label for code, (label, _subs) in vocab.CASE_TYPES.items()}
NOT_RECORDED = _l("Not recorded")

# key, title, row labels, rows add up to the total, note.
SIMPLE: list[tuple[str, Any, Mapping[Any, object], bool, Any]] = [
    (
        "types",
        _l("Cases received, by type"),
        TYPE_LABELS,
        False,
        _l("A case can have several types: the rows do not add up to the total."),
    ),
    ("severity", _l("Cases received, by severity"), SEVERITY_LABELS, True, ""),
    ("source", _l("Cases received, by source"), vocab.SOURCES, True, ""),
    ("status", _l("Cases received, by status today"), vocab.STATUSES, True, ""),
    ("closures", _l("Cases closed, by outcome"), CLOSURE_REASON_LABELS, True, ""),
    ("victim_sex", _l("Victims, by sex"), vocab.SEXES, True, ""),
    ("victim_age", _l("Victims, by age band"), AGE_BAND_LABELS, True, ""),
    (
        "relationships",
        _l("Alleged perpetrators, by relationship to the victim"),
        vocab.RELATIONSHIPS,
        True,
        "",
    ),
    ("escalations", _l("Escalations and take-overs, by result"), ESCALATION_LABELS, True, ""),
    ("quick_reports", _l("Quick reports due (cases classified in the period)"), OUTCOMES, True, ""),
    ("referral_kind", _l("Referrals sent, by kind of partner"), PARTNER_KIND_LABELS, True, ""),
    ("referral_result", _l("Referrals sent, by result"), REFERRAL_LABELS, True, ""),
    (
        "services",
        _l("Services delivered (ended in the period), by service"),
        vocab.SERVICES,
        True,
        "",
    ),
]


def rows(counts: Counts, labels: Mapping[Any, object], group: str = "") -> list[Row]:
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


def _group(key: str, label: object, rs: list[Row]) -> Group:
    return Group(key, str(label), rs, sum(r.current for r in rs), sum(r.previous for r in rs))


def single(
    key: str,
    title: object,
    counts: Counts,
    labels: Mapping[Any, object],
    *,
    adds_up: bool = True,
    note: object = "",
) -> Table:
    group = _group("", "", rows(counts, labels))
    return Table(key, str(title), [group], adds_up=adds_up, note=str(note))


def _unit_labels(unit: Unit, counts: Counts) -> dict[Any, object]:
    tops = {k[1] for k in counts}
    stmt = select(Unit.id, Unit.name).where(or_(Unit.parent_id == unit.id, Unit.id.in_(tops)))
    labels: dict[Any, object] = {unit.id: _l("%(unit)s (own cases)", unit=unit.name)}
    for uid, name in db.session.execute(stmt.order_by(Unit.code)):
        if uid != unit.id:
            labels[uid] = name
    return labels


def build_tables(unit: Unit, raw: dict[str, Counts]) -> tuple[list[Table], tuple[int, int]]:
    """Every table of the report in reading order, and the cases received in each period."""
    units = raw.get("units", {})
    tables = [single("units", _l("Cases received, by unit"), units, _unit_labels(unit, units))]
    for key, title, labels, adds_up, note in SIMPLE:
        tables.append(single(key, title, raw.get(key, {}), labels, adds_up=adds_up, note=note))
    groups = [
        _group(kind, DEADLINE_LABELS[kind], rows(raw.get(f"deadlines:{kind}", {}), OUTCOMES, kind))
        for kind in DEADLINE_KINDS
    ]
    tables.append(Table("deadlines", str(_l("Deadline compliance")), groups))
    severity = raw.get("severity", {})
    totals = (
        sum(n for k, n in severity.items() if k[0] == "c"),
        sum(n for k, n in severity.items() if k[0] == "p"),
    )
    return tables, totals
