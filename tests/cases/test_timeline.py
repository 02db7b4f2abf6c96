"""Assessments and the actions timeline: versions, risk and follow-ups, corrections, refusals."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from casework.audit.models import AuditEvent
from casework.cases import service, timeline
from casework.cases.forms import to_local_naive
from casework.cases.models import Action, Assessment, Case, FollowUp
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition, StaleEdit
from casework.extensions import db
from casework.policy import NotPermitted
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, PASSWORD, audit_text


def _assess(officer, case, **overrides):  # type: ignore[no-untyped-def]
    fields = {
        "kind": "safety",
        "risk": "high",
        "findings": f"{CANARY} says he threatened her with a knife.",
        "safety_plan": f"{CANARY} keeps her papers at her sister's; calls 113 if he comes back.",
    }
    fields.update(overrides)
    result = timeline.add_assessment(officer, case, **fields)
    db.session.commit()
    return result


def _act(officer, case, **overrides):  # type: ignore[no-untyped-def]
    fields = {
        "kind": "visit",
        "occurred_at": utcnow() - timedelta(minutes=10),
        "description": f"Visited {CANARY} at home with the commune police.",
    }
    fields.update(overrides)
    result = timeline.add_action(officer, case, **fields)
    db.session.commit()
    return result


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _local(moment) -> str:  # type: ignore[no-untyped-def]
    return to_local_naive(moment).strftime("%Y-%m-%dT%H:%M")


# --- Assessments: versions ----------------------------------------------------------------------


def test_each_save_of_an_assessment_is_a_new_numbered_version_of_its_kind(org):
    case = open_case(org["officer_c1"])
    first = _assess(org["officer_c1"], case, risk="medium", safety_plan=None)
    second = _assess(org["officer_c1"], case, risk="high")
    needs = _assess(org["officer_c1"], case, kind="needs", risk=None, findings="Needs a lawyer")
    assert (first.number, second.number, needs.number) == (1, 2, 1)
    histories = {h.kind: h for h in timeline.assessments_of(case)}
    assert histories["safety"].current.id == second.id
    assert [v.number for v in histories["safety"].versions] == [2, 1]
    assert histories["needs"].current.id == needs.id


def test_the_database_refuses_two_versions_with_one_number(org):
    case = open_case(org["officer_c1"])
    _assess(org["officer_c1"], case)
    twin = Assessment(
        id=uuid.uuid4(),
        case_id=case.id,
        kind="safety",
        number=1,
        created_by_id=org["officer_c1"].id,
    )
    twin.findings = "x"
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_an_assessment_based_on_an_older_version_is_stale_and_saves_nothing(org):
    case = open_case(org["officer_c1"])
    _assess(org["officer_c1"], case, based_on=0)
    with pytest.raises(StaleEdit):
        _assess(org["officer_c1"], case, based_on=0, findings="Typed on an old form")
    db.session.rollback()
    assert _count(Assessment) == 1


# --- Assessments: risk and follow-ups -----------------------------------------------------------


def test_a_safety_assessment_sets_the_case_risk_through_its_version(org):
    case = open_case(org["officer_c1"])
    before = case.version
    _assess(org["officer_c1"], case, risk="imminent")
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.risk == "imminent"
    assert case.version == before + 1  # a classification form opened before is now stale
    event = _events("case:assessment:add")[0]
    assert json.loads(event.details)["case_fields"] == ["risk"]


def test_a_needs_assessment_leaves_the_case_risk_alone(org):
    case = open_case(org["officer_c1"])
    _assess(org["officer_c1"], case, kind="needs", risk=None, findings="School fees")
    assert db.session.get(Case, case.id).risk is None
    assert _count(FollowUp) == 0


@pytest.mark.parametrize(
    ("risk", "days"), [("imminent", 1), ("high", 2), ("medium", 7), ("low", 30)]
)
def test_a_safety_assessment_schedules_the_next_follow_up_from_the_risk(org, risk, days):
    case = open_case(org["officer_c1"])
    assessment = _assess(org["officer_c1"], case, risk=risk)
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.case_id == case.id))
    assert follow_up.status == "due"
    assert follow_up.due_at == assessment.created_at + timedelta(days=days)


def test_follow_up_days_come_from_the_configuration(app, org):
    app.config["FOLLOW_UP_DAYS"] = {**app.config["FOLLOW_UP_DAYS"], "high": 3}
    case = open_case(org["officer_c1"])
    assessment = _assess(org["officer_c1"], case, risk="high")
    follow_up = db.session.scalar(select(FollowUp))
    assert follow_up.due_at == assessment.created_at + timedelta(days=3)


def test_a_safety_assessment_keeps_an_earlier_follow_up_and_adds_a_sooner_one(org):
    case = open_case(org["officer_c1"])
    _assess(org["officer_c1"], case, risk="high")  # due in 2 days
    _assess(org["officer_c1"], case, risk="low")  # 30 days: the 2-day contact stays the next one
    assert _count(FollowUp) == 1
    _assess(org["officer_c1"], case, risk="imminent")  # 1 day: sooner than the pending one
    due = db.session.scalars(select(FollowUp.due_at).order_by(FollowUp.due_at)).all()
    assert len(due) == 2 and due[0] < due[1]
    assert len(_events("case:follow_up:add")) == 2


# --- Assessments: refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"risk": None}, "risk"),
        ({"risk": "catastrophic"}, "risk"),
        ({"kind": "needs", "risk": "high"}, "risk"),
        ({"kind": "mood"}, "kind"),
        ({"findings": "   "}, "findings"),
        ({"findings": "x" * 4001}, "findings"),
        ({"safety_plan": "x" * 4001}, "safety_plan"),
        ({"risk": "high", "safety_plan": ""}, "safety_plan"),
        ({"risk": "imminent", "safety_plan": None}, "safety_plan"),
    ],
)
def test_a_bad_assessment_is_refused_and_saves_nothing(org, override, field):
    case = open_case(org["officer_c1"])
    with pytest.raises(Invalid) as refused:
        _assess(org["officer_c1"], case, **override)
    assert field in refused.value.fields
    db.session.rollback()
    assert _count(Assessment) == 0 and _count(FollowUp) == 0
    assert db.session.get(Case, case.id).risk is None


def test_a_low_risk_needs_no_safety_plan(org):
    case = open_case(org["officer_c1"])
    assert _assess(org["officer_c1"], case, risk="low", safety_plan=None).safety_plan is None


@pytest.mark.parametrize("who", ["officer_c2", "reviewer_d1", "admin", "auditor"])
def test_only_the_handling_unit_assesses(org, who):
    case = open_case(org["officer_c1"])
    with pytest.raises(NotPermitted):
        _assess(org[who], case)
    db.session.rollback()
    assert _count(Assessment) == 0


def test_break_glass_lets_a_reviewer_read_but_not_add(org):
    case = open_case(org["officer_c1"])
    _assess(org["officer_c1"], case)
    service.break_glass(org["reviewer_d1"], case, "Check the safety plan", password=PASSWORD)
    db.session.commit()
    with pytest.raises(NotPermitted):
        _assess(org["reviewer_d1"], case, risk="low")
    db.session.rollback()
    with pytest.raises(NotPermitted):
        _act(org["reviewer_d1"], case)
    db.session.rollback()
    assert _count(Assessment) == 1 and _count(Action) == 0


def test_nothing_is_added_to_a_closed_case(org):
    case = open_case(org["officer_c1"])
    case.status = "closed"
    db.session.commit()
    with pytest.raises(Invalid):
        _assess(org["officer_c1"], case)
    db.session.rollback()
    with pytest.raises(Invalid):
        _act(org["officer_c1"], case)
    db.session.rollback()
    assert _count(Assessment) == 0 and _count(Action) == 0


# --- Actions ------------------------------------------------------------------------------------


def test_an_action_joins_the_timeline_and_is_audited_by_id(org):
    case = open_case(org["officer_c1"])
    action = _act(org["officer_c1"], case)
    assert [e.action.id for e in timeline.timeline_of(case)] == [action.id]
    event = _events("case:action:add")[0]
    details = json.loads(event.details)
    assert event.object_id == str(case.id)
    assert details == {"action_id": str(action.id), "kind": "visit"}


@pytest.mark.parametrize("kind", ["notify_authority", "recommendation", "reply"])
def test_a_notification_recommendation_or_reply_names_the_authority(org, kind):
    case = open_case(org["officer_c1"])
    with pytest.raises(Invalid) as refused:
        _act(org["officer_c1"], case, kind=kind)
    assert "authority" in refused.value.fields
    db.session.rollback()
    action = _act(org["officer_c1"], case, kind=kind, authority="commune_committee")
    assert action.authority == "commune_committee"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"kind": "prayer"}, "kind"),
        ({"kind": "notify_authority", "authority": "king"}, "authority"),
        ({"occurred_at": utcnow() + timedelta(hours=2)}, "occurred_at"),
        ({"occurred_at": utcnow() - timedelta(days=30)}, "occurred_at"),  # before the case
        ({"description": ""}, "description"),
        ({"description": "x" * 4001}, "description"),
    ],
)
def test_a_bad_action_is_refused_and_saves_nothing(org, override, field):
    case = open_case(org["officer_c1"])
    with pytest.raises(Invalid) as refused:
        _act(org["officer_c1"], case, **override)
    assert field in refused.value.fields
    db.session.rollback()
    assert _count(Action) == 0


@pytest.mark.parametrize(
    "intake",
    [
        {"types": ["child_abuse.sexual"], "child_involved": True},
        {"types": ["domestic_violence"], "sexual_violence": True},
        {"types": ["sexual_violence"]},
    ],
)
def test_reconciliation_is_refused_for_child_sexual_abuse_and_sexual_violence(org, intake):
    case = open_case(org["officer_c1"], **intake)
    with pytest.raises(Invalid) as refused:
        _act(org["officer_c1"], case, kind="reconciliation")
    with force_locale("en"):
        assert "Reconciliation is not allowed" in str(refused.value.fields["kind"])
    db.session.rollback()
    assert _count(Action) == 0


def test_reconciliation_may_be_recorded_in_a_family_dispute(org):
    case = open_case(org["officer_c1"], types=["family_dispute.property"])
    assert _act(org["officer_c1"], case, kind="reconciliation").kind == "reconciliation"


def test_a_correction_supersedes_the_entry_which_stays_unchanged(org):
    case = open_case(org["officer_c1"])
    old = _act(org["officer_c1"], case)
    new = timeline.correct_action(
        org["officer_c1"],
        old,
        kind="visit",
        occurred_at=old.occurred_at,
        description="Visited her at her sister's home, not her own.",
    )
    db.session.commit()
    assert new.supersedes_id == old.id
    assert old.description.startswith("Visited Canary")  # the old entry is never edited
    [entry] = timeline.timeline_of(case)
    assert entry.action.id == new.id and [a.id for a in entry.corrected] == [old.id]
    event = _events("case:action:correct")[0]
    assert json.loads(event.details)["fields"] == ["description"]
    assert json.loads(event.details)["supersedes_id"] == str(old.id)


def test_an_entry_corrected_once_cannot_be_corrected_again_but_its_latest_can(org):
    case = open_case(org["officer_c1"])
    old = _act(org["officer_c1"], case)
    fix = dict(kind="counselling", occurred_at=old.occurred_at, description="Counselling")
    new = timeline.correct_action(org["officer_c1"], old, **fix)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        timeline.correct_action(org["officer_c1"], old, **{**fix, "description": "Again"})
    db.session.rollback()
    newest = timeline.correct_action(org["officer_c1"], new, **{**fix, "description": "Again"})
    db.session.commit()
    assert timeline.latest_of(old).id == newest.id
    [entry] = timeline.timeline_of(case)
    assert [a.id for a in entry.corrected] == [new.id, old.id]


def test_the_database_refuses_two_corrections_of_one_entry(org):
    case = open_case(org["officer_c1"])
    old = _act(org["officer_c1"], case)
    for _ in range(2):
        twin = Action(
            id=uuid.uuid4(),
            case_id=case.id,
            kind="visit",
            occurred_at=old.occurred_at,
            supersedes_id=old.id,
            created_by_id=org["officer_c1"].id,
        )
        twin.description = "x"
        db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_correction_cannot_turn_an_entry_into_a_barred_reconciliation(org):
    case = open_case(org["officer_c1"], types=["child_abuse.sexual"], child_involved=True)
    old = _act(org["officer_c1"], case, kind="counselling")
    with pytest.raises(Invalid):
        timeline.correct_action(
            org["officer_c1"],
            old,
            kind="reconciliation",
            occurred_at=old.occurred_at,
            description="x",
        )
    db.session.rollback()
    assert _count(Action) == 1


def test_a_correction_that_changes_nothing_is_refused(org):
    case = open_case(org["officer_c1"])
    old = _act(org["officer_c1"], case)
    with pytest.raises(Invalid):
        timeline.correct_action(
            org["officer_c1"],
            old,
            kind=old.kind,
            occurred_at=old.occurred_at,
            description=old.description,
        )
    db.session.rollback()
    assert _count(Action) == 1


def test_another_commune_cannot_correct_an_entry(org):
    case = open_case(org["officer_c1"])
    old = _act(org["officer_c1"], case)
    with pytest.raises(NotPermitted):
        timeline.correct_action(
            org["officer_c2"], old, kind="visit", occurred_at=old.occurred_at, description="x"
        )
    db.session.rollback()
    assert _count(Action) == 1


def test_texts_are_encrypted_and_the_audit_holds_ids_only(org):
    case = open_case(org["officer_c1"])
    _assess(org["officer_c1"], case)
    old = _act(org["officer_c1"], case)
    timeline.correct_action(
        org["officer_c1"],
        old,
        kind="visit",
        occurred_at=old.occurred_at,
        description=f"{CANARY} was not at home.",
    )
    db.session.commit()
    raw = repr(
        db.session.execute(text("SELECT * FROM assessment")).all()
        + db.session.execute(text("SELECT * FROM case_action")).all()
        + db.session.execute(text("SELECT * FROM follow_up")).all()
    )
    assert "Canary" not in raw and "knife" not in raw and "sister" not in raw
    audit_rows = audit_text()
    assert (
        "Canary" not in audit_rows and "Hoàng Yến" not in audit_rows and "knife" not in audit_rows
    )


# --- Pages --------------------------------------------------------------------------------------


def test_officer_assesses_on_a_phone_and_the_file_shows_the_version_and_its_history(
    app, org, browser
):
    case = open_case(org["officer_c1"])
    _assess(org["officer_c1"], case, risk="low", safety_plan=None)
    _sign_in(browser, "officer.c1")
    url = f"/cases/{case.id}/assessments/safety/new"
    form = browser.get(url).get_data(as_text=True)
    assert "knife" in form  # the new version starts from the current one
    response = browser.post(
        url,
        {
            "based_on": "1",
            "risk": "high",
            "findings": "He bought a knife; she is afraid tonight.",
            "safety_plan": "Go to the trusted address; call 113.",
        },
    )
    assert response.status_code == 303
    assert CANARY not in response.location and response.location.endswith("#assessments")
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="assessments"')[1].split("</section>")[0]
    assert "Version 2" in section and "afraid tonight" in section and "trusted address" in section
    assert "risk-high" in section and "Earlier versions (1)" in section
    db.session.expire_all()
    assert db.session.get(Case, case.id).risk == "high"
    # The earlier version can be read, and reading it is audited.
    first = db.session.scalar(select(Assessment).where(Assessment.number == 1))
    page = browser.get(f"/cases/{case.id}/assessments/{first.id}")
    assert page.status_code == 200 and "knife" in page.get_data(as_text=True)
    title = page.get_data(as_text=True).split("<title>")[1].split("</title>")[0]
    assert "Canary" not in title
    views = [e for e in _events("case:file:view") if "assessment_id" in e.details]
    assert views and str(first.id) in views[0].details


def test_a_stale_assessment_form_answers_409_and_keeps_the_text(app, org, new_browser):
    case = open_case(org["officer_c1"])
    first, second = new_browser(), new_browser()
    _sign_in(first, "officer.c1")
    _sign_in(second, "officer.c1")
    url = f"/cases/{case.id}/assessments/needs/new"
    token_second = second.token(url)
    ok = first.post(url, {"based_on": "0", "findings": "Needs a lawyer"})
    assert ok.status_code == 303
    stale = second.raw_post(
        url,
        data={
            "based_on": "0",
            "findings": "Needs a doctor, typed at length",
            "csrf_token": token_second,
        },
    )
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Needs a doctor, typed at length" in html
    assert "Needs a lawyer" in html  # the version saved meanwhile, to compare
    assert 'name="based_on" type="hidden" value="1"' in html
    assert _count(Assessment) == 1
    # Having compared, the officer saves her text as the next version.
    again = second.raw_post(
        url,
        data={
            "based_on": "1",
            "findings": "Needs a doctor, typed at length",
            "csrf_token": token_second,
        },
    )
    assert again.status_code == 303 and _count(Assessment) == 2


def test_a_bad_assessment_form_answers_422_and_saves_nothing(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = browser.post(
        f"/cases/{case.id}/assessments/safety/new",
        {"based_on": "0", "risk": "imminent", "findings": "He is at the door", "safety_plan": ""},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "needs a safety plan" in html and "He is at the door" in html
    assert _count(Assessment) == 0
    assert browser.get(f"/cases/{case.id}/assessments/mood/new").status_code == 404


def test_officer_records_an_action_in_local_time(app, org, browser):
    case = open_case(org["officer_c1"], received_at=utcnow() - timedelta(days=2))
    _sign_in(browser, "officer.c1")
    when = utcnow() - timedelta(days=1)
    response = browser.post(
        f"/cases/{case.id}/actions/new",
        {
            "kind": "notify_authority",
            "authority": "commune_committee",
            "occurred_at": _local(when),
            "description": "Told the chair by phone.",
        },
    )
    assert response.status_code == 303 and response.location.endswith("#actions")
    action = db.session.scalar(select(Action))
    assert abs(action.occurred_at - when) < timedelta(minutes=1)  # typed in Vietnam, kept in UTC
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="actions"')[1].split("</section>")[0]
    assert "Told the chair by phone." in section and "Commune People" in section


def test_reconciliation_form_in_a_child_sexual_abuse_case_answers_422_with_the_reason(
    app, org, browser
):
    case = open_case(org["officer_c1"], types=["child_abuse.sexual"], child_involved=True)
    _sign_in(browser, "officer.c1")
    response = browser.post(
        f"/cases/{case.id}/actions/new",
        {
            "kind": "reconciliation",
            "occurred_at": _local(utcnow() - timedelta(minutes=5)),
            "description": "Met both families",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Reconciliation is not allowed" in html and "Met both families" in html
    assert _count(Action) == 0


def test_an_action_in_the_future_answers_422(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = browser.post(
        f"/cases/{case.id}/actions/new",
        {"kind": "visit", "occurred_at": _local(utcnow() + timedelta(days=1)), "description": "x"},
    )
    assert response.status_code == 422 and "in the future" in response.get_data(as_text=True)
    bad_date = browser.post(
        f"/cases/{case.id}/actions/new",
        {"kind": "visit", "occurred_at": "2026-02-30T10:00", "description": "x"},
    )
    assert bad_date.status_code == 422
    assert _count(Action) == 0


def test_the_file_shows_a_corrected_entry_struck_through_beside_its_replacement(app, org, browser):
    case = open_case(org["officer_c1"])
    old = _act(org["officer_c1"], case, description="Visited on Monday")
    _sign_in(browser, "officer.c1")
    url = f"/cases/{case.id}/actions/{old.id}/correct"
    assert "Visited on Monday" in browser.get(url).get_data(as_text=True)
    response = browser.post(
        url,
        {
            "kind": "visit",
            "occurred_at": _local(old.occurred_at),
            "description": "Visited on Tuesday",
        },
    )
    assert response.status_code == 303
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="actions"')[1].split("</section>")[0]
    assert section.index("Visited on Tuesday") < section.index("Visited on Monday")
    struck = section.split('class="corrected"')[1]
    assert "corrected" in struck and "<del>" in struck and "Visited on Monday" in struck
    # The old entry points at its replacement instead of taking a second correction.
    again = browser.get(url)
    assert again.status_code == 409
    new = db.session.scalar(select(Action).where(Action.supersedes_id == old.id))
    assert f"/actions/{new.id}/correct" in again.get_data(as_text=True)
    refused = browser.post(
        url, {"kind": "visit", "occurred_at": _local(old.occurred_at), "description": "Wednesday"}
    )
    assert refused.status_code == 409
    assert _count(Action) == 2


def test_another_communes_officer_gets_403_and_changes_nothing(app, org, browser):
    case = open_case(org["officer_c1"])
    old = _act(org["officer_c1"], case)
    _sign_in(browser, "officer.c2")
    post = {"kind": "visit", "occurred_at": _local(utcnow()), "description": "x", "based_on": "0"}
    for url in (
        f"/cases/{case.id}/actions/new",
        f"/cases/{case.id}/actions/{old.id}/correct",
        f"/cases/{case.id}/assessments/needs/new",
    ):
        assert browser.get(url).status_code == 403
        assert browser.post(url, {**post, "findings": "x"}, page="/").status_code == 403
    assert browser.get(f"/cases/{case.id}/assessments/{uuid.uuid4()}").status_code == 403
    assert _count(Action) == 1 and _count(Assessment) == 0
    refused = db.session.scalars(select(AuditEvent).where(AuditEvent.outcome == "refused")).all()
    assert len(refused) >= 7


def test_reviewer_without_break_glass_and_admins_get_403(app, org, new_browser):
    case = open_case(org["officer_c1"])
    assessment = _assess(org["officer_c1"], case)
    for username in ("reviewer.d1", "admin.tw", "auditor.tw"):
        b = new_browser()
        _sign_in(b, username)
        for url in (
            f"/cases/{case.id}/actions/new",
            f"/cases/{case.id}/assessments/safety/new",
            f"/cases/{case.id}/assessments/{assessment.id}",
        ):
            response = b.get(url)
            assert response.status_code == 403, (username, url)
            assert "knife" not in response.get_data(as_text=True)


def test_an_entry_of_another_case_is_not_found_under_this_one(app, org, browser):
    case = open_case(org["officer_c1"])
    other = open_case(org["officer_c1"])
    old = _act(org["officer_c1"], other)
    _sign_in(browser, "officer.c1")
    assert browser.get(f"/cases/{case.id}/actions/{old.id}/correct").status_code == 404
