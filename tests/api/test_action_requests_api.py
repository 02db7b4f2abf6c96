"""Requests to act through the API: the district handling a case that moved up asks the commune
that handled it before to act; the commune answers in the case's actions, or the district withdraws
the request. Each role gets the web's decision; stale versions and bad input change nothing; what
was asked never reaches the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from casework.cases.models import Action, Case
from casework.cases.workflow import requests
from casework.cases.workflow.models import ActionRequest, Notification
from casework.db import utcnow
from casework.extensions import db
from tests.api.conftest import is_problem, make_token
from tests.api.test_cases import ROLES, _web_browser, _with_partner
from tests.api.test_openapi import _document, _validator
from tests.conftest import CANARY, audit_text
from tests.workflow.test_action_requests import WHAT, _moved_up

LOCAL = timedelta(hours=7)  # the web's forms take Vietnam's local time


def _ask(org, case: Case, hours: int = 6) -> ActionRequest:  # type: ignore[no-untyped-def]
    asked = requests.ask(
        org["reviewer_d1"],
        case,
        unit_id=org["C1"].id,
        what=WHAT,
        due_at=utcnow() + timedelta(hours=hours),
    )
    db.session.commit()
    return asked


def _moment(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


def _answer_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "visit",
        "authority": None,
        "occurred_at": _moment(-timedelta(minutes=10)),
        "description": "Visited; she is safe at her mother's",
    }
    return {**body, **overrides}


def _ask_body(org, **overrides: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body: dict[str, Any] = {"unit": org["C1"].id, "what": WHAT, "due_at": _moment(timedelta(1))}
    return {**body, **overrides}


def _if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def _fresh(asked: ActionRequest) -> ActionRequest:
    db.session.expire_all()
    return db.session.get(ActionRequest, asked.id)  # type: ignore[return-value]


def _count(model: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _web(response) -> str:  # type: ignore[no-untyped-def]
    return "ok" if response.status_code == 303 else str(response.status_code)


def _api(response) -> str:  # type: ignore[no-untyped-def]
    return "ok" if response.status_code in (200, 201) else str(response.status_code)


# --- Same decision as the web, role by role -------------------------------------------------------


def test_every_role_gets_the_web_decision_on_requests_to_act(org, new_browser, api):  # type: ignore[no-untyped-def]
    people = _with_partner(org)
    local = utcnow() + LOCAL
    web_due = (local + timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M")
    web_when = (local - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    decisions = {}
    for name in ROLES:
        user = people[name]
        token = make_token(user)
        browser = _web_browser(new_browser, user)
        case = _moved_up(org)
        web_answer, api_answer, web_withdraw, api_withdraw = (_ask(org, case) for _ in range(4))
        web = (
            _web(
                browser.post(
                    f"/cases/{case.id}/action-requests/new",
                    {"unit": org["C1"].id, "what": WHAT, "due_at": web_due},
                    page="/",
                )
            ),
            _web(
                browser.post(
                    f"/action-requests/{web_answer.id}/answer",
                    {
                        "kind": "visit",
                        "occurred_at": web_when,
                        "description": "Visited; she is safe",
                        "version": web_answer.version,
                    },
                    page="/",
                )
            ),
            _web(
                browser.post(
                    f"/action-requests/{web_withdraw.id}/withdraw",
                    {"version": web_withdraw.version},
                    page="/",
                )
            ),
        )
        through_api = (
            _api(api.post(f"/cases/{case.id}/action-requests", token, _ask_body(org))),
            _api(
                api.post(
                    f"/action-requests/{api_answer.id}/answer",
                    token,
                    _answer_body(),
                    headers=_if_match(api_answer.version),
                )
            ),
            _api(
                api.post(
                    f"/action-requests/{api_withdraw.id}/withdraw",
                    token,
                    headers=_if_match(api_withdraw.version),
                )
            ),
        )
        assert through_api == web, name
        listed = _api(api.get(f"/cases/{case.id}/action-requests", token))
        decisions[name] = (*web, listed)
    # The handling unit asks and withdraws, the unit asked answers; both read the requests.
    assert decisions["reviewer_d1"] == ("ok", "403", "ok", "ok")
    assert decisions["officer_c1"] == ("403", "ok", "403", "ok")
    for name in ("officer_c2", "reviewer_d2", "reviewer_hy", "partner", "auditor", "admin"):
        assert "ok" not in decisions[name], name


# --- The whole round through the API -------------------------------------------------------------


def test_asked_listed_and_answered_in_the_actions(org, api):  # type: ignore[no-untyped-def]
    case = _moved_up(org)
    district, commune = make_token(org["reviewer_d1"]), make_token(org["officer_c1"])
    path = f"/cases/{case.id}/action-requests"
    listed = api.get(path, district).get_json()
    assert listed["items"] == []
    assert [u["code"] for u in listed["units_to_ask"]] == ["C1"]

    before = audit_text().count("workflow:action_request:send")
    sent = api.post(path, district, _ask_body(org))
    assert sent.status_code == 201
    body = sent.get_json()
    assert (body["to_unit"], body["from_unit"], body["status"]) == ("C1", "D1", "open")
    assert body["what"] == WHAT and sent.headers["ETag"] == f'"{body["version"]}"'
    assert audit_text().count("workflow:action_request:send") == before + 1
    notified = select(func.count()).where(
        Notification.user_id == org["officer_c1"].id, Notification.kind == "action_requested"
    )
    assert db.session.scalar(notified) == 1

    # The commune reads the request on the file, but may not ask anyone itself.
    seen = api.get(path, commune).get_json()
    assert [r["id"] for r in seen["items"]] == [body["id"]] and seen["units_to_ask"] == []

    answer = f"/action-requests/{body['id']}/answer"
    done = api.post(answer, commune, _answer_body(), headers=_if_match(body["version"]))
    assert done.status_code == 200
    answered = done.get_json()
    assert answered["status"] == "done" and answered["answered_at"] is not None
    assert done.headers["ETag"] == f'"{answered["version"]}"' != sent.headers["ETag"]
    actions = api.get(f"/cases/{case.id}/actions", district).get_json()["items"]
    assert answered["action_id"] in str(actions) and "safe at her mother's" in str(actions)

    again = api.post(answer, commune, _answer_body(), headers=_if_match(answered["version"]))
    assert is_problem(again, 409, "conflict")
    assert _count(Action) == 1
    # What was asked and answered is in the file, never in the audit log's text.
    text = audit_text()
    assert CANARY not in text and "mother" not in text


def test_withdrawn_by_the_handling_unit_only_and_then_not_answerable(org, api):  # type: ignore[no-untyped-def]
    asked = _ask(org, _moved_up(org))
    path = f"/action-requests/{asked.id}/withdraw"
    for name in ("officer_c1", "reviewer_d2", "reviewer_hy"):
        refused = api.post(path, make_token(org[name]), headers=_if_match(asked.version))
        assert is_problem(refused, 403, "forbidden"), name
    district = make_token(org["reviewer_d1"])
    assert is_problem(api.post(path, district), 428, "precondition-required")
    stale = api.post(path, district, headers=_if_match(asked.version + 1))
    assert is_problem(stale, 412, "stale")
    assert _fresh(asked).status == "open"
    withdrawn = api.post(path, district, headers=_if_match(asked.version))
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    version = withdrawn.get_json()["version"]
    assert is_problem(api.post(path, district, headers=_if_match(version)), 409, "conflict")
    late = api.post(
        f"/action-requests/{asked.id}/answer",
        make_token(org["officer_c1"]),
        _answer_body(),
        headers=_if_match(version),
    )
    assert is_problem(late, 409, "conflict")
    assert _count(Action) == 0


def test_a_stale_or_missing_if_match_records_nothing(org, api):  # type: ignore[no-untyped-def]
    asked = _ask(org, _moved_up(org))
    commune = make_token(org["officer_c1"])
    path = f"/action-requests/{asked.id}/answer"
    stale = api.post(path, commune, _answer_body(), headers=_if_match(asked.version + 1))
    assert is_problem(stale, 412, "stale")
    assert is_problem(api.post(path, commune, _answer_body()), 428, "precondition-required")
    assert _fresh(asked).status == "open" and _count(Action) == 0
    assert "workflow:action_request:answer" not in audit_text()


# --- Bad input ----------------------------------------------------------------------------------


def test_bad_requests_to_act_change_nothing(org, api):  # type: ignore[no-untyped-def]
    case = _moved_up(org)
    district = make_token(org["reviewer_d1"])
    path = f"/cases/{case.id}/action-requests"
    for body, field in (
        (_ask_body(org, unit=org["C2"].id), "unit"),  # never handled the case
        (_ask_body(org, unit=org["D1"].id), "unit"),  # the handling unit itself
        (_ask_body(org, unit="C1"), "unit"),
        (_ask_body(org, unit=None), "unit"),
        (_ask_body(org, what=""), "what"),
        (_ask_body(org, what="x" * 2001), "what"),
        (_ask_body(org, due_at=_moment(-timedelta(hours=1))), "due_at"),
        (_ask_body(org, due_at=_moment(timedelta(days=61))), "due_at"),
        (_ask_body(org, due_at="2026-12-24T08:00:00"), "due_at"),  # no offset
        (_ask_body(org, due_at="9999-12-31T23:00:00-05:00"), "due_at"),  # beyond UTC's calendar
        (_ask_body(org, victim=CANARY), "victim"),
    ):
        refused = api.post(path, district, body)
        assert is_problem(refused, 422, "invalid"), body
        assert field in refused.get_json()["errors"], body
        assert CANARY not in refused.get_data(as_text=True)
    assert _count(ActionRequest) == 0
    asked_to_act = select(func.count()).where(Notification.kind == "action_requested")
    assert db.session.scalar(asked_to_act) == 0
    assert CANARY not in audit_text()


def test_bad_answers_change_nothing(org, api):  # type: ignore[no-untyped-def]
    asked = _ask(org, _moved_up(org))
    commune = make_token(org["officer_c1"])
    path = f"/action-requests/{asked.id}/answer"
    for body, field in (
        (_answer_body(description=""), "description"),
        (_answer_body(kind="dance"), "kind"),
        (_answer_body(occurred_at="yesterday"), "occurred_at"),
        (_answer_body(occurred_at="0001-01-01T00:00:00+05:00"), "occurred_at"),
        (_answer_body(occurred_at=_moment(timedelta(days=2))), "occurred_at"),  # in the future
        (_answer_body(version=asked.version), "version"),  # the version travels in If-Match
        (_answer_body(name=CANARY), "name"),
    ):
        refused = api.post(path, commune, body, headers=_if_match(asked.version))
        assert is_problem(refused, 422, "invalid"), body
        assert field in refused.get_json()["errors"], body
        assert CANARY not in refused.get_data(as_text=True)
    assert _fresh(asked).status == "open" and _count(Action) == 0
    assert "workflow:action_request:answer" not in audit_text()


# --- Scope, documentation -----------------------------------------------------------------------


def test_a_read_only_token_reads_but_neither_asks_nor_answers(org, api):  # type: ignore[no-untyped-def]
    case = _moved_up(org)
    asked = _ask(org, case)
    district = make_token(org["reviewer_d1"], scope="read")
    commune = make_token(org["officer_c1"], scope="read")
    assert api.get(f"/cases/{case.id}/action-requests", district).status_code == 200
    sent = api.post(f"/cases/{case.id}/action-requests", district, _ask_body(org))
    assert is_problem(sent, 403, "insufficient-scope")
    answer = api.post(
        f"/action-requests/{asked.id}/answer",
        commune,
        _answer_body(),
        headers=_if_match(asked.version),
    )
    assert is_problem(answer, 403, "insufficient-scope")
    assert _count(ActionRequest) == 1 and _fresh(asked).status == "open"


def test_request_to_act_answers_match_their_declared_schemas(org, api):  # type: ignore[no-untyped-def]
    district, commune = make_token(org["reviewer_d1"]), make_token(org["officer_c1"])
    doc = _document(api, district)
    case = _moved_up(org)
    sent = api.post(f"/cases/{case.id}/action-requests", district, _ask_body(org))
    asked = sent.get_json()
    other = _ask(org, case)
    checks = [
        ("RequestToAct", sent),
        ("RequestToActList", api.get(f"/cases/{case.id}/action-requests", district)),
        (
            "RequestToAct",
            api.post(
                f"/action-requests/{asked['id']}/answer",
                commune,
                _answer_body(),
                headers=_if_match(asked["version"]),
            ),
        ),
        (
            "RequestToAct",
            api.post(
                f"/action-requests/{other.id}/withdraw", district, headers=_if_match(other.version)
            ),
        ),
    ]
    for name, response in checks:
        assert response.status_code in (200, 201), name
        errors = list(_validator(doc, name).iter_errors(response.get_json()))
        assert not errors, (name, errors[:1])
    answer = doc["paths"]["/action-requests/{action_request_id}/answer"]["post"]
    assert {"412", "428", "422"} <= answer["responses"].keys()
    assert any(p["name"] == "If-Match" and p["required"] for p in answer["parameters"])
    ask = doc["components"]["schemas"]["AskToActRequest"]
    assert ask["properties"]["unit"]["type"] == "integer"
    assert set(ask["required"]) == {"unit", "what", "due_at"}
