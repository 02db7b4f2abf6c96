"""The stored pending deadlines the boards read: always the unmet deadlines timers.py computes for
every case not closed, whatever was changed, rolled back or reconfigured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from casework.cases import service as cases
from casework.cases import support, timeline
from casework.cases.models import Case
from casework.cases.workflow import boards, pending, timers
from casework.cases.workflow import service as wf
from casework.cases.workflow.models import DeadlineBasis, PendingDeadline
from casework.db import utcnow
from casework.extensions import db
from tests.cases.conftest import classified_case, open_case


def _stored() -> set[tuple]:  # type: ignore[type-arg]
    return {
        (r.case_id, r.kind, r.subject, r.due_at)
        for r in db.session.scalars(select(PendingDeadline))
    }


def _computed() -> set[tuple]:  # type: ignore[type-arg]
    """What timers.py says is unmet, case by case, for every case not closed."""
    return {
        (d.case_id, d.kind, d.subject, d.due_at)
        for case in db.session.scalars(select(Case).where(Case.status != "closed"))
        for d in timers.deadlines_for(case)
        if d.done_at is None
    }


def _on_board(user) -> set:  # type: ignore[no-untyped-def, type-arg]
    return {c.id for c, _d in boards.board(user).items}


STEPS = st.lists(
    st.sampled_from(
        ["open", "open_child", "classify", "notify_chair", "follow_up", "follow_up_done", "close"]
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_the_stored_deadlines_are_always_the_unmet_ones_of_the_open_cases(org, steps):  # type: ignore[no-untyped-def]
    officer, reviewer = org["officer_c1"], org["reviewer_d1"]
    case = open_case(officer, received_at=utcnow() - timedelta(hours=3))
    for step in steps:
        if case.status == "closed":
            case = open_case(officer)
        if step == "open":
            case = open_case(officer, types=["domestic_violence.physical"])
        elif step == "open_child":
            case = open_case(officer, types=["child_abuse.physical"], child_involved=True)
        elif step == "classify" and case.classified_at is None:
            cases.classify(
                officer,
                case,
                expected_version=case.version,
                types=["domestic_violence", "domestic_violence.forced_sex"],
                severity="S3",
                risk="high",
                gbv_type=None,
            )
        elif step == "notify_chair":
            timeline.add_action(
                officer,
                case,
                kind="notify_authority",
                authority="commune_committee",
                occurred_at=utcnow() - timedelta(minutes=5),
                description="Told the chair",
            )
        elif step == "follow_up":
            support.schedule_follow_up(officer, case, due_at=utcnow() + timedelta(hours=2))
        elif step == "follow_up_done":
            for row in support.follow_ups_of(case):
                if row.follow_up.status == "due":
                    support.update_follow_up(
                        officer,
                        row.follow_up,
                        expected_version=row.follow_up.version,
                        status="done",
                        note="Spoke to her; safe",
                        done_at=utcnow() - timedelta(minutes=1),
                    )
        elif step == "close" and case.status == "active":
            request = wf.request_closure(officer, case, "resolved", "Safe now")
            db.session.commit()
            wf.approve_closure(reviewer, request)
        db.session.commit()
        assert _stored() == _computed()


def test_a_closed_case_leaves_the_board_and_a_rolled_back_change_leaves_nothing(org):  # type: ignore[no-untyped-def]
    officer = org["officer_c1"]
    case = classified_case(officer)
    assert case.id in _on_board(officer)

    # A follow-up scheduled then rolled back: no row stays behind.
    before = _stored()
    support.schedule_follow_up(officer, case, due_at=utcnow() + timedelta(hours=1))
    db.session.rollback()
    assert _stored() == before

    request = wf.request_closure(officer, case, "resolved", "Mediated; safe now")
    db.session.commit()
    wf.approve_closure(org["reviewer_hy"], request)
    db.session.commit()
    assert not db.session.scalars(
        select(PendingDeadline).where(PendingDeadline.case_id == case.id)
    ).all()
    assert case.id not in _on_board(officer)


def test_the_board_sees_its_own_sessions_changes_before_they_are_committed(org):  # type: ignore[no-untyped-def]
    officer = org["officer_c1"]
    case = open_case(officer)
    follow_up = support.schedule_follow_up(officer, case, due_at=utcnow() + timedelta(hours=1))
    # Not committed: the board settles the session's changes first.
    subjects = {d.subject for c, d in boards.board(officer).items if d.kind == "follow_up"}
    assert str(follow_up.id) in subjects
    db.session.rollback()


def test_the_board_shows_the_most_urgent_and_counts_them_all(org):  # type: ignore[no-untyped-def]
    officer = org["officer_c1"]
    # Each domestic-violence case owes the commune chair a notice within the hour.
    made = [
        open_case(officer, received_at=utcnow() - timedelta(hours=hours)) for hours in (5, 3, 9)
    ]
    board = boards.board(officer, limit=2)
    chair = [(c.id, d.kind) for c, d in board.items]
    assert chair == [(made[2].id, "notify_commune_chair"), (made[0].id, "notify_commune_chair")]
    # Physical violence, not classified: the chair's notice is each case's only deadline.
    assert board.total == 3
    # Another commune's officer sees none of them.
    assert boards.board(org["officer_c2"]).total == 0


def test_changed_limits_move_every_open_cases_deadlines(app, org):  # type: ignore[no-untyped-def]
    officer = org["officer_c1"]
    case = classified_case(officer)
    pending.ensure_current()
    (due,) = [d.due_at for c, d in boards.board(officer).items if d.kind == "quick_report"]
    assert pending.current()

    app.config["QUICK_REPORT_HOURS"] = app.config["QUICK_REPORT_HOURS"] - 12
    assert not pending.current()
    result = app.test_cli_runner().invoke(args=["deadlines", "check"])
    assert result.exit_code == 0
    moved = [d.due_at for c, d in boards.board(officer).items if d.kind == "quick_report"]
    assert moved == [due - timedelta(hours=12)] and pending.current()
    assert case.id in _on_board(officer)


def test_the_first_check_computes_the_deadlines_of_cases_stored_before_the_table(app, org):  # type: ignore[no-untyped-def]
    officer = org["officer_c1"]
    case = classified_case(officer)
    expected = _stored()
    assert {row[0] for row in expected} == {case.id}
    # As after the migration that made the table: rows and basis absent.
    db.session.execute(delete(PendingDeadline))
    db.session.execute(delete(DeadlineBasis))
    db.session.commit()
    assert boards.board(officer).total == 0
    db.session.commit()

    # `casework init` (tests/test_migrations.py) and the cron's check both compute them.
    result = app.test_cli_runner().invoke(args=["deadlines", "check"])
    assert result.exit_code == 0, result.output
    assert _stored() == expected and pending.current()
    assert boards.board(officer).total == len(expected)


def _taken_up_by_the_district(org):  # type: ignore[no-untyped-def]
    """A classified case of commune C1, escalated to district D1 and accepted there."""
    case = classified_case(org["officer_c1"])
    escalation = wf.request_escalation(org["officer_c1"], case, "Beyond the commune's means")
    db.session.commit()
    wf.accept_escalation(org["reviewer_d1"], escalation)
    db.session.commit()
    return case


def test_a_case_taken_up_moves_its_deadlines_to_the_new_units_board(org):  # type: ignore[no-untyped-def]
    officer, district = org["officer_c1"], org["reviewer_d1"]
    case = _taken_up_by_the_district(org)
    rows = db.session.scalars(select(PendingDeadline).where(PendingDeadline.case_id == case.id))
    assert {r.handling_unit_id for r in rows} == {org["D1"].id}
    # The district handles it now; the commune that handed it up still follows it.
    assert case.id in _on_board(district)
    assert case.id in _on_board(officer)
    assert case.id not in _on_board(org["officer_c2"])
    assert case.id not in _on_board(org["reviewer_d2"])


def test_a_recused_officer_does_not_see_the_cases_deadlines(org):  # type: ignore[no-untyped-def]
    officer, district = org["officer_c1"], org["reviewer_d1"]
    case = _taken_up_by_the_district(org)
    assert case.id in _on_board(officer)
    cases.recuse(district, case, officer)
    db.session.commit()
    assert case.id not in _on_board(officer)
    assert case.id in _on_board(district)


def test_past_the_counting_limit_the_board_says_more_than(org, browser, monkeypatch):  # type: ignore[no-untyped-def]
    from tests.cases.test_views import _sign_in

    monkeypatch.setattr(boards, "COUNT_MAX", 2)
    for hours in (5, 3, 9):
        open_case(org["officer_c1"], received_at=utcnow() - timedelta(hours=hours))
    board = boards.board(org["officer_c1"], limit=1)
    assert (len(board.items), board.total, board.more) == (1, 2, True)
    _sign_in(browser, "officer.c1")
    page = browser.get("/deadlines").get_data(as_text=True)
    assert page.count('class="overdue"') == 3  # the page shows up to 200
    home = browser.get("/").get_data(as_text=True)
    assert "2+" in home


def test_a_savepoint_rolled_back_keeps_the_outer_transactions_deadlines(org):  # type: ignore[no-untyped-def]
    officer = org["officer_c1"]
    case = open_case(officer)
    follow_up = support.schedule_follow_up(officer, case, due_at=utcnow() + timedelta(hours=2))
    db.session.flush()
    savepoint = db.session.begin_nested()
    savepoint.rollback()
    db.session.commit()
    assert (case.id, "follow_up", str(follow_up.id)) in {row[:3] for row in _stored()}
    assert _stored() == _computed()


def test_the_nightly_rebuild_mends_a_row_gone_wrong(app, org):  # type: ignore[no-untyped-def]
    case = classified_case(org["officer_c1"])
    expected = _stored()
    # A row lost and another left behind, as a fault outside the upkeep could leave them.
    db.session.execute(delete(PendingDeadline).where(PendingDeadline.kind == "quick_report"))
    db.session.commit()
    assert _stored() != expected
    result = app.test_cli_runner().invoke(args=["deadlines", "rebuild"])
    assert result.exit_code == 0, result.output
    assert _stored() == expected and case.id in {row[0] for row in expected}


@pytest.mark.postgresql_only  # SQLite's writers take turns: the race cannot happen there
def test_a_request_that_loaded_the_case_before_it_moved_writes_the_new_units(org):  # type: ignore[no-untyped-def]
    officer = org["officer_c1"]
    case = classified_case(officer)
    assert case.handling_unit_id == org["C1"].id  # loaded by this session
    # Meanwhile another request hands the case to the district and commits.
    with db.engine.begin() as other:
        other.execute(update(Case).where(Case.id == case.id).values(handling_unit_id=org["D1"].id))
        other.execute(
            update(PendingDeadline)
            .where(PendingDeadline.case_id == case.id)
            .values(handling_unit_id=org["D1"].id)
        )
    # This request, with the case loaded before the move, schedules a follow-up.
    support.schedule_follow_up(officer, case, due_at=utcnow() + timedelta(hours=2))
    db.session.commit()
    rows = db.session.scalars(select(PendingDeadline).where(PendingDeadline.case_id == case.id))
    assert {r.handling_unit_id for r in rows} == {org["D1"].id}


def test_cases_computed_together_each_keep_their_own_records(org):  # type: ignore[no-untyped-def]
    """One batch where only one case has actions and follow-ups: the other's deadlines are not
    taken as met, and the first's met deadline is not stored."""
    officer = org["officer_c1"]
    told, untold = open_case(officer), open_case(officer)
    timeline.add_action(
        officer,
        told,
        kind="notify_authority",
        authority="commune_committee",
        occurred_at=utcnow() - timedelta(minutes=5),
        description="Told the chair",
    )
    support.schedule_follow_up(officer, told, due_at=utcnow() + timedelta(hours=2))
    db.session.commit()
    expected = _stored()
    kinds = {
        case_id: {row[1] for row in expected if row[0] == case_id}
        for case_id in (told.id, untold.id)
    }
    assert "notify_commune_chair" in kinds[untold.id] and "follow_up" in kinds[told.id]
    assert "notify_commune_chair" not in kinds[told.id] and "follow_up" not in kinds[untold.id]

    db.session.execute(delete(PendingDeadline))
    assert pending.refresh([told.id, untold.id]) == len(expected)
    db.session.commit()
    assert _stored() == expected == _computed()


