"""Deadlines: computed from the case's data, in Vietnam's time zone, with working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from casework.cases import service as cases
from casework.cases import support, timeline
from casework.cases.models import Action
from casework.cases.workflow import boards, timers
from casework.cases.workflow import service as wf
from casework.cases.workflow.models import Notification
from casework.db import utcnow
from casework.extensions import db
from tests.cases.conftest import open_case
from tests.referrals.conftest import give, refer


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


def _act(org, case, kind, at, **extra):  # type: ignore[no-untyped-def]
    action = timeline.add_action(
        org["officer_c1"], case, kind=kind, occurred_at=at, description="Done", **extra
    )
    db.session.commit()
    return action


@pytest.mark.parametrize(
    ("types", "gbv_type"),
    [
        (["child_abuse.sexual"], None),
        (["domestic_violence.forced_sex"], None),
        (["other"], "rape"),
        (["sexual_violence"], "sexual_assault"),
    ],
)
def test_a_sexual_assault_known_only_from_its_classification_brings_the_medical_deadlines(
    org, types, gbv_type
):
    case = open_case(org["officer_c1"], types=["other"])
    assert "medical_referral_pep" not in _kinds(case)
    cases.classify(
        org["officer_c1"],
        case,
        expected_version=case.version,
        types=types,
        severity="S2",
        risk=None,
        gbv_type=gbv_type,
    )
    db.session.commit()
    kinds = _kinds(case)
    assert kinds["medical_referral_pep"].due_at - case.received_at == timedelta(hours=72)
    assert kinds["medical_referral_ec"].due_at - case.received_at == timedelta(hours=120)


def test_harassment_alone_brings_no_medical_deadline(org):
    case = open_case(org["officer_c1"], types=["sexual_violence"], sexual_violence=False)
    assert "medical_referral_pep" not in _kinds(case)


def test_a_referral_asking_for_medical_care_meets_the_medical_deadline_unless_declined(
    org, partners
):
    case = open_case(org["officer_c1"], types=["sexual_violence"], sexual_violence=True)
    give(org["officer_c1"], case, "refer_health")
    referral = refer(org["officer_c1"], case, partners["health"], services=["medical"])
    db.session.commit()
    kinds = _kinds(case)
    assert kinds["medical_referral_pep"].done_at == referral.sent_at
    assert not kinds["medical_referral_pep"].overdue(utcnow() + timedelta(hours=100))
    referral.status = "declined"
    db.session.commit()
    assert _kinds(case)["medical_referral_pep"].done_at is None


def test_a_contact_ban_request_waits_twelve_hours_for_the_chairs_decision(org):
    case = open_case(
        org["officer_c1"], types=["domestic_violence"], received_at=utcnow() - timedelta(hours=3)
    )
    asked = utcnow() - timedelta(hours=2)
    request = _act(org, case, "contact_ban_request", asked)
    (deadline,) = [d for d in timers.deadlines_for(case) if d.kind == "contact_ban_decision"]
    assert (deadline.due_at, deadline.subject, deadline.done_at) == (
        asked + timedelta(hours=12),
        str(request.id),
        None,
    )
    decided = utcnow() - timedelta(hours=1)
    _act(org, case, "contact_ban", decided)
    (deadline,) = [d for d in timers.deadlines_for(case) if d.kind == "contact_ban_decision"]
    assert deadline.done_at == decided and not deadline.late()


def test_a_contact_ban_ends_within_three_days_and_her_safety_is_checked_before(org):
    case = open_case(
        org["officer_c1"], types=["domestic_violence"], received_at=utcnow() - timedelta(days=5)
    )
    decided = utcnow() - timedelta(days=4)
    _act(org, case, "contact_ban", decided)
    (ends,) = [d for d in timers.deadlines_for(case) if d.kind == "contact_ban_ends"]
    assert ends.due_at == decided + timedelta(days=3) and ends.overdue()
    _act(org, case, "visit", decided + timedelta(days=2))
    (ends,) = [d for d in timers.deadlines_for(case) if d.kind == "contact_ban_ends"]
    assert ends.done_at == decided + timedelta(days=2) and not ends.overdue()


def test_a_follow_up_is_a_deadline_on_the_board(org):
    case = open_case(org["officer_c1"], types=["domestic_violence"])
    due = utcnow() + timedelta(hours=1)
    follow_up = support.schedule_follow_up(org["officer_c1"], case, due_at=due)
    db.session.commit()
    board = boards.board(org["officer_c1"])
    mine = [d for c, d in board.items if c.id == case.id and d.kind == "follow_up"]
    assert [(d.subject, d.due_at) for d in mine] == [(str(follow_up.id), due)]
    assert not mine[0].overdue() and mine[0].overdue(utcnow() + timedelta(hours=2))


def test_the_child_deadlines_fall_at_their_exact_times(org):
    # Received Friday 2026-11-27 at 22:00 in Hà Nội (15:00 UTC).
    received = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    case = open_case(
        org["officer_c1"],
        types=["child_abuse.physical"],
        child_involved=True,
        immediate_danger=True,
        received_at=received,
    )
    kinds = _kinds(case)
    assert kinds["report_child_abuse"].due_at == received + timedelta(hours=1)
    assert kinds["child_emergency"].due_at == received + timedelta(hours=12)
    plan = kinds["child_plan"].due_at.astimezone(timers._tz())
    assert (plan.date(), plan.hour, plan.minute) == (date(2026, 12, 4), 23, 59)


def test_a_report_just_before_local_midnight_counts_from_that_local_day(ctx):
    # 16:59 UTC on Monday is 23:59 on Monday in Hà Nội: five working days end on the next Monday.
    start = datetime(2026, 11, 30, 16, 59, tzinfo=UTC)
    due = timers.add_working_days(start, 5, set())
    assert due.astimezone(timers._tz()).date() == date(2026, 12, 7)
    # One minute later it is Tuesday there, and the plan is due a day later.
    later = timers.add_working_days(start + timedelta(minutes=1), 5, set())
    assert later.astimezone(timers._tz()).date() == date(2026, 12, 8)


def test_a_case_raised_to_s3_later_gets_24_hours_from_the_raise_not_from_its_first_class(org):
    officer = org["officer_c1"]
    case = open_case(officer)
    first = dict(types=["domestic_violence"], risk=None, gbv_type=None)
    cases.classify(officer, case, expected_version=case.version, severity="S1", **first)
    db.session.commit()
    assert "quick_report" not in _kinds(case)
    # A week later the officer learns of a weapon: the case is raised to S3.
    case.classified_at = utcnow() - timedelta(days=7)
    db.session.commit()
    cases.classify(officer, case, expected_version=case.version, severity="S3", **first)
    db.session.commit()
    deadline = _kinds(case)["quick_report"]
    assert deadline.due_at == case.reportable_since + timedelta(hours=24)
    assert not deadline.overdue() and deadline.overdue(utcnow() + timedelta(hours=25))
    # Lowered and raised again, the clock keeps its first start.
    started = case.reportable_since
    cases.classify(officer, case, expected_version=case.version, severity="S2", **first)
    cases.classify(officer, case, expected_version=case.version, severity="S4", **first)
    db.session.commit()
    assert case.reportable_since == started
    # The board, from the stored pending deadlines, agrees.
    on_board = [d for c, d in boards.board(officer).items if c.id == case.id]
    assert [d.due_at for d in on_board if d.kind == "quick_report"] == [deadline.due_at]


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
    assert boards.notify_overdue() >= 1
    db.session.commit()
    notes = db.session.scalars(
        select(Notification).where(Notification.user_id == org["reviewer_d1"].id)
    ).all()
    assert any(n.kind == "overdue:notify_commune_chair" and n.case_id == case.id for n in notes)
    assert boards.notify_overdue() == 0  # told once


@pytest.mark.parametrize("status", ["closed"])
def test_closed_cases_raise_no_alerts(org, status):
    case = open_case(
        org["officer_c1"], types=["domestic_violence"], received_at=utcnow() - timedelta(hours=3)
    )
    case.status = status
    db.session.commit()
    assert boards.notify_overdue() == 0
