"""Bad requests change nothing and answer with a problem document; stale edits 412, missing If-Match
428; the rate limit 429; every use audited without bodies or query values."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.cases import service
from casework.cases.models import Case
from casework.extensions import db
from tests.api.conftest import intake_body, is_problem, make_token
from tests.cases.conftest import open_case
from tests.conftest import CANARY, audit_text


def _cases() -> int:
    return db.session.scalar(select(func.count(Case.id))) or 0


@pytest.fixture
def officer(org):  # type: ignore[no-untyped-def]
    return make_token(org["officer_c1"])


def test_bad_json_is_400_and_nothing_is_recorded(org, api, officer):  # type: ignore[no-untyped-def]
    response = api.post("/cases", officer, data='{"summary": ', content_type="application/json")
    assert is_problem(response, 400, "bad-json")
    array = api.post("/cases", officer, data="[1, 2]", content_type="application/json")
    assert is_problem(array, 422, "invalid")
    assert _cases() == 0


def test_a_body_that_is_not_json_is_415(org, api, officer):  # type: ignore[no-untyped-def]
    response = api.post(
        "/cases", officer, data=json.dumps(intake_body()), content_type="text/plain"
    )
    assert is_problem(response, 415, "unsupported-media-type")
    form = api.post("/cases", officer, data={"summary": "x"})
    assert is_problem(form, 415, "unsupported-media-type")
    assert _cases() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": 123}, "summary"),
        ({"immediate_danger": "yes"}, "immediate_danger"),
        ({"types": "domestic_violence"}, "types"),
        ({"types": [1]}, "types"),
        ({"colour": "red"}, "colour"),
        ({"source": "pigeon"}, "source"),
        ({"types": ["not_a_type"]}, "types"),
        ({"summary": ""}, "summary"),
        ({"summary": None}, "summary"),
        ({"victim_name": "x" * 201}, "victim_name"),
        ({"received_at": "2026-01-05T08:30"}, "received_at"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"victim_phone": "call her sister"}, "victim_phone"),
    ],
)
def test_wrong_types_unknown_fields_and_invalid_values_are_422(org, api, officer, change, field):  # type: ignore[no-untyped-def]
    response = api.post("/cases", officer, intake_body(**change))
    assert is_problem(response, 422, "invalid")
    assert field in response.get_json()["errors"]
    assert _cases() == 0


def test_field_messages_follow_accept_language(org, api, officer):  # type: ignore[no-untyped-def]
    body = intake_body(summary="")
    english = api.post("/cases", officer, body).get_json()["errors"]["summary"]
    vietnamese = api.post("/cases", officer, body, headers={"Accept-Language": "vi"})
    assert english == ["Write a short summary."]
    assert vietnamese.get_json()["errors"]["summary"] != english


def test_an_oversized_body_is_413_and_nothing_is_recorded(org, api, officer):  # type: ignore[no-untyped-def]
    response = api.post("/cases", officer, intake_body(summary="x" * 70_000))
    assert is_problem(response, 413, "too-large")
    assert _cases() == 0


def _classified(org):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    service.classify(
        org["officer_c1"],
        case,
        expected_version=case.version,
        types=["domestic_violence"],
        severity="S2",
        risk="medium",
        gbv_type=None,
    )
    db.session.commit()
    return case


def test_classification_needs_the_current_version(org, api, officer):  # type: ignore[no-untyped-def]
    case = _classified(org)
    path = f"/cases/{case.id}/classification"
    etag = api.get(f"/cases/{case.id}", officer).headers["ETag"]

    missing = api.patch(path, officer, {"severity": "S3"})
    assert is_problem(missing, 428, "precondition-required")

    changed = api.patch(path, officer, {"severity": "S3"}, headers={"If-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["severity"] == "S3"
    assert changed.get_json()["types"] == ["domestic_violence"]  # not sent: kept
    assert changed.headers["ETag"] != etag

    stale = api.patch(path, officer, {"severity": "S4"}, headers={"If-Match": etag})
    assert is_problem(stale, 412, "stale")
    db.session.expire_all()
    assert db.session.get(Case, case.id).severity == "S3"
    assert audit_text().count("case:file:classify") == 2  # the service's, and the API's one


def test_a_refused_or_invalid_classification_changes_nothing(org, api, officer):  # type: ignore[no-untyped-def]
    case = _classified(org)
    path = f"/cases/{case.id}/classification"
    current = {"If-Match": f'"{case.version}"'}
    assert is_problem(api.patch(path, officer, {"severity": "S9"}, headers=current), 422, "invalid")
    assert is_problem(api.patch(path, officer, {"version": 9}, headers=current), 422, "invalid")
    other = make_token(org["officer_c2"])
    assert is_problem(api.patch(path, other, {"severity": "S4"}, headers=current), 403, "forbidden")
    db.session.expire_all()
    assert db.session.get(Case, case.id).severity == "S2"
    assert db.session.get(Case, case.id).version == case.version


def test_the_rate_limit_answers_429_with_retry_after(app, org, api, officer):  # type: ignore[no-untyped-def]
    app.config["API_RATE_PER_MINUTE"] = 3
    assert [api.get("/me", officer).status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get("/me", officer)
    assert is_problem(limited, 429, "rate-limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Another token of the same user has a count of its own.
    assert api.get("/me", make_token(org["officer_c1"])).status_code == 200


def test_every_use_is_audited_without_bodies_or_query_values(org, api, officer, caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    api.post("/cases", officer, intake_body())
    api.post("/cases", officer, intake_body(summary=123))
    api.get("/cases?status=open&after=bm9uc2Vuc2U", officer)
    api.get("/me")
    events = list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.tag == "api:request:call").order_by(AuditEvent.seq)
        )
    )
    calls = [(e.outcome, json.loads(e.details)) for e in events]
    assert [(o, d["method"], d["endpoint"], d["status"]) for o, d in calls] == [
        ("ok", "POST", "api.create_case", 201),
        ("refused", "POST", "api.create_case", 422),
        ("refused", "GET", "api.list_cases", 400),
        ("refused", "GET", "api.whoami", 401),
    ]
    assert [e.object_id for e in events] == ["1", "1", "1", None]
    text = audit_text()
    for secret in (CANARY, "beaten", "345 678", "345678", "bm9uc2Vuc2U", "status=open"):
        assert secret not in text
    assert CANARY not in caplog.text and "beaten" not in caplog.text


def test_cors_is_off_and_the_security_headers_are_sent(org, api, officer):  # type: ignore[no-untyped-def]
    response = api.get("/me", officer, headers={"Origin": "https://elsewhere.example"})
    assert not [h for h, _v in response.headers.items() if h.lower().startswith("access-control")]
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    preflight = api.call("OPTIONS", "/cases", headers={"Origin": "https://elsewhere.example"})
    assert not [h for h, _v in preflight.headers.items() if h.lower().startswith("access-control")]


def test_unknown_addresses_and_methods_answer_with_problems(org, api, officer):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    assert is_problem(api.get("/nothing-here", officer), 404, "not-found")
    wrong = api.call("DELETE", f"/cases/{case.id}", officer)
    assert is_problem(wrong, 405, "method-not-allowed")
    assert "GET" in wrong.headers["Allow"]
    assert db.session.get(Case, case.id) is not None


def test_the_api_never_sets_a_cookie(org, api, officer):  # type: ignore[no-untyped-def]
    for response in (api.get("/me", officer), api.get("/me"), api.post("/cases", officer, {})):
        assert "Set-Cookie" not in response.headers


def test_intake_corrections_need_the_current_version(org, api, officer):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    path = f"/cases/{case.id}"
    etag = api.get(path, officer).headers["ETag"]
    assert is_problem(api.patch(path, officer, {"injuries": True}), 428, "precondition-required")
    changed = api.patch(path, officer, {"injuries": True}, headers={"If-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["injuries"] is True
    assert changed.get_json()["summary"].startswith(CANARY)  # not sent: kept
    stale = api.patch(path, officer, {"summary": "Another text"}, headers={"If-Match": etag})
    assert is_problem(stale, 412, "stale")
    now = {"If-Match": changed.headers["ETag"]}
    invalid = api.patch(path, officer, {"summary": "", "source": "pigeon"}, headers=now)
    assert is_problem(invalid, 422, "invalid")
    assert set(invalid.get_json()["errors"]) == {"summary", "source"}
    supervisor = make_token(org["reviewer_d1"])
    assert is_problem(
        api.patch(path, supervisor, {"injuries": False}, headers=now), 403, "forbidden"
    )
    db.session.expire_all()
    kept = db.session.get(Case, case.id)
    assert kept.injuries is True and kept.summary.startswith(CANARY)
    assert audit_text().count("case:file:update") == 1
    assert "Another text" not in audit_text()
