"""The API's case list takes the web list's unit, overdue and order filters, with the same result."""

from __future__ import annotations

from datetime import timedelta

from casework.db import utcnow
from tests.api.conftest import is_problem, make_token
from tests.cases.conftest import open_case


def _codes(api, token, query):  # type: ignore[no-untyped-def]
    response = api.get(f"/cases?{query}", token)
    assert response.status_code == 200, response.get_json()
    return [item["code"] for item in response.get_json()["items"]]


def test_unit_and_order_filters_narrow_and_sort_a_reviewer_list(org, api):  # type: ignore[no-untyped-def]
    now = utcnow()
    older = open_case(org["officer_c1"], received_at=now - timedelta(hours=3))
    newer = open_case(org["officer_c1"], received_at=now - timedelta(hours=1))
    elsewhere = open_case(org["officer_c2"], received_at=now - timedelta(hours=2))
    token = make_token(org["reviewer_hy"])
    assert _codes(api, token, "") == []  # a province reviewer holds none of them herself
    officer = make_token(org["officer_c1"])
    assert _codes(api, officer, "") == [newer.code, older.code]
    assert _codes(api, officer, "order=oldest") == [older.code, newer.code]
    assert _codes(api, officer, f"unit={org['C2'].id}") == []
    assert elsewhere.code not in _codes(api, officer, f"unit={org['C1'].id}")
    assert is_problem(api.get("/cases?unit=zero", officer), 422, "invalid")
    assert is_problem(api.get("/cases?order=sideways", officer), 422, "invalid")