def test_an_intake_reads_no_record_kind_a_new_case_has_none_of(org):  # type: ignore[no-untyped-def]
    """Its deadlines are computed from the case alone, and stored with nothing read back: one
    probe, not a query per kind of record."""
    from tests.conftest import sql_sent

    with sql_sent() as sent:
        case = open_case(org["officer_c1"])
    statements = [" ".join(statement.split()) for statement, _ in sent]
    read = [s for s in statements if s.startswith("SELECT") and "EXISTS" not in s]
    for table in pending._PROBED:
        name = table.__tablename__
        assert not [s for s in read if f"FROM {name} " in s or s.endswith(f"FROM {name}")], name
    assert (case.id, "notify_commune_chair") in {row[:2] for row in _stored()}


def test_an_intake_does_not_read_back_the_case_it_has_just_written(org):  # type: ignore[no-untyped-def]
    """No other transaction can have seen a case before its intake commits: its deadlines are
    computed from the case as the session holds it, not locked and read again."""
    from tests.conftest import sql_sent

    with sql_sent() as sent:
        case = open_case(org["officer_c1"])
    statements = [" ".join(statement.split()) for statement, _ in sent]
    reads = [s for s in statements if s.startswith("SELECT")]
    assert not [s for s in reads if "FROM case_file" in s or "FROM case_type" in s], reads
    assert _stored() == _computed()
    assert (case.id, "notify_commune_chair") in {row[:2] for row in _stored()}


