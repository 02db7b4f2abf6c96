"""Case endpoints give the same decision as the web pages for every role, read what the reader may
see, and audit the read as the web does."""

from __future__ import annotations

from sqlalchemy import func, select

from casework.cases.models import Case
from casework.extensions import db
from tests.api.conftest import intake_body, is_problem, make_token
from tests.cases.conftest import open_case
from tests.conftest import CANARY, audit_text, current_code, make_partner, make_user

ROLES = (
    "officer_c1",
    "officer_c2",
    "reviewer_d1",
    "reviewer_d2",
    "reviewer_hy",
    "partner",
    "auditor",
    "admin",
)


def _with_partner(org):  # type: ignore[no-untyped-def]
    shelter = make_partner(units=[org["C1"]])
    return {**org, "partner": make_user("partner.a", "partner", partner=shelter)}


def _web_browser(new_browser, user):  # type: ignore[no-untyped-def]
    browser = new_browser()
    code = current_code(user) if user.totp_enabled else None
    assert browser.login(user.username, code=code).status_code == 303
    return browser


def _web_read(browser, case_id) -> str:  # type: ignore[no-untyped-def]
    response = browser.get(f"/cases/{case_id}")
    if response.status_code == 303 and response.location.endswith("/summary"):
        return "summary" if browser.get(response.location).status_code == 200 else "refused"
    return {200: "full"}.get(response.status_code, str(response.status_code))


def _api_read(api, token, case_id) -> str:  # type: ignore[no-untyped-def]
    response = api.get(f"/cases/{case_id}", token)
    if response.status_code == 200:
        return response.get_json()["view"]
    return str(response.status_code)


def test_every_role_gets_the_same_decision_as_on_the_web(org, new_browser, api):  # type: ignore[no-untyped-def]
    people = _with_partner(org)
    case = open_case(org["officer_c1"])
    decisions = {}
    for name in ROLES:
        user = people[name]
        token = make_token(user)
        browser = _web_browser(new_browser, user)
        web = (
            browser.get("/cases/").status_code,
            browser.get("/cases/supervision").status_code,
            _web_read(browser, case.id),
            browser.post("/cases/new", {}, page="/cases/").status_code,
        )
        through_api = (
            api.get("/cases", token).status_code,
            api.get("/supervision", token).status_code,
            _api_read(api, token, case.id),
            api.post("/cases", token, {}).status_code,
        )
        assert through_api == web, name
        decisions[name] = web
    # The decisions themselves, so that "both refuse everything" cannot pass unnoticed.
    assert decisions["officer_c1"] == (200, 403, "full", 422)
    assert decisions["officer_c2"] == (200, 403, "403", 422)
    assert decisions["reviewer_d1"] == (200, 200, "summary", 422)
    assert decisions["reviewer_d2"] == (200, 200, "403", 422)
    for name in ("partner", "auditor", "admin"):
        assert decisions[name] == (403, 403, "403", 403), name
    assert db.session.scalar(select(func.count(Case.id))) == 1  # no refused intake left a case


def test_the_full_reader_sees_the_identity_the_supervisor_only_statistics(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    full = api.get(f"/cases/{case.id}", make_token(org["officer_c1"]))
    assert full.status_code == 200
    assert full.headers["ETag"] == f'"{case.version}"'
    victim = full.get_json()["people"][0]
    assert victim["full_name"] == CANARY and victim["phone"] == "0912 345 678"
    summary = api.get(f"/cases/{case.id}", make_token(org["reviewer_d1"]))
    assert summary.status_code == 200
    assert CANARY not in summary.get_data(as_text=True)
    assert summary.get_json()["victims"] == [{"sex": "female", "age_band": None}]


def test_a_read_is_audited_as_on_the_web_and_a_refusal_too(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    before = audit_text().count("case:file:view")
    assert api.get(f"/cases/{case.id}", make_token(org["officer_c1"])).status_code == 200
    assert audit_text().count("case:file:view") == before + 1
    refused = api.get(f"/cases/{case.id}", make_token(org["officer_c2"]))
    assert is_problem(refused, 403, "forbidden")
    assert "access:request:refused" in audit_text()


def test_an_unknown_case_is_404(org, api):  # type: ignore[no-untyped-def]
    response = api.get("/cases/00000000-0000-4000-8000-000000000000", make_token(org["officer_c1"]))
    assert is_problem(response, 404, "not-found")


def test_intake_creates_the_case_and_answers_201_with_its_address(org, api):  # type: ignore[no-untyped-def]
    token = make_token(org["officer_c1"])
    response = api.post("/cases", token, intake_body())
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/cases/{body['id']}")
    assert body["owning_unit"] == "C1" and body["status"] == "open"
    assert body["received_at"].startswith("2026-01-05T01:30:00")  # 08:30 in Vietnam, in UTC
    assert any(a["code"] == "safety_plan_now" for a in body["alerts"])
    again = api.get(response.headers["Location"].split("/api/v1")[1], token)
    assert again.get_json()["people"][0]["full_name"] == CANARY


def test_a_read_only_token_cannot_write(org, api):  # type: ignore[no-untyped-def]
    token = make_token(org["officer_c1"], scope="read")
    assert api.get("/cases", token).status_code == 200
    assert is_problem(api.post("/cases", token, intake_body()), 403, "insufficient-scope")
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_the_list_pages_by_an_opaque_cursor_and_filters_as_the_web(org, api, monkeypatch):  # type: ignore[no-untyped-def]
    from casework.cases import listing

    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    cases = [open_case(org["officer_c1"]) for _ in range(3)]
    open_case(org["officer_c2"])  # another unit's: never listed
    token = make_token(org["officer_c1"])
    first = api.get("/cases", token).get_json()
    cursor = first["next_cursor"]
    assert len(first["items"]) == 2 and cursor and ":" not in cursor  # no readable time
    second = api.get(f"/cases?after={cursor}", token).get_json()
    assert second["next_cursor"] is None
    listed = [row["id"] for row in first["items"] + second["items"]]
    assert sorted(listed) == sorted(str(c.id) for c in cases)
    assert api.get("/cases?status=closed", token).get_json()["items"] == []
    assert is_problem(api.get("/cases?status=nonsense", token), 422, "invalid")
    assert is_problem(api.get("/cases?colour=red", token), 422, "invalid")
    assert is_problem(api.get("/cases?after=%25%25", token), 400, "bad-request")
    assert is_problem(api.get("/cases?after=bm9uc2Vuc2U", token), 400, "bad-request")


def test_supervision_lists_the_subtree_without_identities(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    open_case(org["officer_c2"])
    response = api.get("/supervision", make_token(org["reviewer_d1"]))
    assert [row["id"] for row in response.get_json()["items"]] == [str(case.id)]
    assert CANARY not in response.get_data(as_text=True)


def test_deadlines_board(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    items = api.get("/deadlines", make_token(org["officer_c1"])).get_json()["items"]
    assert {i["kind"] for i in items} >= {"notify_commune_chair"}
    assert all(i["case_code"] == case.code for i in items)
    assert api.get("/deadlines", make_token(org["officer_c2"])).get_json()["items"] == []
    assert is_problem(api.get("/deadlines", make_token(org["auditor"])), 403, "forbidden")
