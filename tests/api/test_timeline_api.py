"""Assessments and the actions timeline through the API: the web's decisions, validation and
version checks; nothing changes on a refusal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from casework.cases.models import Action, Assessment
from casework.db import utcnow
from casework.extensions import db
from tests.api.conftest import is_problem, make_token
from tests.api.test_cases import ROLES, _web_browser, _with_partner
from tests.cases.conftest import open_case
from tests.conftest import CANARY, audit_text


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _action(**fields: object) -> dict[str, object]:
    when = (utcnow() - timedelta(minutes=10)).replace(microsecond=0)  # after the intake
    return {
        "kind": "notify_authority",
        "authority": "commune_committee",
        "occurred_at": when.isoformat(),
        "description": "Told the chair by phone.",
        **fields,
    }


def test_every_role_gets_the_web_decision_on_adding_an_action(org, new_browser, api):  # type: ignore[no-untyped-def]
    everyone = _with_partner(org)
    case = open_case(org["officer_c1"])
    local = (utcnow() + timedelta(hours=7) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    for name in ROLES:
        user = everyone[name]
        browser = _web_browser(new_browser, user)
        web = browser.post(
            f"/cases/{case.id}/actions/new", {**_action(), "occurred_at": local}, page="/cases/"
        ).status_code
        through_api = api.post(f"/cases/{case.id}/actions", make_token(user), _action())
        assert through_api.status_code == {303: 201}.get(web, web), name
        assert web == (303 if name == "officer_c1" else 403), name
        reads = api.get(f"/cases/{case.id}/actions", make_token(user)).status_code
        assert reads == (200 if name == "officer_c1" else 403), name
    assert _count(Action) == 2  # one through each door, by the unit's officer only


def test_actions_are_added_listed_and_corrected_once(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    made = api.post(f"/cases/{case.id}/actions", token, _action())
    assert made.status_code == 201
    first = made.get_json()
    url = f"/cases/{case.id}/actions/{first['id']}/corrections"
    fixed = api.post(url, token, _action(description="Told the chair in person."))
    assert fixed.status_code == 201 and fixed.get_json()["supersedes_id"] == first["id"]
    again = api.post(url, token, _action(description="A third version."))
    assert is_problem(again, 409, "conflict")
    entries = api.get(f"/cases/{case.id}/actions", token).get_json()["items"]
    assert len(entries) == 1 and entries[0]["description"] == "Told the chair in person."
    assert [a["id"] for a in entries[0]["corrected"]] == [first["id"]]
    assert _count(Action) == 2


def test_bad_actions_are_422_and_nothing_is_added(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"], types=["child_abuse.sexual"], child_involved=True)
    token = make_token(org["officer_c1"])
    for body, field in (
        (_action(kind="reconciliation", authority=None), "kind"),
        (_action(authority=None), "authority"),
        (_action(occurred_at="2026-01-01T10:00"), "occurred_at"),  # no offset
        (_action(occurred_at=(utcnow() + timedelta(days=2)).isoformat()), "occurred_at"),
        (_action(description=""), "description"),
    ):
        response = api.post(f"/cases/{case.id}/actions", token, body)
        assert is_problem(response, 422, "invalid"), body
        assert field in response.get_json()["errors"], body
    assert _count(Action) == 0


def test_assessments_need_the_current_number_as_if_match(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    url = f"/cases/{case.id}/assessments/safety"
    body = {
        "risk": "high",
        "findings": "He bought a knife.",
        "safety_plan": "Stay with her sister.",
    }
    assert is_problem(api.post(url, token, body), 428, "precondition-required")
    made = api.post(url, token, body, headers={"If-Match": '"0"'})
    assert made.status_code == 201 and made.headers["ETag"] == '"1"'
    stale = api.post(url, token, {**body, "risk": "low"}, headers={"If-Match": '"0"'})
    assert is_problem(stale, 412, "stale")
    no_plan = api.post(url, token, {**body, "safety_plan": None}, headers={"If-Match": '"1"'})
    assert is_problem(no_plan, 422, "invalid") and "safety_plan" in no_plan.get_json()["errors"]
    assert _count(Assessment) == 1
    needs = api.post(
        f"/cases/{case.id}/assessments/needs",
        token,
        {"findings": "Legal aid for the divorce."},
        headers={"If-Match": '"0"'},
    )
    assert needs.status_code == 201
    kinds = api.get(f"/cases/{case.id}/assessments", token).get_json()["items"]
    assert {k["kind"]: k["current_number"] for k in kinds} == {"safety": 1, "needs": 1}
    refused = api.post(url, make_token(org["officer_c2"]), body, headers={"If-Match": '"1"'})
    assert is_problem(refused, 403, "forbidden")
    read_only = api.post(
        url, make_token(org["officer_c1"], "read"), body, headers={"If-Match": '"1"'}
    )
    assert is_problem(read_only, 403, "insufficient-scope")
    assert _count(Assessment) == 2
    assert CANARY not in audit_text()
