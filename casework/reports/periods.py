"""Reporting periods: a month, quarter, half-year, year or any range of local dates.

A period is a pair of dates in Vietnam's time zone (config TIMEZONE, else BABEL_DEFAULT_TIMEZONE),
both inclusive; its bounds in UTC run from the first day's local midnight to the local midnight after
the last day. "The previous period" has the same length and ends the day before this one starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

KINDS = ("month", "quarter", "half", "year", "range")
# Months in each kind of period, for the calendar kinds.
_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}
# The longest range a report covers: ten years is already more than any reporting duty.
MAX_RANGE_DAYS = 3660


def report_tz() -> ZoneInfo:
    return ZoneInfo(
        current_app.config.get("TIMEZONE") or current_app.config["BABEL_DEFAULT_TIMEZONE"]
    )


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # first day, local
    end: date  # last day, local, inclusive

    @classmethod
    def calendar(cls, kind: str, year: int, number: int = 1) -> Period:
        """Month `number` (1–12), quarter (1–4), half (1–2) or the year itself."""
        months = _MONTHS[kind]
        if not 1 <= number <= 12 // months:
            raise ValueError(f"no {kind} number {number}")
        start = date(year, (number - 1) * months + 1, 1)
        return cls(kind, start, _add_months(start, months) - timedelta(days=1))

    @classmethod
    def between(cls, start: date, end: date) -> Period:
        if end < start or (end - start).days >= MAX_RANGE_DAYS:
            raise ValueError("a range ends after it starts and covers at most ten years")
        return cls("range", start, end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def number(self) -> int:
        return (self.start.month - 1) // _MONTHS.get(self.kind, 12) + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        if self.kind in _MONTHS:
            start = _add_months(self.start, -_MONTHS[self.kind])
            return Period(self.kind, start, self.start - timedelta(days=1))
        return Period(
            "range", self.start - timedelta(days=self.days), self.start - timedelta(days=1)
        )

    def bounds(self) -> tuple[datetime, datetime]:
        """[from, to) in UTC: local midnight of the first day to local midnight after the last."""
        tz = report_tz()
        first = datetime.combine(self.start, time(0), tzinfo=tz)
        after = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz)
        return first.astimezone(UTC), after.astimezone(UTC)

    @property
    def slug(self) -> str:
        """A short name for file names and the audit log: 2026-03, 2026-Q1, 2026-H2, 2026."""
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{self.number}"
        if self.kind == "half":
            return f"{self.start.year}-H{self.number}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start.isoformat()}_{self.end.isoformat()}"
