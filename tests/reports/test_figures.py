"""The report's figures against hand-computed fixtures (times in Vietnam's local time, UTC+7)."""

from __future__ import annotations

from datetime import date

import pytest

from casework.accounts import units
from casework.accounts import users as user_admin
from casework.extensions import db
from casework.policy import NotPermitted
from casework.reports import service
from casework.reports.periods import Period
from tests.conftest import make_unit, make_user
from tests.reports.conftest import add_perpetrator, case_at, local

APRIL = Period.calendar("month", 2026, 4)


def _table(report, key):  # type: ignore[no-untyped-def]
    return next(t for t in report.tables if t.key == key)


def _counts(report, key):  # type: ignore[no-untyped-def]
    """{row key: (this period, previous period)} for rows with anything in them."""
    return {
        r.key: (r.current, r.previous) for r in _table(report, key).rows if r.current or r.previous
    }


@pytest.fixture
def spring(org):  # type: ignore[no-untyped-def]
    """March: one case at C1 half an hour before local midnight on 31 March.
    April: one at C1 half an hour after that midnight, one child-abuse case from hotline 111 at
    C1, and one at C2."""
    c1, c2 = org["officer_c1"], org["officer_c2"]
    march = case_at(c1, local(2026, 3, 31, 23, 30), severity="S3")
    add_perpetrator(c1, march, "spouse")
    case_at(c1, local(2026, 4, 1, 0, 30), severity="S1")
    child = case_at(
        c1,
        local(2026, 4, 15, 9, 0),
        severity="S4",
        source="hotline_111",
        types=["child_abuse.physical"],
    )
    # Recorded the other way round: the victim is the man's child, so he is her parent.
    victim = next(p for p in child.people if p.role == "victim")
    from casework.cases import people

    man = people.add_person(c1, child, role="perpetrator", full_name="Lê Văn C", sex="male")
    people.add_relationship(c1, child, victim, man, "child")
    case_at(c2, local(2026, 4, 20, 14, 0), severity="S2")
    db.session.commit()
    return org


def test_month_boundary_is_local_midnight_in_vietnam(spring):  # type: ignore[no-untyped-def]
    report = service.build_report(spring["reviewer_hy"], spring["HY"], APRIL, "recorded")
    assert (report.total_current, report.total_previous) == (3, 1)
    assert _counts(report, "severity") == {"S1": (1, 0), "S2": (1, 0), "S3": (0, 1), "S4": (1, 0)}
    assert _counts(report, "source") == {"victim": (2, 1), "hotline_111": (1, 0)}
    assert _counts(report, "types") == {"domestic_violence": (2, 1), "child_abuse": (1, 0)}


def test_cases_by_unit_and_perpetrator_relationship(spring):  # type: ignore[no-untyped-def]
    report = service.build_report(spring["reviewer_hy"], spring["HY"], APRIL, "recorded")
    d1, d2 = str(spring["D1"].id), str(spring["D2"].id)
    assert _counts(report, "units") == {d1: (2, 1), d2: (1, 0)}
    # Both directions of recording give the perpetrator's relation to the victim.
    assert _counts(report, "relationships") == {"parent": (1, 0), "spouse": (0, 1)}
    assert _counts(report, "victim_sex") == {"female": (3, 1)}


def test_quick_report_of_a_serious_case_never_sent_is_overdue(spring):  # type: ignore[no-untyped-def]
    report = service.build_report(spring["reviewer_hy"], spring["HY"], APRIL, "recorded")
    assert _counts(report, "quick_reports") == {"not_met": (1, 1)}


def test_a_district_sees_only_its_subtree(spring):  # type: ignore[no-untyped-def]
    report = service.build_report(spring["reviewer_d2"], spring["D2"], APRIL, "recorded")
    assert (report.total_current, report.total_previous) == (1, 0)


def test_empty_period_gives_zeros_everywhere(spring):  # type: ignore[no-untyped-def]
    report = service.build_report(
        spring["reviewer_hy"], spring["HY"], Period.calendar("month", 2025, 6), "recorded"
    )
    assert (report.total_current, report.total_previous) == (0, 0)
    assert all(r.current == 0 and r.previous == 0 for t in report.tables for r in t.rows)


