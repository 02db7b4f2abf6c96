"""The monthly summary: rebuild it from the live queries, and read reports from it.

Rebuilding runs the report's own queries (casework.reports.figures) once per child of the root and
once for the root's own cases, with each local month as the bucket instead of "this period" and
"the previous one": so a report read from the summary has exactly the figures a live report had at
the moment of the refresh. Outcomes that depend on the clock (a deadline not yet due) are as of then.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, insert, literal, select

from casework.accounts.models import Unit
from casework.cases.models import Case
from casework.db import utcnow
from casework.extensions import db
from casework.reports import figures
from casework.reports.models import ReportMonthStat, ReportRefresh
from casework.reports.periods import Period, report_tz


class MonthWindow:
    """A "window" whose buckets are local months ("2026-04"), over all time."""

    def __init__(self) -> None:
        offset = datetime.now(report_tz()).utcoffset()
        self.minutes = int(offset.total_seconds() // 60) if offset else 0
        self.tz = str(report_tz())

    def within(self, column: Any) -> ColumnElement[bool]:
        return column.is_not(None)

    within_days = within

    def flag(self, column: Any) -> Any:
        if db.engine.dialect.name == "sqlite":
            # Vietnam keeps one offset all year (no daylight saving), so a fixed shift is exact.
            return func.strftime("%Y-%m", column, f"{self.minutes:+d} minutes").label("flag")
        return func.to_char(func.timezone(self.tz, column), "YYYY-MM").label("flag")

    def flag_days(self, column: Any) -> Any:
        if db.engine.dialect.name == "sqlite":
            return func.strftime("%Y-%m", column).label("flag")
        return func.to_char(column, "YYYY-MM").label("flag")


class OwnScope:
    """The root unit's own cases only (its children are summarised on their own)."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.tops = {unit.id: unit.id}

    def cases(self, stmt: Any) -> Any:
        return stmt.where(Case.owning_unit_id == self.unit.id)


def _root() -> Unit | None:
    roots = list(db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).limit(2)))
    return roots[0] if len(roots) == 1 else None


def _stat_rows(
    unit_id: int, scope: str, raw: dict[str, figures.Counts]
) -> Iterator[dict[str, Any]]:
    for figure, counts in raw.items():
        for (month, code), n in counts.items():
            if month is not None and n:
                yield {
                    "unit_id": unit_id,
                    "scope": scope,
                    "month": month,
                    "figure": figure,
                    "code": "" if code is None else str(code),
                    "n": n,
                }


def refresh() -> int:
    """Rebuild the whole summary in the caller's transaction; the number of rows written."""
    from casework.reports.service import Scope

    root = _root()
    db.session.execute(delete(ReportMonthStat))
    written = 0
    if root is not None:
        window = MonthWindow()
        parts: list[tuple[Any, str]] = [(OwnScope(root), "own")]
        for child in db.session.scalars(select(Unit).where(Unit.parent_id == root.id)):
            parts.append((Scope(child, "recorded"), "subtree"))
        for scope, kind in parts:
            rows = list(_stat_rows(scope.unit.id, kind, figures.raw_counts(scope, window)))
            for start in range(0, len(rows), 5000):
                db.session.execute(insert(ReportMonthStat), rows[start : start + 5000])
            written += len(rows)
    db.session.add(ReportRefresh(refreshed_at=utcnow(), rows=written))
    db.session.flush()
    return written


def _months(period: Period) -> list[str]:
    out, day = [], date(period.start.year, period.start.month, 1)
    while day <= period.end:
        out.append(f"{day.year}-{day.month:02d}")
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return out


def last_refresh() -> datetime | None:
    return db.session.scalar(select(func.max(ReportRefresh.refreshed_at)))


def counts_for(
    unit: Unit, period: Period, grouping: str, *, previous_only: bool = False
) -> tuple[dict[str, figures.Counts], datetime] | None:
    """The report's counts from the summary, with the time they are as of; None when the summary
    cannot answer (a range, grouping under successors, a unit below a province, a period not yet
    over at the last refresh): the report is then computed live. `previous_only`: the counts of
    the period before only (the report's "previous" column), for a period still running."""
    if grouping != "recorded" or period.kind == "range":
        return None
    root = _root()
    if root is None or (unit.id != root.id and unit.parent_id != root.id):
        return None
    as_of = last_refresh()
    needed = period.previous() if previous_only else period
    if as_of is None or as_of.astimezone(report_tz()).date() <= needed.end:
        return None
    current = [] if previous_only else _months(period)
    previous = _months(period.previous())
    month = ReportMonthStat.month
    bucket = (
        literal("p")
        if previous_only
        else case((month.in_(current), literal("c")), else_=literal("p"))
    )
    where = [month.in_(current + previous)]
    if unit.id != root.id:
        where += [ReportMonthStat.unit_id == unit.id, ReportMonthStat.scope == "subtree"]
    else:
        # The children's own "by unit" rows are one level too deep for the root's report.
        where.append(ReportMonthStat.figure != "units")
    stmt = (
        select(bucket, ReportMonthStat.figure, ReportMonthStat.code, func.sum(ReportMonthStat.n))
        .where(*where)
        .group_by(bucket, ReportMonthStat.figure, ReportMonthStat.code)
    )
    raw: dict[str, figures.Counts] = {}
    for flag, figure, code, n in db.session.execute(stmt):
        raw.setdefault(figure, {})[(flag, _code(figure, code))] = int(n)
    if unit.id == root.id:
        # The root's "by unit" row of each child is that child's total (its severity rows).
        top = case(
            (ReportMonthStat.scope == "own", literal(root.id)), else_=ReportMonthStat.unit_id
        )
        totals = (
            select(bucket, top, func.sum(ReportMonthStat.n))
            .where(*where, ReportMonthStat.figure == "severity")
            .group_by(bucket, top)
        )
        raw["units"] = {(flag, uid): int(n) for flag, uid, n in db.session.execute(totals)}
    return raw, as_of


def _code(figure: str, code: str) -> Any:
    """Codes as the live queries give them: None for "", unit ids as integers."""
    if code == "":
        return None
    if figure == "units":
        return int(code)
    return code
