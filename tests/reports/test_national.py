"""The de-identified export for the national DV database: who may take it, what it holds, and
what it never holds."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.extensions import db
from casework.reports.national import COLUMNS
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, PASSWORD
from tests.reports.conftest import case_at, local


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def _cases(org):  # type: ignore[no-untyped-def]
    from casework.cases import people

    officer = org["officer_c1"]
    child = case_at(
        officer,
        local(2026, 4, 15, 9),
        severity="S4",
        source="hotline_111",
        types=["child_abuse.physical"],
    )
    victim = next(p for p in child.people if p.role == "victim")
    man = people.add_person(officer, child, role="perpetrator", full_name="Lê Văn C", sex="male")
    people.add_relationship(officer, child, victim, man, "child")
    case_at(org["officer_c2"], local(2025, 12, 31, 23, 30), severity="S2")  # the year before
    case_at(officer, local(2026, 1, 1, 0, 30), severity="S1")
    db.session.commit()
    return child


def _export(browser, year: str = "2026", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return browser.post(
        "/reports/national",
        {"year": year, "current_password": password},
        page="/reports/national",
    )


def test_province_reviewer_exports_one_deidentified_row_per_case(app, org, browser):  # type: ignore[no-untyped-def]
    child = _cases(org)
    _sign_in(browser, "reviewer.hy")
    page = browser.get("/reports?unit=HY&kind=year&year=2026&grouping=recorded")
    assert 'href="/reports/national"' in page.get_data(as_text=True)
    response = _export(browser)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == list(COLUMNS)
    # 1 January 00:30 local (17:30 UTC the day before) is in 2026; 31 December 23:30 is not.
    assert sorted(r["severity"] for r in rows) == ["S1", "S4"]
    row = next(r for r in rows if r["severity"] == "S4")
    assert row["month_received"] == "2026-04" and row["province_code"] == "HY"
    assert row["case_types"] == "child_abuse" and row["source"] == "hotline_111"
    assert row["perpetrator_relationship"] == "parent"
    assert (row["victims"], row["victims_female"], row["perpetrators_male"]) == ("1", "1", "1")
    for secret in (CANARY, "Lê Văn C", child.code, str(child.id), child.id.hex, "0912"):
        assert secret not in text
    (event,) = _events("report:national:export")
    assert json.loads(event.details) == {"rows": 2, "year": 2026}


def test_district_reviewers_and_officers_are_refused(app, org, new_browser):  # type: ignore[no-untyped-def]
    for username in ("reviewer.d1", "officer.c1", "admin.tw"):
        browser = new_browser()
        _sign_in(browser, username)
        assert browser.get("/reports/national").status_code == 403
    assert _events("report:national:export") == []
    assert len(_events("access:request:refused")) == 3


def test_national_export_needs_the_password_again(app, org, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, "reviewer.hy")
    response = _export(browser, password="not my password at all")
    assert response.status_code == 422
    (event,) = _events("report:national:export")
    assert event.outcome == "refused"