def test_quarter_and_range_compare_with_the_period_just_before(spring):  # type: ignore[no-untyped-def]
    q2 = service.build_report(
        spring["reviewer_hy"], spring["HY"], Period.calendar("quarter", 2026, 2), "recorded"
    )
    assert (q2.total_current, q2.total_previous) == (3, 1)
    # 1–15 April against the 15 days before it (17–31 March).
    days = Period.between(date(2026, 4, 1), date(2026, 4, 15))
    report = service.build_report(spring["reviewer_hy"], spring["HY"], days, "recorded")
    assert report.previous.start.isoformat() == "2026-03-17"
    assert (report.total_current, report.total_previous) == (2, 1)


@pytest.fixture
def merged(org):  # type: ignore[no-untyped-def]
    """Commune C3 under D2 received a case in February, then merged into C1 (under D1)."""
    c3 = make_unit("C3", "commune", org["D2"])
    officer = make_user("officer.c3", "officer", c3)
    case_at(officer, local(2026, 2, 10, 10, 0), severity="S2")
    user_admin.deactivate_user(None, officer)
    units.retire_unit(None, c3, org["C1"])
    db.session.commit()
    return {**org, "C3": c3}


FEBRUARY = Period.calendar("month", 2026, 2)


def test_merged_unit_counts_under_its_old_parent_as_recorded(merged):  # type: ignore[no-untyped-def]
    report = service.build_report(merged["reviewer_hy"], merged["HY"], FEBRUARY, "recorded")
    assert _counts(report, "units") == {str(merged["D2"].id): (1, 0)}
    d1 = service.build_report(merged["reviewer_d1"], merged["D1"], FEBRUARY, "recorded")
    assert d1.total_current == 0


def test_merged_unit_counts_under_its_successor_when_asked(merged):  # type: ignore[no-untyped-def]
    report = service.build_report(merged["reviewer_hy"], merged["HY"], FEBRUARY, "successor")
    assert _counts(report, "units") == {str(merged["D1"].id): (1, 0)}
    d1 = service.build_report(merged["reviewer_d1"], merged["D1"], FEBRUARY, "successor")
    assert d1.total_current == 1
    d2 = service.build_report(merged["reviewer_d2"], merged["D2"], FEBRUARY, "successor")
    assert d2.total_current == 0


def test_officer_reports_on_her_own_unit_only(spring):  # type: ignore[no-untyped-def]
    own = service.build_report(spring["officer_c1"], spring["C1"], APRIL, "recorded")
    assert own.total_current == 2
    with pytest.raises(NotPermitted):
        service.build_report(spring["officer_c1"], spring["D1"], APRIL, "recorded")
    with pytest.raises(NotPermitted):
        service.build_report(spring["officer_c1"], spring["C2"], APRIL, "recorded")


def test_reviewer_cannot_report_on_a_unit_outside_her_subtree(spring):  # type: ignore[no-untyped-def]
    with pytest.raises(NotPermitted):
        service.build_report(spring["reviewer_d1"], spring["D2"], APRIL, "recorded")
    with pytest.raises(NotPermitted):
        service.build_report(spring["reviewer_d1"], spring["HY"], APRIL, "recorded")
    with pytest.raises(NotPermitted):
        service.build_report(spring["admin"], spring["TW"], APRIL, "recorded")