def _uncommitted_intake(officer, victim: str) -> Case:  # type: ignore[no-untyped-def]
    """An intake through the service, its transaction left open."""
    return cases.open_case(
        officer,
        received_at=utcnow() - timedelta(hours=2),
        source="victim",
        types=["domestic_violence.physical"],
        summary="Bị chồng đánh.",
        victim_name=victim,
    ).case


def test_a_case_created_and_changed_before_its_commit_keeps_the_deadlines_of_what_it_became(org):  # type: ignore[no-untyped-def]
    """The intake and later changes in the same transaction (flushed in between): the stored
    deadlines are those of the case as committed, child abuse and a follow-up included."""
    officer = org["officer_c1"]
    case = _uncommitted_intake(officer, "Nguyễn Thị Lan")
    db.session.flush()
    case.child_involved = True
    db.session.flush()
    support.schedule_follow_up(officer, case, due_at=utcnow() + timedelta(days=3))
    db.session.commit()
    kinds = {row[1] for row in _stored() if row[0] == case.id}
    assert {"report_child_abuse", "follow_up"} <= kinds
    assert _stored() == _computed()


def test_a_case_created_then_rolled_back_to_a_savepoint_leaves_no_deadline(org):  # type: ignore[no-untyped-def]
    officer = org["officer_c1"]
    kept = open_case(officer)
    savepoint = db.session.begin_nested()
    gone = _uncommitted_intake(officer, "Trần Thị Mai").id
    savepoint.rollback()
    db.session.commit()
    cases_stored = {row[0] for row in _stored()}
    assert kept.id in cases_stored and gone not in cases_stored
    assert _stored() == _computed()
