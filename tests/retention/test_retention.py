"""`casework retention run`: exactly the closed cases past their period and not held are erased
(case key and people's keys shredded), statistics stay, a dry run changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.cases.models import Case, Person
from casework.cases.support import local_today, local_tz
from casework.crypto import shredding
from casework.crypto.errors import KeyShredded
from casework.crypto.fields import is_erased
from casework.crypto.models import DataKey
from casework.extensions import db
from casework.reports import service as reports
from casework.reports.periods import Period
from casework.retention import service
from casework.retention.models import LegalHold, RetentionErasure, RetentionRun
from tests.conftest import CANARY, audit_text
from tests.retention.conftest import closed_case

OTHER = "Trần Thị Bích Ngọc"  # a victim whose case must stay readable


def _run(app, *args):  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["retention", "run", *args])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def _live_keys(owner_kind, owner_id):  # type: ignore[no-untyped-def]
    return db.session.scalar(
        select(func.count())
        .select_from(DataKey)
        .where(
            DataKey.owner_kind == owner_kind,
            DataKey.owner_id == owner_id,
            DataKey.shredded_at.is_(None),
        )
    )


def _erased(case: Case) -> bool:
    """The case key and every person's key are gone, and reading says so."""
    people = list(db.session.scalars(select(Person).where(Person.case_id == case.id)))
    gone = _live_keys("case", case.id) == 0 and all(_live_keys("person", p.id) == 0 for p in people)
    if gone:
        with pytest.raises(KeyShredded):
            _ = case.summary
        assert all(is_erased(p) for p in people)
    return gone


def _hold(case, until=None, lifted=False, by=None):  # type: ignore[no-untyped-def]
    hold = LegalHold(case_id=case.id, until=until, set_by_id=by.id)
    hold.reason = "Court file 12/2026/HS-ST"
    db.session.add(hold)
    db.session.flush()
    if lifted:
        service.lift_hold(by, hold)
    db.session.commit()
    return hold


@pytest.fixture
def cases(org):  # type: ignore[no-untyped-def]
    """Closed cases of every kind a run must tell apart (domestic violence: 5 years by default;
    child abuse: 15)."""
    reviewer = org["reviewer_hy"]
    made = {
        "expired": closed_case(org, days_ago=6 * 365),
        "recent": closed_case(org, days_ago=4 * 365, victim_name=OTHER),
        "child_long": closed_case(org, days_ago=6 * 365, types=("child_abuse.physical",)),
        "held": closed_case(org, days_ago=6 * 365),
        "hold_ended": closed_case(org, days_ago=6 * 365),
        "hold_lifted": closed_case(org, days_ago=6 * 365),
    }
    from tests.cases.conftest import open_case

    made["open"] = open_case(org["officer_c1"])
    _hold(made["held"], until=local_today() + timedelta(days=30), by=reviewer)
    _hold(made["hold_ended"], until=local_today() - timedelta(days=1), by=reviewer)
    _hold(made["hold_lifted"], lifted=True, by=reviewer)
    return made


def test_a_run_erases_exactly_the_expired_cases_that_no_hold_keeps(app, org, cases):
    output = _run(app)
    erased = {name for name, case in cases.items() if _erased(case)}
    assert erased == {"expired", "hold_ended", "hold_lifted"}
    assert f"{cases['held'].code}  kết thúc" in output and "tạm giữ đến" in output
    assert "Lần chạy 1: đã xóa 3 vụ việc." in output
    # What stays readable is untouched: the recent case still names its victim.
    recent_victim = next(p for p in cases["recent"].people if p.role == "victim")
    assert recent_victim.full_name == OTHER


def test_a_case_whose_period_ends_today_is_erased_and_one_ending_tomorrow_is_not(app, org):
    today = local_today()
    # Closed exactly five years ago today (Vietnam date) and five years ago tomorrow.
    ends_today = closed_case(org, days_ago=0)
    ends_tomorrow = closed_case(org, days_ago=0)
    for case, day in ((ends_today, today), (ends_tomorrow, today + timedelta(days=1))):
        closed_local = service.add_years(day, -5)
        # Mid-day in Vietnam on that date, whatever the UTC date is.
        case.closed_at = datetime.combine(closed_local, time(12), tzinfo=local_tz())
    db.session.commit()
    _run(app)
    assert _erased(ends_today) and not _erased(ends_tomorrow)


