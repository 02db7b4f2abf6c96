"""Deadlines: computed from the case's data, in Vietnam's time zone, with working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from casework.cases import service as cases
from casework.cases.models import Action
from casework.cases.workflow import service as wf
from casework.cases.workflow import timers
from casework.cases.workflow.models import Notification
from casework.db import utcnow
from casework.extensions import db
from tests.cases.conftest import open_case


def _kinds(case):  # type: ignore[no-untyped-def]
    return {d.kind: d for d in timers.deadlines_for(case)}


def test_five_working_days_from_a_friday_evening_end_next_friday(ctx):
    # Friday 2026-11-27 20:00 in Hà Nội is 13:00 UTC.
    start = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    due = timers.add_working_days(start, 5, set())
    assert due.astimezone(timers._tz()).date() == date(2026, 12, 4)
    assert due.astimezone(timers._tz()).hour == 23


def test_a_report_just_after_local_midnight_counts_from_that_local_day(ctx):
    # 17:30 UTC on Sunday is 00:30 on Monday in Hà Nội: five working days end on the next Monday.
    start = datetime(2026, 11, 29, 17, 30, tzinfo=UTC)
    due = timers.add_working_days(start, 5, set())
    assert due.astimezone(timers._tz()).date() == date(2026, 12, 7)


def test_public_holidays_are_skipped(ctx):
    start = datetime(2026, 4, 27, 3, 0, tzinfo=UTC)  # Monday 27 April, 10:00 local
    holidays = {date(2026, 4, 30), date(2026, 5, 1)}
    due = timers.add_working_days(start, 5, holidays)
    assert due.astimezone(timers._tz()).date() == date(2026, 5, 6)


# The app only supplies configuration here, so sharing it between examples is safe.
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=1, max_value=30),
)
def test_working_days_never_land_on_a_weekend_and_are_never_early(app, start, days):
    with app.app_context():
        due = timers.add_working_days(start, days, set())
        local = due.astimezone(timers._tz())
        assert local.weekday() < 5
        assert due > start + timedelta(days=days)  # at least that many calendar days later


def test_domestic_violence_case_must_reach_the_commune_chair_within_an_hour(org):
    case = open_case(org["officer_c1"], types=["domestic_violence"])
    deadline = _kinds(case)["notify_commune_chair"]
    assert deadline.due_at == case.received_at + timedelta(hours=1)
    # Received 30 minutes ago: not overdue yet, but it will be in half an hour.
    assert not deadline.overdue()
    assert deadline.overdue(utcnow() + timedelta(minutes=31))


def test_notification_action_meets_the_deadline(org):
    case = open_case(org["officer_c1"], types=["domestic_violence"])
    action = Action(
        case_id=case.id,
        kind="notify_authority",
        authority="commune_committee",
        occurred_at=utcnow(),
        created_by_id=org["officer_c1"].id,
    )
    action.description = "Phoned the chair"
    db.session.add(action)
    db.session.commit()
    deadline = _kinds(case)["notify_commune_chair"]
    assert deadline.done_at is not None and not deadline.overdue()


def test_child_at_risk_brings_twelve_hours_and_the_five_day_plan(org):
    case = open_case(
        org["officer_c1"],
        types=["child_abuse.physical"],
        child_involved=True,
        immediate_danger=True,
    )
    kinds = _kinds(case)
    assert kinds["child_emergency"].due_at == case.received_at + timedelta(hours=12)
    assert "child_plan" in kinds and "report_child_abuse" in kinds


def test_sexual_violence_brings_72_and_120_hour_medical_deadlines(org):
    case = open_case(org["officer_c1"], types=["sexual_violence"], sexual_violence=True)
    kinds = _kinds(case)
    assert kinds["medical_referral_pep"].due_at - case.received_at == timedelta(hours=72)
    assert kinds["medical_referral_ec"].due_at - case.received_at == timedelta(hours=120)


def test_quick_report_due_24_hours_after_classification_and_met_by_sending(org):
    case = open_case(org["officer_c1"])
    cases.classify(
        org["officer_c1"],
        case,
        expected_version=case.version,
        types=["domestic_violence"],
        severity="S3",
        risk=None,
        gbv_type=None,
    )
    db.session.commit()
    deadline = _kinds(case)["quick_report"]
    assert deadline.due_at == case.classified_at + timedelta(hours=24) and deadline.done_at is None
    wf.send_quick_report(org["officer_c1"], case, "x")
    db.session.commit()
    assert _kinds(case)["quick_report"].done_at is not None


def test_deadline_limits_are_configurable(app, org):
    app.config["DEADLINE_HOURS"] = {**app.config["DEADLINE_HOURS"], "notify_commune_chair": 3}
    case = open_case(org["officer_c1"], types=["domestic_violence"])
    assert _kinds(case)["notify_commune_chair"].due_at == case.received_at + timedelta(hours=3)


def test_overdue_deadlines_notify_the_parents_reviewers_once(org):
    case = open_case(
        org["officer_c1"], types=["domestic_violence"], received_at=utcnow() - timedelta(hours=3)
    )
    assert timers.notify_overdue() >= 1
    db.session.commit()
    notes = db.session.scalars(
        select(Notification).where(Notification.user_id == org["reviewer_d1"].id)
    ).all()
    assert any(n.kind == "overdue:notify_commune_chair" and n.case_id == case.id for n in notes)
    assert timers.notify_overdue() == 0  # told once


@pytest.mark.parametrize("status", ["closed"])
def test_closed_cases_raise_no_alerts(org, status):
    case = open_case(
        org["officer_c1"], types=["domestic_violence"], received_at=utcnow() - timedelta(hours=3)
    )
    case.status = status
    db.session.commit()
    assert timers.notify_overdue() == 0
