"""The report through the API: the same decision as the web page for every role and unit, the same
suppressed cells as the page and its exports show, and the same audit events."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.extensions import db
from casework.reports import exports, service
from casework.reports.periods import Period
from tests.api.conftest import is_problem, make_token
from tests.api.test_cases import _web_browser, _with_partner
from tests.reports.test_views import _april

APRIL = {"unit": "HY", "kind": "month", "year": "2026", "month": "4", "grouping": "recorded"}
ROLES = ("officer_c1", "officer_c2", "reviewer_d1", "reviewer_hy", "partner", "auditor", "admin")


def _query(**changes: str) -> str:
    return "/reports?" + urlencode({**APRIL, **changes})


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def test_every_role_gets_the_web_decision_for_every_unit(org, api, new_browser):  # type: ignore[no-untyped-def]
    people = _with_partner(org)
    decisions = {}
    for name in ROLES:
        browser = _web_browser(new_browser, people[name])
        token = make_token(people[name], scope="read")
        for unit in ("C1", "D1", "HY"):
            web = browser.get(_query(unit=unit)).status_code
            through_api = api.get(_query(unit=unit), token).status_code
            assert through_api == web, (name, unit)
            decisions[name, unit] = web
    assert [decisions["officer_c1", u] for u in ("C1", "D1", "HY")] == [200, 403, 403]
    assert [decisions["officer_c2", u] for u in ("C1", "D1", "HY")] == [403, 403, 403]
    assert [decisions["reviewer_d1", u] for u in ("C1", "D1", "HY")] == [200, 200, 403]
    assert [decisions["reviewer_hy", u] for u in ("C1", "D1", "HY")] == [200, 200, 200]
    for name in ("partner", "auditor", "admin"):
        assert {decisions[name, u] for u in ("C1", "D1", "HY")} == {403}, name


def _shown(cell: dict) -> object:  # type: ignore[type-arg]
    """A cell as the page and the exports write it."""
    if cell["hidden"] == "below_threshold":
        return "< 5"
    if cell["hidden"] == "complement":
        return exports.COMPLEMENT_TEXT
    return cell["value"]


def test_small_counts_are_hidden_exactly_as_on_the_page_and_in_exports(org, api):  # type: ignore[no-untyped-def]
    _april(org)  # 11 cases in C1 (6 S1, 5 S2), 1 in C2 (S3)
    answer = api.get(_query(), make_token(org["reviewer_hy"], scope="read"))
    assert answer.status_code == 200
    doc = answer.get_json()
    assert doc["suppressed"] is True and doc["threshold"] == 5
    assert doc["period"]["slug"] == "2026-04" and doc["previous_period"]["slug"] == "2026-03"
    severity = next(t for t in doc["tables"] if t["key"] == "severity")
    cells = {r["key"]: r["current"] for g in severity["groups"] for r in g["rows"]}
    assert cells["S1"] == {"value": 6, "hidden": None}
    assert cells["S3"] == {"value": None, "hidden": "below_threshold"}
    # S2 (5) would give S3 away by subtraction from the shown total: hidden too.
    assert cells["S2"] == {"value": None, "hidden": "complement"}
    assert doc["total"]["current"] == {"value": 12, "hidden": None}

    # Every cell of every table is what the web's rendering of the same report shows.
    report = service.build_report(
        org["reviewer_hy"], org["HY"], Period.calendar("month", 2026, 4), "recorded"
    )
    for table, shown in zip(report.tables, doc["tables"], strict=True):
        assert shown["key"] == table.key
        for group, g in zip(table.groups, shown["groups"], strict=True):
            for row, r in zip(group.rows, g["rows"], strict=True):
                expected = (
                    exports._cell(row.shown_current, report),
                    exports._cell(row.shown_previous, report),
                )
                assert (_shown(r["current"]), _shown(r["previous"])) == expected
            if table.adds_up:
                assert _shown(g["total"]["current"]) == exports._cell(
                    group.shown_total_current, report
                )
            else:
                assert g["total"] is None
    # No hidden number travels: every value shown is 0 or at least the threshold.
    values = [
        cell["value"]
        for t in doc["tables"]
        for g in t["groups"]
        for r in g["rows"]
        for cell in (r["current"], r["previous"])
        if cell["value"] is not None
    ]
    assert values and all(v == 0 or v >= 5 for v in values)


def test_an_officers_report_of_her_own_unit_shows_exact_counts(org, api):  # type: ignore[no-untyped-def]
    _april(org)
    doc = api.get(_query(unit="C2"), make_token(org["officer_c2"])).get_json()
    assert doc["suppressed"] is False and doc["threshold"] == 1
    severity = next(t for t in doc["tables"] if t["key"] == "severity")
    cells = {r["key"]: r["current"] for g in severity["groups"] for r in g["rows"]}
    assert cells["S3"] == {"value": 1, "hidden": None}
    assert doc["total"]["current"] == {"value": 1, "hidden": None}


def test_the_view_and_the_refusal_are_audited_as_on_the_web(org, api):  # type: ignore[no-untyped-def]
    token = make_token(org["officer_c1"])
    assert api.get(_query(unit="C1"), token).status_code == 200
    (event,) = _events("report:report:view")
    assert event.object_id == str(org["C1"].id)
    assert json.loads(event.details) == {"grouping": "recorded", "period": "2026-04"}
    assert is_problem(api.get(_query(unit="D1"), token), 403, "forbidden")
    (refusal,) = _events("access:request:refused")
    assert json.loads(refusal.details)["permission"] == "report:view"
    assert len(_events("report:report:view")) == 1


def test_a_range_of_days_and_the_successor_grouping(org, api):  # type: ignore[no-untyped-def]
    token = make_token(org["reviewer_hy"])
    query = _query(kind="range", start="2026-04-01", end="2026-04-10", grouping="successor")
    doc = api.get(query.replace("&year=2026&month=4", ""), token).get_json()
    assert doc["period"] == {
        "kind": "range",
        "start": "2026-04-01",
        "end": "2026-04-10",
        "slug": "2026-04-01_2026-04-10",
    }
    assert doc["previous_period"]["end"] == "2026-03-31"
    assert doc["grouping"] == "successor"


def test_bad_questions_are_422_and_nothing_is_recorded(org, api):  # type: ignore[no-untyped-def]
    token = make_token(org["reviewer_hy"])
    cases = {
        "month": _query(month=""),
        "kind": _query().replace("kind=month&", ""),
        "unit": _query(unit="NOPE"),
        "end": _query(kind="range", start="2026-05-01", end="2026-04-01"),
        "colour": _query(colour="red"),
        "grouping": _query(grouping="flat"),
        "year": _query(year="1999"),
    }
    assert "kind=" not in cases["kind"]
    unknown_kind = api.get(_query(kind="week"), token)
    assert is_problem(unknown_kind, 422, "invalid") and "kind" in unknown_kind.get_json()["errors"]
    for field, query in cases.items():
        answer = api.get(query, token)
        assert is_problem(answer, 422, "invalid"), field
        assert field in answer.get_json()["errors"], (field, answer.get_json())
    assert _events("report:report:view") == []


def test_an_auditor_is_refused_before_her_question_is_read(org, api):  # type: ignore[no-untyped-def]
    token = make_token(org["auditor"])
    assert is_problem(api.get(_query(colour="red"), token), 403, "forbidden")


def test_report_and_audit_answers_match_their_declared_schemas(org, api):  # type: ignore[no-untyped-def]
    from tests.api.test_openapi import _document, _validator

    _april(org)
    reviewer, auditor = make_token(org["reviewer_hy"]), make_token(org["auditor"])
    doc = _document(api, reviewer)
    case_id = _events("case:file:open")[0].object_id
    checks = [
        ("Report", api.get(_query(), reviewer)),
        ("Report", api.get(_query(unit="C1", kind="year"), reviewer)),
        ("AuditEventPage", api.get("/audit/events", auditor)),
        (
            "AuditViewerList",
            api.get(f"/audit/viewers?object_type=case_file&object_id={case_id}", auditor),
        ),
        ("AuditCheckpointStatus", api.get("/audit/checkpoint", auditor)),
    ]
    for name, response in checks:
        assert response.status_code == 200, name
        errors = list(_validator(doc, name).iter_errors(response.get_json()))
        assert not errors, (name, errors[:1])
