"""The monthly summary gives exactly the live figures, and only where it can."""

from __future__ import annotations

from casework.cases.support import local_today
from casework.extensions import db
from casework.reports import figures, layout, service, summary
from casework.reports.periods import Period
from tests.conftest import make_user
from tests.reports.test_figures import merged, spring  # noqa: F401 (fixtures)

APRIL = Period.calendar("month", 2026, 4)


def _live(unit, period):  # type: ignore[no-untyped-def]
    window = service.Window(period)
    tables, totals = layout.build_tables(
        unit, figures.raw_counts(service.Scope(unit, "recorded"), window)
    )
    return {
        (t.key, r.group, r.key): (r.current, r.previous) for t in tables for r in t.rows
    }, totals


def _shown(report):  # type: ignore[no-untyped-def]
    rows = {(t.key, r.group, r.key): (r.current, r.previous) for t in report.tables for r in t.rows}
    return rows, (report.total_current, report.total_previous)


def test_province_and_national_reports_from_the_summary_equal_the_live_ones(spring):  # type: ignore[no-untyped-def]  # noqa: F811
    reviewer_tw = make_user("reviewer.tw", "reviewer", spring["TW"])
    summary.refresh()
    db.session.commit()
    for user, unit, period in (
        (spring["reviewer_hy"], spring["HY"], APRIL),
        (reviewer_tw, spring["TW"], APRIL),
        (reviewer_tw, spring["TW"], Period.calendar("quarter", 2026, 2)),
    ):
        report = service.build_report(user, unit, period, "recorded")
        assert report.as_of is not None
        assert _shown(report) == _live(unit, period)
    assert service.build_report(reviewer_tw, spring["TW"], APRIL, "recorded").total_current == 3


def test_live_figures_where_the_summary_cannot_answer(spring):  # type: ignore[no-untyped-def]  # noqa: F811
    summary.refresh()
    db.session.commit()
    org = spring
    # A district is below a province; a range is not whole months; this month is not over.
    assert service.build_report(org["reviewer_d1"], org["D1"], APRIL, "recorded").as_of is None
    days = Period.between(APRIL.start, APRIL.end)
    assert service.build_report(org["reviewer_hy"], org["HY"], days, "recorded").as_of is None
    today = local_today()
    now = Period.calendar("month", today.year, today.month)
    assert service.build_report(org["reviewer_hy"], org["HY"], now, "recorded").as_of is None
    assert service.build_report(org["reviewer_hy"], org["HY"], APRIL, "successor").as_of is None


def test_reorganised_units_in_the_summary_count_as_recorded(merged):  # type: ignore[no-untyped-def]  # noqa: F811
    summary.refresh()
    db.session.commit()
    february = Period.calendar("month", 2026, 2)
    report = service.build_report(merged["reviewer_hy"], merged["HY"], february, "recorded")
    assert report.as_of is not None
    assert _shown(report) == _live(merged["HY"], february)


def test_a_running_period_counts_itself_live_and_takes_the_one_before_from_the_summary(spring):  # type: ignore[no-untyped-def]  # noqa: F811
    """A report of this month: the same figures as a wholly live one, with the previous month
    read from the summary; a case recorded after the refresh counts at once."""
    from datetime import UTC, datetime, time, timedelta

    from casework.db import utcnow
    from casework.reports.periods import report_tz
    from tests.cases.conftest import open_case

    org = spring
    today = local_today()
    now = Period.calendar("month", today.year, today.month)
    # Cases of this month and of the month before, recorded before the summary's refresh.
    last_month = datetime.combine(now.start - timedelta(days=3), time(5), tzinfo=UTC)
    # Within this month however early in it the test runs (the month starts at local midnight).
    month_start = datetime.combine(now.start, time(0), tzinfo=report_tz()).astimezone(UTC)
    this_month = max(month_start, utcnow() - timedelta(minutes=30))
    for received in (this_month, last_month):
        open_case(org["officer_c1"], received_at=received)
    summary.refresh()
    db.session.commit()
    report = service.build_report(org["reviewer_hy"], org["HY"], now, "recorded")
    assert report.as_of is None and report.previous_as_of is not None
    assert _shown(report) == _live(org["HY"], now)
    assert report.total_previous >= 1 and report.total_current >= 1

    before = report.total_current
    open_case(org["officer_c1"], received_at=this_month)
    db.session.commit()
    report = service.build_report(org["reviewer_hy"], org["HY"], now, "recorded")
    assert report.total_current == before + 1
    assert _shown(report) == _live(org["HY"], now)
    # Where the summary cannot answer for the month before either, all is live.
    assert (
        service.build_report(org["reviewer_d1"], org["D1"], now, "recorded").previous_as_of is None
    )
