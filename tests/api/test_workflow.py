"""Workflow endpoints (quick reports, escalation, take-over, closure, reopening) give the same
decision as the web's buttons for every role, change what the web changes, and refuse bad input
with nothing changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from casework.cases.models import Case
from casework.cases.workflow import service as wf
from casework.cases.workflow.models import ClosureRequest, Escalation, QuickReport
from casework.extensions import db
from tests.api.conftest import is_problem, make_token
from tests.api.test_cases import ROLES, _web_browser, _with_partner
from tests.api.test_openapi import _document, _validator
from tests.cases.conftest import classified_case, open_case
from tests.conftest import CANARY, audit_text, make_user


def _escalated(org) -> Escalation:  # type: ignore[no-untyped-def]
    escalation = wf.request_escalation(
        org["officer_c1"], classified_case(org["officer_c1"]), "Perpetrator is an official"
    )
    db.session.commit()
    return escalation


def _closure(org) -> ClosureRequest:  # type: ignore[no-untyped-def]
    request = wf.request_closure(
        org["officer_c1"], classified_case(org["officer_c1"]), "resolved", "Safe with her mother"
    )
    db.session.commit()
    return request


def _web(response) -> str:  # type: ignore[no-untyped-def]
    return "ok" if response.status_code == 303 else str(response.status_code)


def _api(response) -> str:  # type: ignore[no-untyped-def]
    return "ok" if response.status_code in (200, 201) else str(response.status_code)


def _count(model: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _status(case_id) -> str:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.get(Case, case_id).status


# --- Same decision as the web, role by role -------------------------------------------------------


def test_every_role_gets_the_web_decision_on_workflow_steps(org, new_browser, api):  # type: ignore[no-untyped-def]
    people = _with_partner(org)
    decisions = {}
    for name in ROLES:
        user = people[name]
        token = make_token(user)
        browser = _web_browser(new_browser, user)
        case = classified_case(org["officer_c1"])
        web_esc, api_esc = _escalated(org), _escalated(org)
        web_clo, api_clo = _closure(org), _closure(org)
        web = (
            _web(
                browser.post(f"/cases/{case.id}/quick-report", {"situation": "Injured."}, page="/")
            ),
            _web(browser.post(f"/escalations/{web_esc.id}/accept", {}, page="/")),
            _web(browser.post(f"/closures/{web_clo.id}/approve", {"comment": "Agreed"}, page="/")),
        )
        through_api = (
            _api(api.post(f"/cases/{case.id}/quick-reports", token, {"situation": "Injured."})),
            _api(api.post(f"/escalations/{api_esc.id}/accept", token)),
            _api(api.post(f"/closure-requests/{api_clo.id}/approve", token, {"comment": "Agreed"})),
        )
        assert through_api == web, name
        decisions[name] = web
    assert decisions["officer_c1"] == ("ok", "403", "403")
    assert decisions["reviewer_d1"] == ("403", "ok", "ok")  # not the handling unit; the unit above
    assert decisions["reviewer_hy"] == ("403", "403", "ok")  # any reviewer above decides closure
    for name in ("officer_c2", "reviewer_d2", "partner", "auditor", "admin"):
        assert "ok" not in decisions[name], name


def test_nobody_approves_her_own_closure_request(org, new_browser, api):  # type: ignore[no-untyped-def]
    # At the top of the tree the deciders are the other reviewers of the same unit.
    asker = make_user("reviewer.tw", "reviewer", org["TW"])
    other = make_user("reviewer.tw2", "reviewer", org["TW"])
    requests = []
    for _ in range(2):
        case = classified_case(org["officer_c1"])
        wf.take_over(asker, case, "National attention")
        requests.append(wf.request_closure(asker, case, "resolved", "Safe"))
    db.session.commit()
    web_own, api_own = requests
    browser = _web_browser(new_browser, asker)
    assert browser.post(f"/closures/{web_own.id}/approve", {}, page="/").status_code == 403
    own = api.post(f"/closure-requests/{api_own.id}/approve", make_token(asker), {})
    assert is_problem(own, 403, "forbidden")
    assert _status(api_own.case_id) == "closure_requested"
    by_other = api.post(f"/closure-requests/{api_own.id}/approve", make_token(other), {})
    assert by_other.status_code == 200 and by_other.get_json()["case_status"] == "closed"


# --- Quick reports -------------------------------------------------------------------------------


def test_a_quick_report_reaches_the_district_without_names_and_its_read_is_audited(org, api):  # type: ignore[no-untyped-def]
    case = classified_case(org["officer_c1"])
    officer, district = make_token(org["officer_c1"]), make_token(org["reviewer_d1"])
    sent = api.post(f"/cases/{case.id}/quick-reports", officer, {"situation": "Police informed."})
    assert sent.status_code == 201 and sent.get_json()["number"] == 1
    corrected = api.post(
        f"/cases/{case.id}/quick-reports", officer, {"situation": "Now at shelter."}
    )
    assert corrected.get_json()["supersedes_id"] == sent.get_json()["id"]
    listed = api.get("/quick-reports", district).get_json()["items"]
    assert [r["number"] for r in listed] == [2, 1] and listed[0]["case_code"] == case.code
    assert api.get("/quick-reports", make_token(org["reviewer_d2"])).get_json()["items"] == []
    before = audit_text().count("quick_report:view")
    report = api.get(f"/quick-reports/{listed[0]['id']}", district)
    assert report.status_code == 200 and report.get_json()["situation"] == "Now at shelter."
    assert CANARY not in report.get_data(as_text=True)
    assert audit_text().count("quick_report:view") == before + 1
    other = api.get(f"/quick-reports/{listed[0]['id']}", make_token(org["reviewer_d2"]))
    assert other.status_code == 403
    assert is_problem(api.get("/quick-reports", officer), 403, "forbidden")


def test_a_quick_report_is_forwarded_once(org, api):  # type: ignore[no-untyped-def]
    case = classified_case(org["officer_c1"])
    report = wf.send_quick_report(org["officer_c1"], case, "Injured.")
    db.session.commit()
    district = make_token(org["reviewer_d1"])
    forwarded = api.post(f"/quick-reports/{report.id}/forward", district)
    assert forwarded.status_code == 200
    assert set(forwarded.get_json()["delivered_to"]) == {"D1", "HY"}
    assert api.get("/quick-reports", make_token(org["reviewer_hy"])).get_json()["items"]
    assert is_problem(api.post(f"/quick-reports/{report.id}/forward", district), 409, "conflict")
    assert (
        api.post(f"/quick-reports/{report.id}/forward", make_token(org["reviewer_d2"])).status_code
        == 403
    )


def test_bad_quick_reports_change_nothing(org, api):  # type: ignore[no-untyped-def]
    case = classified_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    path = f"/cases/{case.id}/quick-reports"
    assert is_problem(api.post(path, token, {"situation": ""}), 422, "invalid")
    assert is_problem(api.post(path, token, {"situation": 3}), 422, "invalid")
    assert is_problem(api.post(path, token, {"situation": "x", "name": CANARY}), 422, "invalid")
    assert is_problem(api.post(path, token, {"situation": "x" * 2001}), 422, "invalid")
    unclassified = open_case(org["officer_c1"])
    refused = api.post(f"/cases/{unclassified.id}/quick-reports", token, {"situation": "x"})
    assert is_problem(refused, 422, "invalid")
    assert _count(QuickReport) == 0


# --- Escalation and take-over --------------------------------------------------------------------


def test_escalation_requested_then_returned_with_guidance(org, api):  # type: ignore[no-untyped-def]
    case = classified_case(org["officer_c1"])
    officer, district = make_token(org["officer_c1"]), make_token(org["reviewer_d1"])
    asked = api.post(f"/cases/{case.id}/escalations", officer, {"reason": "Official involved"})
    assert asked.status_code == 201 and asked.get_json()["to_unit"] == "D1"
    again = api.post(f"/cases/{case.id}/escalations", officer, {"reason": "Again"})
    assert is_problem(again, 409, "conflict")
    escalation_id = asked.get_json()["id"]
    empty = api.post(f"/escalations/{escalation_id}/return", district, {"guidance": ""})
    assert is_problem(empty, 422, "invalid")
    returned = api.post(
        f"/escalations/{escalation_id}/return", district, {"guidance": "Call the police"}
    )
    assert returned.status_code == 200
    assert returned.get_json()["status"] == "returned"
    assert returned.get_json()["guidance"] == "Call the police"
    late = api.post(f"/escalations/{escalation_id}/accept", district)
    assert is_problem(late, 409, "conflict")
    db.session.expire_all()
    assert db.session.get(Case, case.id).handling_unit_id == org["C1"].id


def test_escalation_accepted_moves_the_case(org, api):  # type: ignore[no-untyped-def]
    escalation = _escalated(org)
    accepted = api.post(f"/escalations/{escalation.id}/accept", make_token(org["reviewer_d1"]))
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    db.session.expire_all()
    assert db.session.get(Case, escalation.case_id).handling_unit_id == org["D1"].id


def test_take_over_by_a_reviewer_above_only(org, api):  # type: ignore[no-untyped-def]
    case = classified_case(org["officer_c1"])
    path = f"/cases/{case.id}/take-over"
    assert api.post(path, make_token(org["officer_c1"]), {"reason": "x"}).status_code == 403
    assert api.post(path, make_token(org["reviewer_d2"]), {"reason": "x"}).status_code == 403
    assert is_problem(api.post(path, make_token(org["reviewer_hy"]), {}), 422, "invalid")
    taken = api.post(path, make_token(org["reviewer_hy"]), {"reason": "Serious"})
    assert taken.status_code == 201 and taken.get_json()["kind"] == "take_over"
    db.session.expire_all()
    assert db.session.get(Case, case.id).handling_unit_id == org["HY"].id


# --- Closure and reopening -----------------------------------------------------------------------


def test_closure_requested_refused_requested_approved_and_reopened(org, api):  # type: ignore[no-untyped-def]
    case = classified_case(org["officer_c1"])
    officer, district = make_token(org["officer_c1"]), make_token(org["reviewer_d1"])
    path = f"/cases/{case.id}/closure-requests"
    before = _status(case.id)
    assert is_problem(api.post(path, officer, {"reason": "bored", "outcome": "x"}), 422, "invalid")
    assert _status(case.id) == before != "closure_requested"
    assert _count(ClosureRequest) == 0
    first = api.post(path, officer, {"reason": "resolved", "outcome": "Safe with her mother"})
    assert first.status_code == 201 and first.get_json()["case_status"] == "closure_requested"
    refuse = f"/closure-requests/{first.get_json()['id']}/refuse"
    assert is_problem(api.post(refuse, district, {}), 422, "invalid")
    assert _status(case.id) == "closure_requested"
    refused = api.post(refuse, district, {"comment": "Check on her next week"})
    assert refused.status_code == 200 and refused.get_json()["case_status"] == "active"
    second = api.post(path, officer, {"reason": "needs_met", "outcome": "Divorced, safe"})
    approved = api.post(f"/closure-requests/{second.get_json()['id']}/approve", district, {})
    assert approved.get_json()["status"] == "approved" and _status(case.id) == "closed"
    reopen = f"/cases/{case.id}/reopen"
    assert api.post(reopen, officer, {"reason": "New violence"}).status_code == 403
    reopened = api.post(reopen, district, {"reason": "New violence"})
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "active"
    assert is_problem(api.post(reopen, district, {"reason": "Again"}), 409, "conflict")


# --- Scope, partners, documentation --------------------------------------------------------------


def test_a_read_only_token_changes_nothing(org, api):  # type: ignore[no-untyped-def]
    case = classified_case(org["officer_c1"])
    escalation = _escalated(org)
    officer = make_token(org["officer_c1"], scope="read")
    district = make_token(org["reviewer_d1"], scope="read")
    sent = api.post(f"/cases/{case.id}/quick-reports", officer, {"situation": "x"})
    assert is_problem(sent, 403, "insufficient-scope")
    accepted = api.post(f"/escalations/{escalation.id}/accept", district)
    assert is_problem(accepted, 403, "insufficient-scope")
    assert _count(QuickReport) == 0
    db.session.expire_all()
    assert db.session.get(Escalation, escalation.id).status == "pending"


def test_a_partner_token_reaches_no_case_step(org, api):  # type: ignore[no-untyped-def]
    people = _with_partner(org)
    case = classified_case(org["officer_c1"])
    token = make_token(people["partner"])
    for path, body in (
        (f"/cases/{case.id}/quick-reports", {"situation": "x"}),
        (f"/cases/{case.id}/escalations", {"reason": "x"}),
        (f"/cases/{case.id}/closure-requests", {"reason": "resolved", "outcome": "x"}),
        (f"/cases/{case.id}/take-over", {"reason": "x"}),
    ):
        assert api.post(path, token, body).status_code in (403, 404), path
    assert api.get("/quick-reports", token).status_code == 403
    assert _status(case.id) != "closure_requested"


def test_workflow_answers_match_their_declared_schemas(org, api):  # type: ignore[no-untyped-def]
    officer, district = make_token(org["officer_c1"]), make_token(org["reviewer_d1"])
    doc = _document(api, officer)
    case = classified_case(org["officer_c1"])
    sent = api.post(f"/cases/{case.id}/quick-reports", officer, {"situation": "x"})
    checks = [
        ("QuickReport", sent),
        ("QuickReportList", api.get("/quick-reports", district)),
        ("QuickReport", api.get(f"/quick-reports/{sent.get_json()['id']}", district)),
        ("Escalation", api.post(f"/cases/{case.id}/escalations", officer, {"reason": "x"})),
        ("Closure", api.post(f"/closure-requests/{_closure(org).id}/approve", district, {})),
        ("Problem", api.post(f"/cases/{case.id}/escalations", officer, {"colour": "red"})),
    ]
    for name, response in checks:
        assert response.status_code < 500, name
        errors = list(_validator(doc, name).iter_errors(response.get_json()))
        assert not errors, (name, errors[:1])
    paths = doc["paths"]
    assert "requestBody" in paths["/cases/{case_id}/quick-reports"]["post"]
    assert "412" not in paths["/escalations/{escalation_id}/accept"]["post"]["responses"]