def test_work_done_on_cases_is_counted_in_the_period_it_happened(org):  # type: ignore[no-untyped-def]
    """Closure, escalation and a delivered service this month; the cases were received last
    month, and the commune chair was told late then."""
    from datetime import timedelta

    from casework.cases import support, timeline
    from casework.cases.workflow import service as workflow

    officer = org["officer_c1"]
    today = support.local_today()
    month = Period.calendar("month", today.year, today.month)
    last = month.previous().start
    received = local(last.year, last.month, 20, 9)
    dv = case_at(officer, received, severity="S1")
    # Told 3 hours after receipt: the 1-hour deadline was met late.
    timeline.add_action(
        officer,
        dv,
        kind="notify_authority",
        authority="commune_committee",
        occurred_at=received + timedelta(hours=3),
        description="Phoned the chair",
    )
    victim = next(p for p in dv.people if p.role == "victim")
    support.add_support(
        officer,
        dv,
        person=victim,
        service="counselling",
        partner=None,
        status="delivered",
        started_on=today,
        ended_on=today,
    )
    other = case_at(officer, local(last.year, last.month, 21, 9), severity="S2")
    workflow.request_escalation(officer, other, "Needs the district")
    request = workflow.request_closure(officer, dv, "resolved", "Safe, counselling given")
    workflow.approve_closure(org["reviewer_d1"], request)
    db.session.commit()

    report = service.build_report(org["officer_c1"], org["C1"], month, "recorded")
    assert (report.total_current, report.total_previous) == (0, 2)
    assert _counts(report, "closures") == {"resolved": (1, 0)}
    assert _counts(report, "escalations") == {"pending": (1, 0)}
    assert _counts(report, "services") == {"counselling": (1, 0)}
    notify = {r.key: (r.current, r.previous) for r in _table(report, "deadlines").groups[0].rows}
    assert notify["late"] == (0, 1)  # counted with the month the case was received in


@pytest.mark.sqlite_only  # the plan is SQLite's; PostgreSQL's planner weighs its own statistics
def test_a_periods_escalations_referrals_and_services_are_found_by_their_time(spring):  # type: ignore[no-untyped-def]
    """Not by walking every case of the report's units: a province has tens of thousands."""
    from sqlalchemy import text

    from tests.conftest import sql_sent

    # Planner statistics of a national database (as the nightly ANALYZE leaves them): a million
    # cases, about 300 to a unit, and some thousands of escalations, referrals and services.
    db.session.execute(text("ANALYZE"))
    db.session.execute(text("DELETE FROM sqlite_stat1"))
    sizes = {"case_file": 1_000_000, "escalation": 20_000, "referral": 40_000, "support": 60_000}
    per_value = {"owning_unit_id": 300, "handling_unit_id": 300, "assigned_to_id": 300,
                 "severity": 250_000, "status": 150_000, "case_id": 2, "partner_id": 100,
                 "from_unit_id": 20, "to_unit_id": 20}  # fmt: skip
    for table, rows in sizes.items():
        for index in db.session.execute(text(f"PRAGMA index_list('{table}')")).all():
            columns = [c[2] for c in db.session.execute(text(f"PRAGMA index_info('{index[1]}')"))]
            first = 1 if index[2] else per_value.get(columns[0], 2)  # unique, or a time: ~2
            stat = " ".join([str(rows), str(first), *["1"] * (len(columns) - 1)])
            db.session.execute(
                text("INSERT INTO sqlite_stat1 VALUES (:t, :i, :s)"),
                {"t": table, "i": index[1], "s": stat},
            )
    db.session.execute(text("ANALYZE sqlite_schema"))  # the statistics are read again
    db.session.commit()

    with sql_sent() as sent:
        service.build_report(spring["reviewer_hy"], spring["HY"], APRIL, "recorded")
    cursor = db.session.connection().connection.driver_connection.cursor()
    expected = {
        "escalation": "ix_escalation_requested_at",
        "referral": "ix_referral_sent_at",
        "support": "ix_support_ended_on",
    }
    seen = set()
    for statement, parameters in sent:
        flat = " ".join(statement.split())
        table = next((t for t in expected if f" FROM {t} JOIN " in flat), None)
        if table is None:
            continue
        plan = [str(r[-1]) for r in cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
        assert plan[0].startswith(f"SEARCH {table} USING INDEX {expected[table]}"), plan
        seen.add(table)
    assert seen == set(expected)
    # The closures of the period are counted from the owning unit's index alone.
    closures = [(st, p) for st, p in sent if "closure_outcome, count(*)" in " ".join(st.split())]
    assert len(closures) == 1
    plan = [
        str(r[-1]) for r in cursor.execute("EXPLAIN QUERY PLAN " + closures[0][0], closures[0][1])
    ]
    assert "COVERING INDEX ix_case_file_owning_closed" in plan[0], plan
