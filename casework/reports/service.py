"""The periodic report (DESIGN.md §8): figures for a unit's subtree and a period, beside the
previous period of the same length.

Every figure is a GROUP BY in the database over plain statistics columns (codes, flags, times);
no case, person or encrypted value is loaded into Python and nothing is decrypted. Each query
covers both periods at once (a CASE on the time column says which), so a report is about a dozen
queries whatever its size. A case counts in the report of the unit that received it (its owning
unit) and of every unit above: escalation moves the handling, not the statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, bindparam, case, literal, select

from casework import audit
from casework.accounts.models import Unit, User
from casework.audit import Tag
from casework.cases.models import Case
from casework.db import utcnow
from casework.extensions import db
from casework.policy import Permission, require
from casework.reports import figures, layout, summary
from casework.reports.periods import Period
from casework.reports.scope import covers_everything, only_own_unit, unit_tree
from casework.reports.tables import Table, apply_suppression


@dataclass
class Report:
    unit: Unit
    period: Period
    previous: Period
    grouping: str
    tables: list[Table]
    total_current: int
    total_previous: int
    suppressed: bool
    threshold: int
    generated_at: datetime
    # Set when the figures come from the monthly summary: the time they are as of.
    as_of: datetime | None = None
    # Set when only the previous period's figures come from the summary (this one is live).
    previous_as_of: datetime | None = None


class Window:
    """Both periods' bounds, and the CASE that tells which one a time falls in."""

    def __init__(self, period: Period) -> None:
        self.period = period
        self.prev = period.previous()
        self.start, self.end = period.bounds()
        self.prev_start, _ = self.prev.bounds()

    def within(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.prev_start, column < self.end)

    def flag(self, column: Any) -> Any:
        return case((column >= self.start, literal("c")), else_=literal("p")).label("flag")

    def within_days(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.prev.start, column <= self.period.end)

    def flag_days(self, column: Any) -> Any:
        return case((column >= self.period.start, literal("c")), else_=literal("p")).label("flag")


class CurrentWindow(Window):
    """The report's own period only (the previous one comes from the monthly summary)."""

    def within(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)

    def flag(self, column: Any) -> Any:
        return literal("c").label("flag")

    def within_days(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.period.start, column <= self.period.end)

    def flag_days(self, column: Any) -> Any:
        return literal("c").label("flag")


class Scope:
    """Limits a query to the cases of the report's units, and maps units to the report's rows."""

    def __init__(self, unit: Unit, grouping: str) -> None:
        self.unit = unit
        tree = unit_tree(unit.id, grouping)
        self.everything = covers_everything(unit)
        # Every unit counted, and the report's row it is counted under: read once.
        self.tops: dict[int, int] = dict(db.session.execute(select(tree.c.id, tree.c.top)).all())
        # The ids as values, not a subquery: both databases then range-scan the owning unit's
        # index per unit instead of scanning every case of the period.
        self.ids = [] if self.everything else list(self.tops)
        # One parameter holding the list (expanded when the statement runs), not one bound
        # literal per unit in each of the report's statements.
        self._ids = bindparam("scope_ids", value=self.ids, expanding=True, unique=True)

    def cases(self, stmt: Select[Any]) -> Select[Any]:
        if self.everything:
            return stmt
        return stmt.where(Case.owning_unit_id.in_(self._ids))


def authorise(user: User, unit: Unit) -> None:
    """REPORT_VIEW, for a unit the user may report on: her own, or (reviewers) one of her subtree.
    Refusals are audited by the error page."""
    require(user, Permission.REPORT_VIEW)
    require(user, Permission.REPORT_VIEW, unit)


def threshold_for(user: User, unit: Unit, grouping: str) -> int:
    """The suppression threshold: none (1) for a report of the user's own unit alone."""
    if unit.id == user.unit_id and only_own_unit(unit.id, grouping):
        return 1
    return int(current_app.config.get("REPORT_SUPPRESS_BELOW", 5))


def build_report(user: User, unit: Unit, period: Period, grouping: str) -> Report:
    """The figures of DESIGN.md §8 for the unit's subtree, without recording anything."""
    authorise(user, unit)
    window = Window(period)
    from_summary = summary.counts_for(unit, period, grouping)
    previous_as_of = None
    if from_summary is not None:
        raw, as_of = from_summary
    elif (earlier := summary.counts_for(unit, period, grouping, previous_only=True)) is not None:
        # A period still running: its own figures live, the period before from the summary
        # (half the rows to count, and those of the busier, finished period).
        counted = figures.raw_counts(Scope(unit, grouping), CurrentWindow(period))
        before, previous_as_of = earlier
        raw = {
            name: {**counted.get(name, {}), **before.get(name, {})}
            for name in counted.keys() | before.keys()
        }
        as_of = None
    else:
        raw, as_of = figures.raw_counts(Scope(unit, grouping), window), None
    tables, totals = layout.build_tables(unit, raw)
    threshold = threshold_for(user, unit, grouping)
    for table in tables:
        apply_suppression(table, threshold)
    return Report(
        unit=unit,
        period=period,
        previous=window.prev,
        grouping=grouping,
        tables=tables,
        total_current=totals[0],
        total_previous=totals[1],
        suppressed=threshold > 1,
        threshold=threshold,
        generated_at=utcnow(),
        as_of=as_of,
        previous_as_of=previous_as_of,
    )


def view_report(user: User, unit: Unit, period: Period, grouping: str) -> Report:
    """Build the report and record that it was seen: the unit and period only."""
    report = build_report(user, unit, period, grouping)
    audit.record(user, Tag.REPORT_VIEW, unit, period=period.slug, grouping=grouping)
    return report


def record_export(user: User, report: Report, fmt: str) -> None:
    audit.record(
        user,
        Tag.REPORT_EXPORT,
        report.unit,
        period=report.period.slug,
        grouping=report.grouping,
        format=fmt,
    )
