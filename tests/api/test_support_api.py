"""Support services and follow-ups through the API: the web's decisions, validation and version
checks; nothing changes on a refusal."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from casework.cases.models import FollowUp, Person, Support
from casework.db import utcnow
from casework.extensions import db
from tests.api.conftest import is_problem, make_token
from tests.api.test_cases import ROLES, _web_browser, _with_partner
from tests.cases.conftest import open_case
from tests.conftest import CANARY, audit_text, make_partner


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _victim(case) -> Person:  # type: ignore[no-untyped-def]
    return db.session.scalar(
        select(Person).where(Person.case_id == case.id, Person.role == "victim")
    )


def _today() -> str:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()


def _support(case, **fields: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "person": str(_victim(case).id),
        "service": "medical",
        "provider": "unit",
        "status": "in_progress",
        "started_on": _today(),
        **fields,
    }


def test_every_role_gets_the_web_decision_on_adding_support(org, new_browser, api):  # type: ignore[no-untyped-def]
    everyone = _with_partner(org)
    case = open_case(org["officer_c1"])
    for name in ROLES:
        user = everyone[name]
        browser = _web_browser(new_browser, user)
        web = browser.post(f"/cases/{case.id}/support/new", _support(case), page="/cases/")
        through_api = api.post(f"/cases/{case.id}/support", make_token(user), _support(case))
        assert through_api.status_code == {303: 201}.get(web.status_code, web.status_code), name
        assert web.status_code == (303 if name == "officer_c1" else 403), name
        reads = api.get(f"/cases/{case.id}/support", make_token(user)).status_code
        assert reads == (200 if name == "officer_c1" else 403), name
    assert _count(Support) == 2  # one through each door, by the unit's officer only


def test_support_is_added_from_a_partner_and_changed_with_if_match(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    shelter = make_partner("Trusted address Hưng Yên", "shelter", [org["HY"]])
    token = make_token(org["officer_c1"])
    made = api.post(
        f"/cases/{case.id}/support",
        token,
        _support(case, service="shelter", provider=str(shelter.id)),
    )
    assert made.status_code == 201, made.get_json()
    row = made.get_json()
    assert row["provider_partner_id"] == shelter.id and made.headers["ETag"] == '"1"'
    url = f"/cases/{case.id}/support/{row['id']}"
    assert is_problem(api.patch(url, token, {"outcome": "First"}), 428, "precondition-required")
    changed = api.patch(url, token, {"outcome": "Three nights"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.get_json()["status"] == "in_progress"
    stale = api.patch(url, token, {"outcome": "Overwritten"}, headers={"If-Match": '"1"'})
    assert is_problem(stale, 412, "stale")
    db.session.expire_all()
    assert db.session.get(Support, uuid.UUID(row["id"])).outcome == "Three nights"
    listed = api.get(f"/cases/{case.id}/support", token).get_json()
    assert listed["services"][0]["provider"] == "Trusted address Hưng Yên"


def test_bad_support_is_422_and_nothing_is_added(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    elsewhere = make_partner("Legal aid D2", "legal_aid", [org["D2"]])
    token = make_token(org["officer_c1"])
    yesterday = (datetime.fromisoformat(_today()) - timedelta(days=1)).date().isoformat()
    for body, field in (
        (_support(case, status="delivered", ended_on=yesterday), "ended_on"),
        (_support(case, service="spa"), "service"),
        (_support(case, provider="99999"), "provider"),
        (_support(case, provider=str(elsewhere.id)), "provider"),
        (_support(case, person=str(uuid.uuid4())), "person"),
    ):
        response = api.post(f"/cases/{case.id}/support", token, body)
        assert is_problem(response, 422, "invalid"), body
        assert field in response.get_json()["errors"], (body, response.get_json())
    assert _count(Support) == 0
    read_only = api.post(
        f"/cases/{case.id}/support", make_token(org["officer_c1"], "read"), _support(case)
    )
    assert is_problem(read_only, 403, "insufficient-scope") and _count(Support) == 0


def test_follow_ups_are_scheduled_and_marked_done_or_missed(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    due = (utcnow() + timedelta(days=3)).replace(microsecond=0).isoformat()
    made = api.post(f"/cases/{case.id}/follow-ups", token, {"due_at": due})
    assert made.status_code == 201, made.get_json()
    url = f"/cases/{case.id}/follow-ups/{made.get_json()['id']}/outcome"
    done_at = (utcnow() - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    no_note = api.post(
        url, token, {"status": "done", "done_at": done_at}, headers={"If-Match": '"1"'}
    )
    assert is_problem(no_note, 422, "invalid") and "note" in no_note.get_json()["errors"]
    body = {"status": "done", "done_at": done_at, "note": f"{CANARY} is safe at her sister's."}
    assert is_problem(api.post(url, token, body), 428, "precondition-required")
    assert is_problem(api.post(url, token, body, headers={"If-Match": '"5"'}), 412, "stale")
    db.session.expire_all()
    assert db.session.scalar(select(FollowUp.status)) == "due"
    done = api.post(url, token, body, headers={"If-Match": '"1"'})
    assert done.status_code == 200 and done.get_json()["status"] == "done"
    follow_ups = api.get(f"/cases/{case.id}/support", token).get_json()["follow_ups"]
    assert [f["status"] for f in follow_ups] == ["done"]
    refused = api.post(url, make_token(org["officer_c2"]), body, headers={"If-Match": '"2"'})
    assert is_problem(refused, 403, "forbidden")
    assert CANARY not in audit_text()
