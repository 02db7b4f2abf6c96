"""Support to victims and follow-ups: providers, statuses and dates, due dates from the risk,
done or missed, stale edits, refusals."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from casework.audit.models import AuditEvent
from casework.cases import support
from casework.cases.forms import to_local_naive
from casework.cases.models import Case, FollowUp, Person, Support
from casework.config import DEFAULTS
from casework.db import utcnow
from casework.errors import Invalid, StaleEdit
from casework.extensions import db
from casework.policy import NotPermitted
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, age_rows, make_partner

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
RISK_ORDER = ["imminent", "high", "medium", "low"]  # most urgent first


def _victim(case: Case) -> Person:
    return db.session.scalar(select(Person).where(Person.case_id == case.id))


def _person(case: Case, role: str, officer) -> Person:  # type: ignore[no-untyped-def]
    person = Person(id=uuid.uuid4(), case_id=case.id, role=role, created_by_id=officer.id)
    person.full_name = f"{role} of the case"
    db.session.add(person)
    db.session.commit()
    return person


def _today() -> date:
    return datetime.now(VIETNAM).date()


def _add(officer, case, **overrides):  # type: ignore[no-untyped-def]
    fields = {
        "person": _victim(case),
        "service": "counselling",
        "partner": None,
        "status": "in_progress",
        "started_on": _today(),
        "outcome": f"{CANARY} talks more freely.",
    }
    fields.update(overrides)
    result = support.add_support(officer, case, **fields)
    db.session.commit()
    return result


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def _local(moment) -> str:  # type: ignore[no-untyped-def]
    return to_local_naive(moment).strftime("%Y-%m-%dT%H:%M")


def _with_risk(case: Case, risk: str) -> Case:
    case.risk = risk
    db.session.commit()
    return case


# --- Follow-up due dates (pure) -----------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, VIETNAM]),
)


@given(risk=st.sampled_from(RISK_ORDER), received=moments)
def test_a_follow_up_falls_due_the_configured_days_after_the_start(risk, received):
    due = support.follow_up_due(risk, received, DEFAULTS["FOLLOW_UP_DAYS"])
    assert due.tzinfo is UTC
    assert due - received == timedelta(days=DEFAULTS["FOLLOW_UP_DAYS"][risk])
    # In Vietnam's calendar (no daylight saving): the same hour, that many days later.
    start_local, due_local = received.astimezone(VIETNAM), due.astimezone(VIETNAM)
    assert due_local.time() == start_local.time()
    assert (due_local.date() - start_local.date()).days == DEFAULTS["FOLLOW_UP_DAYS"][risk]


@given(
    pair=st.lists(st.sampled_from(RISK_ORDER), min_size=2, max_size=2, unique=True),
    received=moments,
)
def test_a_higher_risk_never_falls_due_later(pair, received):
    urgent, calmer = sorted(pair, key=RISK_ORDER.index)
    days = DEFAULTS["FOLLOW_UP_DAYS"]
    assert support.follow_up_due(urgent, received, days) < support.follow_up_due(
        calmer, received, days
    )


@given(risk=st.text(max_size=10).filter(lambda r: r not in RISK_ORDER), received=moments)
def test_an_unknown_risk_has_no_due_date(risk, received):
    with pytest.raises(ValueError):
        support.follow_up_due(risk, received, DEFAULTS["FOLLOW_UP_DAYS"])


def test_a_naive_start_time_is_refused():
    with pytest.raises(ValueError):
        support.follow_up_due("high", datetime(2026, 1, 1), DEFAULTS["FOLLOW_UP_DAYS"])


# --- Follow-ups ---------------------------------------------------------------------------------


def test_a_follow_up_without_a_chosen_date_falls_due_from_the_case_risk(org):
    case = _with_risk(open_case(org["officer_c1"]), "medium")
    before = utcnow()
    follow_up = support.schedule_follow_up(org["officer_c1"], case)
    db.session.commit()
    assert before + timedelta(days=7) <= follow_up.due_at <= utcnow() + timedelta(days=7)
    details = json.loads(_events("case:follow_up:add")[0].details)
    assert details["basis"] == "risk" and details["follow_up_id"] == str(follow_up.id)


def test_a_follow_up_on_a_chosen_date(org):
    case = open_case(org["officer_c1"])
    when = utcnow() + timedelta(days=3)
    follow_up = support.schedule_follow_up(org["officer_c1"], case, due_at=when)
    db.session.commit()
    assert follow_up.due_at == when and follow_up.status == "due"


@pytest.mark.parametrize(
    "due_at",
    [None, utcnow() - timedelta(days=1), utcnow() + timedelta(days=400)],
    ids=["no risk and no date", "in the past", "more than a year ahead"],
)
def test_a_follow_up_without_a_sensible_date_is_refused(org, due_at):
    case = open_case(org["officer_c1"])
    with pytest.raises(Invalid) as refused:
        support.schedule_follow_up(org["officer_c1"], case, due_at=due_at)
    assert "due_at" in refused.value.fields
    db.session.rollback()
    assert _count(FollowUp) == 0


def _scheduled(org, **kw):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"], received_at=utcnow() - timedelta(days=3))
    follow_up = support.schedule_follow_up(
        org["officer_c1"], case, due_at=utcnow() + timedelta(days=1)
    )
    db.session.commit()
    return case, follow_up


def test_a_follow_up_is_marked_done_with_a_time_and_an_encrypted_note(org):
    _case, follow_up = _scheduled(org)
    when = utcnow() - timedelta(hours=1)
    support.update_follow_up(
        org["officer_c1"],
        follow_up,
        expected_version=follow_up.version,
        status="done",
        note=f"{CANARY} is safe at her sister's.",
        done_at=when,
    )
    db.session.commit()
    assert follow_up.status == "done" and follow_up.done_at == when
    assert "Canary" not in repr(db.session.execute(text("SELECT * FROM follow_up")).all())
    details = json.loads(_events("case:follow_up:update")[0].details)
    assert details["fields"] == ["status", "done_at", "note"] and details["status"] == "done"


def test_a_follow_up_is_marked_missed_without_a_contact_time(org):
    _case, follow_up = _scheduled(org)
    support.update_follow_up(
        org["officer_c1"],
        follow_up,
        expected_version=follow_up.version,
        status="missed",
        note=None,
        done_at=utcnow(),
    )
    db.session.commit()
    assert follow_up.status == "missed" and follow_up.done_at is None


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"note": ""}, "note"),
        ({"done_at": None}, "done_at"),
        ({"done_at": utcnow() + timedelta(days=1)}, "done_at"),
        ({"done_at": utcnow() - timedelta(days=30)}, "done_at"),  # before the case
        ({"status": "forgotten"}, "status"),
        ({"due_at": utcnow() + timedelta(days=5)}, "due_at"),  # a done one is not moved
        ({"note": "x" * 4001}, "note"),
    ],
)
def test_a_bad_follow_up_update_is_refused_and_changes_nothing(org, override, field):
    _case, follow_up = _scheduled(org)
    fields = {"status": "done", "note": "Reached her", "done_at": utcnow()}
    fields.update(override)
    with pytest.raises(Invalid) as refused:
        support.update_follow_up(
            org["officer_c1"], follow_up, expected_version=follow_up.version, **fields
        )
    assert field in refused.value.fields
    db.session.rollback()
    assert db.session.get(FollowUp, follow_up.id).status == "due"


def test_a_follow_up_still_due_can_be_moved(org):
    _case, follow_up = _scheduled(org)
    later = utcnow() + timedelta(days=4)
    support.update_follow_up(
        org["officer_c1"],
        follow_up,
        expected_version=follow_up.version,
        status="due",
        note=None,
        due_at=later,
    )
    db.session.commit()
    assert follow_up.due_at == later and follow_up.version == 2


def test_a_stale_follow_up_update_is_refused(org):
    _case, follow_up = _scheduled(org)
    old = follow_up.version
    support.update_follow_up(
        org["officer_c1"], follow_up, expected_version=old, status="missed", note=None
    )
    db.session.commit()
    with pytest.raises(StaleEdit):
        support.update_follow_up(
            org["officer_c1"], follow_up, expected_version=old, status="done", note="x"
        )
    db.session.rollback()
    assert db.session.get(FollowUp, follow_up.id).status == "missed"


@pytest.mark.parametrize("who", ["officer_c2", "reviewer_d1", "admin", "auditor"])
def test_only_the_handling_unit_schedules_and_records_follow_ups(org, who):
    case, follow_up = _scheduled(org)
    with pytest.raises(NotPermitted):
        support.schedule_follow_up(org[who], case, due_at=utcnow() + timedelta(days=1))
    db.session.rollback()
    with pytest.raises(NotPermitted):
        support.update_follow_up(
            org[who], follow_up, expected_version=follow_up.version, status="missed", note=None
        )
    db.session.rollback()
    assert _count(FollowUp) == 1 and db.session.get(FollowUp, follow_up.id).status == "due"


# --- Support ------------------------------------------------------------------------------------


def test_the_handling_unit_provides_a_service_itself(org):
    case = open_case(org["officer_c1"])
    row = _add(org["officer_c1"], case)
    assert row.provider_unit_id == org["C1"].id and row.provider_partner_id is None
    assert row.outcome.startswith(CANARY)
    assert "Canary" not in repr(db.session.execute(text("SELECT * FROM support")).all())
    event = _events("case:support:add")[0]
    assert event.object_id == str(case.id) and "Canary" not in event.details
    assert json.loads(event.details)["support_id"] == str(row.id)


def test_a_partner_serving_the_case_area_or_above_may_provide_it(org):
    case = open_case(org["officer_c1"])
    shelter = make_partner("Shelter of the province", "shelter", [org["HY"]])
    row = _add(org["officer_c1"], case, service="shelter", partner=shelter)
    assert row.provider_partner_id == shelter.id and row.provider_unit_id is None
    assert [p.id for p in support.eligible_partners(case)] == [shelter.id]


def test_a_partner_of_another_area_or_inactive_is_refused(org):
    case = open_case(org["officer_c1"])
    elsewhere = make_partner("Legal aid D2", "legal_aid", [org["D2"]])
    closed = make_partner("Closed shelter", "shelter", [org["C1"]])
    closed.active = False
    db.session.commit()
    for partner in (elsewhere, closed):
        with pytest.raises(Invalid) as refused:
            _add(org["officer_c1"], case, partner=partner)
        assert "provider" in refused.value.fields
        db.session.rollback()
    assert _count(Support) == 0


def test_a_service_goes_to_a_victim_or_a_child_of_this_case(org):
    case = open_case(org["officer_c1"])
    child = _person(case, "child", org["officer_c1"])
    assert _add(org["officer_c1"], case, person=child, service="education").person_id == child.id
    perpetrator = _person(case, "perpetrator", org["officer_c1"])
    other_victim = _victim(open_case(org["officer_c1"]))
    for person in (perpetrator, other_victim):
        with pytest.raises(Invalid) as refused:
            _add(org["officer_c1"], case, person=person)
        assert "person" in refused.value.fields
        db.session.rollback()
    assert _count(Support) == 1


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"service": "astrology"}, "service"),
        ({"status": "lost"}, "status"),
        ({"status": "in_progress", "started_on": None}, "started_on"),
        ({"status": "delivered", "ended_on": None}, "ended_on"),
        ({"status": "stopped", "ended_on": None}, "ended_on"),
        ({"status": "delivered", "ended_on": date.today() + timedelta(days=3)}, "ended_on"),
        (
            {
                "status": "delivered",
                "started_on": date.today() + timedelta(days=2),
                "ended_on": date.today() + timedelta(days=3),
            },
            "started_on",
        ),
        (
            {
                "status": "planned",
                "started_on": date.today() + timedelta(days=5),
                "ended_on": date.today() + timedelta(days=2),
            },
            "ended_on",
        ),
        ({"started_on": date.today() - timedelta(days=60)}, "started_on"),  # before the case
        ({"outcome": "x" * 4001}, "outcome"),
    ],
)
def test_a_bad_service_record_is_refused_and_saves_nothing(org, override, field):
    case = open_case(org["officer_c1"])
    with pytest.raises(Invalid) as refused:
        _add(org["officer_c1"], case, **override)
    assert field in refused.value.fields
    db.session.rollback()
    assert _count(Support) == 0


def test_a_planned_service_may_start_in_the_future(org):
    case = open_case(org["officer_c1"])
    row = _add(org["officer_c1"], case, status="planned", started_on=_today() + timedelta(days=7))
    assert row.status == "planned"


def test_a_service_is_updated_with_its_version_and_the_change_is_audited_by_field(org):
    case = open_case(org["officer_c1"])
    row = _add(org["officer_c1"], case)
    support.update_support(
        org["officer_c1"],
        row,
        expected_version=row.version,
        partner=None,
        status="delivered",
        started_on=row.started_on,
        ended_on=_today(),
        outcome="Counselling completed.",
    )
    db.session.commit()
    assert row.status == "delivered" and row.version == 2
    details = json.loads(_events("case:support:update")[0].details)
    assert details["fields"] == ["status", "ended_on", "outcome"]


def test_a_stale_service_update_is_refused(org):
    case = open_case(org["officer_c1"])
    row = _add(org["officer_c1"], case)
    fields = dict(partner=None, started_on=row.started_on, outcome="x")
    support.update_support(
        org["officer_c1"], row, expected_version=1, status="stopped", ended_on=_today(), **fields
    )
    db.session.commit()
    with pytest.raises(StaleEdit):
        support.update_support(
            org["officer_c1"],
            row,
            expected_version=1,
            status="in_progress",
            ended_on=None,
            **fields,
        )
    db.session.rollback()
    assert db.session.get(Support, row.id).status == "stopped"


@pytest.mark.parametrize("who", ["officer_c2", "reviewer_d1", "admin", "auditor"])
def test_only_the_handling_unit_records_support(org, who):
    case = open_case(org["officer_c1"])
    row = _add(org["officer_c1"], case)
    with pytest.raises(NotPermitted):
        _add(org[who], case)
    db.session.rollback()
    with pytest.raises(NotPermitted):
        support.update_support(
            org[who],
            row,
            expected_version=row.version,
            partner=None,
            status="stopped",
            started_on=row.started_on,
            ended_on=_today(),
            outcome=None,
        )
    db.session.rollback()
    assert _count(Support) == 1 and db.session.get(Support, row.id).status == "in_progress"


# --- Pages --------------------------------------------------------------------------------------


def test_officer_adds_a_service_from_a_partner_and_the_file_lists_it(app, org, browser):
    case = open_case(org["officer_c1"])
    shelter = make_partner("Trusted address Hưng Yên", "shelter", [org["HY"]])
    make_partner("Legal aid D2", "legal_aid", [org["D2"]])
    _sign_in(browser, "officer.c1")
    url = f"/cases/{case.id}/support/new"
    form = browser.get(url).get_data(as_text=True)
    assert "Trusted address Hưng Yên" in form and "Legal aid D2" not in form
    assert "Sensitive personal data" in form
    response = browser.post(
        url,
        {
            "person": str(_victim(case).id),
            "service": "shelter",
            "provider": str(shelter.id),
            "status": "in_progress",
            "started_on": _today().isoformat(),
            "outcome": "Three nights so far",
        },
    )
    assert response.status_code == 303 and response.location.endswith("#support")
    assert CANARY not in response.location
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="support"')[1].split("</section>")[0]
    assert "Trusted address Hưng Yên" in section and "Three nights so far" in section


def test_a_bad_service_form_answers_422_and_keeps_the_text(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = browser.post(
        f"/cases/{case.id}/support/new",
        {
            "person": str(_victim(case).id),
            "service": "medical",
            "provider": "unit",
            "status": "delivered",
            "started_on": _today().isoformat(),
            "ended_on": (_today() - timedelta(days=1)).isoformat(),
            "outcome": "Typed with care",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The end is before the start." in html and "Typed with care" in html
    impossible = browser.post(
        f"/cases/{case.id}/support/new",
        {
            "person": str(_victim(case).id),
            "service": "medical",
            "provider": "unit",
            "status": "planned",
            "started_on": "2026-02-30",
        },
    )
    assert impossible.status_code == 422
    assert _count(Support) == 0


def test_a_stale_service_form_answers_409_and_keeps_the_text(app, org, new_browser):
    case = open_case(org["officer_c1"])
    row = _add(org["officer_c1"], case)
    first, second = new_browser(), new_browser()
    _sign_in(first, "officer.c1")
    _sign_in(second, "officer.c1")
    url = f"/cases/{case.id}/support/{row.id}"
    token_second = second.token(url)
    base = {"version": "1", "provider": "unit", "started_on": _today().isoformat()}
    ok = first.post(url, {**base, "status": "in_progress", "outcome": "First"})
    assert ok.status_code == 303
    stale = second.raw_post(
        url,
        data={
            **base,
            "status": "in_progress",
            "outcome": "Second, typed at length",
            "csrf_token": token_second,
        },
    )
    assert stale.status_code == 409
    assert "Second, typed at length" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Support, row.id).outcome == "First"


def test_officer_schedules_from_the_risk_and_records_the_contact(app, org, browser):
    case = _with_risk(open_case(org["officer_c1"]), "high")
    _sign_in(browser, "officer.c1")
    url = f"/cases/{case.id}/follow-ups/new"
    assert "High" in browser.get(url).get_data(as_text=True)
    response = browser.post(url, {"due_at": ""})
    assert response.status_code == 303 and response.location.endswith("#follow-ups")
    follow_up = db.session.scalar(select(FollowUp))
    assert follow_up.due_at - utcnow() > timedelta(days=1, hours=23)
    edit = f"/cases/{case.id}/follow-ups/{follow_up.id}"
    assert browser.get(edit).status_code == 200
    response = browser.post(
        edit,
        {
            "version": "1",
            "status": "done",
            "done_at": _local(utcnow()),
            "note": "She is safe, the husband left the village",
            "due_at": _local(follow_up.due_at),
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    follow_up = db.session.get(FollowUp, follow_up.id)
    assert follow_up.status == "done" and follow_up.note.startswith("She is safe")
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "husband left the village" in html.split('id="follow-ups"')[1]


def test_the_file_highlights_overdue_follow_ups(app, org, browser):
    case = open_case(org["officer_c1"])
    support.schedule_follow_up(org["officer_c1"], case, due_at=utcnow() + timedelta(hours=1))
    support.schedule_follow_up(org["officer_c1"], case, due_at=utcnow() + timedelta(days=3))
    db.session.commit()
    age_rows(FollowUp, "due_at", timedelta(hours=2))
    _sign_in(browser, "officer.c1")
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="follow-ups"')[1].split("</section>")[0]
    assert section.count("follow-up overdue") == 1 and section.count("Overdue") == 1


def test_a_bad_follow_up_form_answers_422_and_a_stale_one_409(app, org, new_browser):
    case, follow_up = _scheduled(org)
    first, second = new_browser(), new_browser()
    _sign_in(first, "officer.c1")
    _sign_in(second, "officer.c1")
    url = f"/cases/{case.id}/follow-ups/{follow_up.id}"
    token_second = second.token(url)
    base = {"version": "1", "due_at": _local(follow_up.due_at), "done_at": _local(utcnow())}
    missing_note = first.post(url, {**base, "status": "done", "note": ""})
    assert missing_note.status_code == 422
    assert first.post(url, {**base, "status": "missed", "note": ""}).status_code == 303
    stale = second.raw_post(
        url,
        data={**base, "status": "done", "note": "Reached her at last", "csrf_token": token_second},
    )
    assert stale.status_code == 409 and "Reached her at last" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).status == "missed"


def test_no_follow_up_form_is_accepted_without_a_risk_or_a_date(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = browser.post(f"/cases/{case.id}/follow-ups/new", {"due_at": ""})
    assert response.status_code == 422 and "no risk level" in response.get_data(as_text=True)
    assert _count(FollowUp) == 0


def test_other_units_and_roles_get_403_on_support_and_follow_up_pages(app, org, new_browser):
    case, follow_up = _scheduled(org)
    row = _add(org["officer_c1"], case)
    urls = [
        f"/cases/{case.id}/support/new",
        f"/cases/{case.id}/support/{row.id}",
        f"/cases/{case.id}/follow-ups/new",
        f"/cases/{case.id}/follow-ups/{follow_up.id}",
    ]
    for username in ("officer.c2", "reviewer.d1", "admin.tw", "auditor.tw"):
        b = new_browser()
        _sign_in(b, username)
        for url in urls:
            response = b.get(url)
            assert response.status_code == 403, (username, url)
            assert CANARY not in response.get_data(as_text=True)
            posted = b.post(url, {"status": "missed", "version": "1", "due_at": ""}, page="/")
            assert posted.status_code == 403, (username, url)
    db.session.expire_all()
    assert _count(Support) == 1 and _count(FollowUp) == 1
    assert db.session.get(FollowUp, follow_up.id).status == "due"


def test_a_record_of_another_case_is_not_found_under_this_one(app, org, browser):
    case = open_case(org["officer_c1"])
    other, follow_up = _scheduled(org)
    row = _add(org["officer_c1"], other)
    _sign_in(browser, "officer.c1")
    assert browser.get(f"/cases/{case.id}/support/{row.id}").status_code == 404
    assert browser.get(f"/cases/{case.id}/follow-ups/{follow_up.id}").status_code == 404
