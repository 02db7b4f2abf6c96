"""The audit log through the API: the web viewer's decisions for every role, its scope (reviewers see
their subtree only), its filters and keyset pages, "who has seen this file", the latest checkpoint;
ids and staff names, never case content."""

from __future__ import annotations

from casework import audit
from casework.audit import Tag, checkpoints
from casework.extensions import db
from tests.api.conftest import is_problem, make_token
from tests.api.test_cases import _web_browser, _with_partner
from tests.cases.conftest import open_case
from tests.conftest import CANARY

ROLES = ("officer_c1", "reviewer_d1", "reviewer_d2", "partner", "auditor", "admin")


def test_every_role_gets_the_web_viewers_decision(org, api, new_browser):  # type: ignore[no-untyped-def]
    people = _with_partner(org)
    case = open_case(org["officer_c1"])
    decisions = {}
    for name in ROLES:
        browser = _web_browser(new_browser, people[name])
        token = make_token(people[name], scope="read")
        web = (
            browser.get("/audit/").status_code,
            browser.get(f"/audit/object/case_file/{case.id}").status_code,
            browser.get("/audit/checkpoint").status_code,
        )
        through_api = (
            api.get("/audit/events", token).status_code,
            api.get(f"/audit/viewers?object_type=case_file&object_id={case.id}", token).status_code,
            api.get("/audit/checkpoint", token).status_code,
        )
        assert through_api == web, name
        decisions[name] = web
    assert decisions["auditor"] == (200, 200, 200)
    assert decisions["reviewer_d1"] == decisions["reviewer_d2"] == (200, 200, 403)
    for name in ("officer_c1", "partner", "admin"):
        assert decisions[name] == (403, 403, 403), name


def test_auditors_see_staff_and_ids_never_case_content(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["auditor"])
    answer = api.get(f"/audit/events?object_id={case.id}", token)
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert CANARY not in text and "0912 345 678" not in text
    (opened,) = [e for e in answer.get_json()["items"] if e["tag"] == "case:file:open"]
    assert opened["actor_username"] == "officer.c1"
    assert opened["actor_name"] == org["officer_c1"].display_name
    assert opened["actor_unit"] == "C1" and opened["actor_role"] == "officer"
    assert opened["object_type"] == "case_file" and opened["object_id"] == str(case.id)
    assert isinstance(opened["details"], dict)

    viewers = api.get(f"/audit/viewers?object_type=case_file&object_id={case.id}", token)
    assert CANARY not in viewers.get_data(as_text=True)
    (officer,) = viewers.get_json()["items"]
    assert officer["actor_username"] == "officer.c1" and officer["events"] >= 1


def test_reviewers_see_only_their_subtree(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])  # C1 is under D1, not under D2
    query = f"?object_type=case_file&object_id={case.id}"
    inside = make_token(org["reviewer_d1"])
    outside = make_token(org["reviewer_d2"])
    assert api.get("/audit/events" + query, inside).get_json()["items"]
    assert api.get("/audit/events" + query, outside).get_json()["items"] == []
    assert api.get("/audit/viewers" + query, inside).get_json()["items"]
    assert api.get("/audit/viewers" + query, outside).get_json()["items"] == []


def test_filters_and_keyset_pages_walk_the_log_without_gaps(org, api):  # type: ignore[no-untyped-def]
    for n in range(70):
        audit.record(org["officer_c1"], Tag.CASE_SEARCH, object_type="case_file", shown=n)
    audit.record(org["officer_c1"], Tag.CASE_SEARCH, outcome="refused", object_type="case_file")
    db.session.commit()
    token = make_token(org["auditor"])
    base = "/audit/events?tag=case:file:search&actor=officer.c1"
    first = api.get(base, token).get_json()
    assert len(first["items"]) == 50 and first["newer"] is None
    second = api.get(f"{base}&before={first['older']}", token).get_json()
    assert len(second["items"]) == 21 and second["older"] is None
    seqs = [e["seq"] for e in first["items"] + second["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 71
    assert {e["tag"] for e in first["items"] + second["items"]} == {"case:file:search"}
    back = api.get(f"{base}&after={second['newer']}", token).get_json()
    assert [e["seq"] for e in back["items"]] == [e["seq"] for e in first["items"]]

    refused = api.get(base + "&outcome=refused", token).get_json()["items"]
    assert [e["outcome"] for e in refused] == ["refused"]
    assert api.get(base + "&date_from=2100-01-01", token).get_json()["items"] == []


def test_bad_filters_are_422(org, api):  # type: ignore[no-untyped-def]
    token = make_token(org["auditor"])
    for query, field in [
        ("tag=case:file:eat", "tag"),
        ("object_type=Case!", "object_type"),
        ("date_from=yesterday", "date_from"),
        ("before=abc", "before"),
        ("before=5&after=3", "after"),
        ("colour=red", "colour"),
    ]:
        answer = api.get(f"/audit/events?{query}", token)
        assert is_problem(answer, 422, "invalid"), query
        assert field in answer.get_json()["errors"], query
    missing = api.get("/audit/viewers?object_type=case_file", token)
    assert is_problem(missing, 422, "invalid") and "object_id" in missing.get_json()["errors"]


def test_the_latest_checkpoint_is_shown_to_auditors(org, api):  # type: ignore[no-untyped-def]
    token = make_token(org["auditor"])
    made = checkpoints.checkpoint_now(org["auditor"])
    db.session.commit()
    latest = api.get("/audit/checkpoint", token).get_json()["latest"]
    assert latest["seq"] == made.seq and latest["hash"] == bytes(made.hash).hex()
    assert latest["key_id"] == made.key_id and latest["algorithm"] == made.algorithm