def test_the_dry_run_lists_the_same_cases_and_changes_nothing(app, org, cases):
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    ledger = shredding.ledger_path()
    output = _run(app, "--dry-run")
    for name in ("expired", "hold_ended", "hold_lifted"):
        assert f"{cases[name].code}  kết thúc" in output
    assert cases["recent"].code not in output and cases["child_long"].code not in output
    assert "sẽ bị xóa" in output and "Chạy thử: không có gì bị xóa." in output
    assert not any(_erased(case) for case in cases.values())
    assert db.session.scalar(select(func.count()).select_from(RetentionRun)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert not ledger.exists()
    # And the real run then does what the dry run said.
    _run(app)
    assert {n for n, c in cases.items() if _erased(c)} == {"expired", "hold_ended", "hold_lifted"}


def test_reports_count_the_erased_cases_as_before(app, org, cases):
    today = local_today()
    period = Period.between(today - timedelta(days=30), today)

    def figures():  # type: ignore[no-untyped-def]
        report = reports.build_report(org["reviewer_hy"], org["HY"], period, "recorded")
        return {t.key: [(r.key, r.current) for r in t.rows] for t in report.tables}

    before = figures()
    assert any(n for rows in before.values() for _k, n in rows)  # the cases are counted at all
    _run(app)
    assert _erased(cases["expired"])
    assert figures() == before


def test_erasure_is_recorded_in_the_ledger_the_audit_log_and_the_report_table(app, org, cases):
    _run(app)
    case = cases["expired"]
    people = [p.id for p in case.people]
    ledger = {(e.owner_kind, e.owner_id) for e in shredding.read_ledger()}
    assert ("case", case.id) in ledger and all(("person", p) in ledger for p in people)
    [erasure] = db.session.scalars(
        select(RetentionErasure).where(RetentionErasure.case_id == case.id)
    )
    assert erasure.years == 5 and erasure.people == len(people) and erasure.keys >= 2
    [event] = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.tag == "retention:case:erase", AuditEvent.object_id == str(case.id)
        )
    )
    assert json.loads(event.details)["years"] == 5
    [run] = db.session.scalars(select(AuditEvent).where(AuditEvent.tag == "retention:run:finish"))
    details = json.loads(run.details)
    assert (details["expired"], details["erased"], details["held"]) == (4, 3, 1)
    assert CANARY not in audit_text() and "Court file" not in audit_text()


def test_a_second_run_erases_nothing_more(app, org, cases):
    _run(app)
    output = _run(app)
    assert (
        "1 vụ việc đã kết thúc quá thời hạn lưu trữ, 1 đang bị tạm giữ hồ sơ, 0 cần xóa." in output
    )
    assert "Lần chạy 2: đã xóa 0 vụ việc." in output
    assert db.session.scalar(select(func.count()).select_from(RetentionErasure)) == 3


def test_a_case_reopened_after_it_was_planned_is_not_erased(app, org):
    from casework.cases.workflow import service as wf

    case = closed_case(org, days_ago=6 * 365)
    [item] = service.due()
    wf.reopen(org["reviewer_d1"], case, "New violence reported")
    db.session.commit()
    run = service.start_run(None, local_today())
    assert service.erase_case(None, run, item) is None
    db.session.commit()
    assert not _erased(case)


def test_a_hold_set_after_planning_still_stops_the_erasure(app, org):
    case = closed_case(org, days_ago=6 * 365)
    [item] = service.due()
    assert not item.held
    service.set_hold(org["reviewer_hy"], case, "Police investigation 45/CSHS", None)
    db.session.commit()
    run = service.start_run(None, local_today())
    assert service.erase_case(None, run, item) is None
    assert not _erased(case)


def test_the_longest_period_of_a_case_s_types_applies_and_is_configurable(app, org):
    mixed = closed_case(
        org, days_ago=6 * 365, types=("domestic_violence.physical", "child_abuse.physical")
    )
    assert service.period_years(mixed.type_codes) == 15
    assert service.due() == []
    app.config["RETENTION_YEARS"] = {**app.config["RETENTION_YEARS"], "child_abuse": 5}
    [item] = service.due()
    assert item.case_id == mixed.id and item.years == 5
    # A sub-type may have its own period, and a type with none takes the default.
    app.config["RETENTION_YEARS"] = {"child_abuse.physical": 7}
    app.config["RETENTION_DEFAULT_YEARS"] = 2
    assert service.period_years(["child_abuse.physical", "other"]) == 7
    assert service.period_years(["other"]) == 2
    assert service.period_years([]) == 2


def test_a_closure_on_29_february_ends_its_period_on_1_march(app):
    from datetime import date

    assert service.add_years(date(2028, 2, 29), 5) == date(2033, 3, 1)
    assert service.add_years(date(2028, 2, 28), 5) == date(2033, 2, 28)


def test_an_erased_case_shows_no_personal_data_in_the_file_the_list_or_a_search(
    app, org, browser, new_browser
):
    from tests.cases.test_views import _sign_in

    case = closed_case(org, days_ago=6 * 365, victim_phone="0987 654 321")
    _run(app)
    _sign_in(browser, "officer.c1")
    assert browser.get(f"/cases/{case.id}").status_code == 410
    listing = browser.get("/cases/?status=closed")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert case.code in html and CANARY not in html
    for kind, term in (("name", CANARY), ("phone", "0987 654 321")):
        found = browser.post("/cases/search", {"kind": kind, "term": term})
        assert found.status_code == 200 and case.code not in found.get_data(as_text=True)
    reviewer = new_browser()
    _sign_in(reviewer, "reviewer.d1")
    supervision = reviewer.get("/cases/supervision")
    assert supervision.status_code == 200 and CANARY not in supervision.get_data(as_text=True)


def test_a_case_erased_by_retention_cannot_be_reopened(app, org):
    from casework.cases.workflow import service as wf
    from casework.errors import InvalidTransition

    case = closed_case(org, days_ago=6 * 365)
    _run(app)
    db.session.expire_all()
    assert _erased(case)
    with pytest.raises(InvalidTransition):
        wf.reopen(org["reviewer_d1"], case, "New violence reported")
    db.session.rollback()
    assert db.session.get(Case, case.id).status == "closed"
