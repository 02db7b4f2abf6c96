"""The report page and its exports as reviewers and officers meet them."""

from __future__ import annotations

import io
import json

from openpyxl import load_workbook
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.extensions import db
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, PASSWORD, audit_text
from tests.reports.conftest import add_perpetrator, case_at, local

APRIL = {"unit": "HY", "kind": "month", "year": "2026", "month": "4", "grouping": "recorded"}


def _query(**changes: str) -> str:
    args = {**APRIL, **changes}
    return "/reports?" + "&".join(f"{k}={v}" for k, v in args.items())


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def _april(org):  # type: ignore[no-untyped-def]
    for day in (2, 3, 4, 5, 6, 7):
        case_at(org["officer_c1"], local(2026, 4, day, 9), severity="S1")
    for day in (9, 10, 11, 12, 13):
        case_at(org["officer_c1"], local(2026, 4, day, 9), severity="S2")
    case = case_at(org["officer_c2"], local(2026, 4, 8, 9), severity="S3")
    add_perpetrator(org["officer_c2"], case)


def test_reviewer_sees_tables_and_charts_of_her_subtree_and_the_view_is_audited(app, org, browser):  # type: ignore[no-untyped-def]
    _april(org)
    _sign_in(browser, "reviewer.hy")
    response = browser.get(_query())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Cases received, by severity" in page and 'role="img"' in page and "<title" in page
    assert "&lt; 5" in page  # the single S3 case and the single C2 case are hidden
    assert CANARY not in page and "Trần Văn B" not in page
    (event,) = _events("report:report:view")
    assert event.object_id == str(org["HY"].id)
    assert json.loads(event.details) == {"grouping": "recorded", "period": "2026-04"}


def test_officer_report_of_her_unit_shows_exact_counts(app, org, browser):  # type: ignore[no-untyped-def]
    case_at(org["officer_c1"], local(2026, 4, 2, 9), severity="S2")
    _sign_in(browser, "officer.c1")
    page = browser.get(_query(unit="C1")).get_data(as_text=True)
    assert "&lt; 5" not in page
    assert 'class="num">1</td>' in page


def test_officer_is_refused_another_unit_and_the_refusal_is_audited(app, org, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, "officer.c1")
    assert browser.get(_query(unit="D1")).status_code == 403
    assert browser.get(_query(unit="C2")).status_code == 403
    assert len(_events("access:request:refused")) == 2
    assert _events("report:report:view") == []


def test_reviewer_is_refused_a_unit_outside_her_subtree(app, org, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, "reviewer.d1")
    assert browser.get(_query(unit="D2")).status_code == 403
    assert browser.get(_query(unit="HY")).status_code == 403


def test_partner_admin_and_auditor_have_no_reports(app, org, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, "admin.tw")
    assert browser.get(_query(unit="TW")).status_code == 403
    assert browser.get("/reports").status_code == 403


def test_bad_input_is_explained_and_nothing_is_recorded(app, org, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, "reviewer.hy")
    response = browser.get(_query(unit="NOPE"))
    assert response.status_code == 422 and "No unit has this code." in response.get_data(
        as_text=True
    )
    response = browser.get(_query(kind="range", start="2026-05-01", end="2026-04-01"))
    assert response.status_code == 422
    assert browser.get(_query(year="abc")).status_code == 422
    assert _events("report:report:view") == []


def _export(browser, fmt: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return browser.post(
        "/reports/export", {**APRIL, "format": fmt, "current_password": password}, page=_query()
    )


def test_xlsx_export_opens_and_carries_title_unit_and_period(app, org, browser):  # type: ignore[no-untyped-def]
    _april(org)
    _sign_in(browser, "reviewer.hy")
    response = _export(browser, "xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book.active
    assert "Unit HY" in sheet["A1"].value and "2026-04" in sheet["A1"].value
    assert sheet["B2"].value == "Unit HY (HY)"
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "< 5" in cells and "6" in cells
    assert not any(CANARY in c or "Trần Văn B" in c for c in cells)
    (event,) = _events("report:report:export")
    assert json.loads(event.details)["format"] == "xlsx"


def test_csv_export_suppresses_like_the_page(app, org, browser):  # type: ignore[no-untyped-def]
    _april(org)
    _sign_in(browser, "reviewer.hy")
    response = _export(browser, "csv")
    text = response.get_data().decode("utf-8-sig")
    assert text.splitlines()[0] == '"Report on cases: Unit HY, 2026-04"'
    assert "Unit,Unit HY (HY)" in text
    # The lone S3 case is hidden, and so is the next smallest count (S2: 5), or the total would
    # give the S3 count away.
    assert "S3 serious,< 5," in text and "S2 complex,×," in text and "S1 routine,6," in text
    assert "Total,12," in text
    assert CANARY not in text


def test_export_needs_the_password_again(app, org, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, "reviewer.hy")
    response = _export(browser, "xlsx", password="wrong password here")
    assert response.status_code == 422
    assert "The password is not correct." in response.get_data(as_text=True)
    (event,) = _events("report:report:export")
    assert event.outcome == "refused"
    assert CANARY not in audit_text() and "wrong password" not in audit_text()


def test_export_of_another_unit_is_refused(app, org, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, "officer.c1")
    response = browser.post(
        "/reports/export",
        {**APRIL, "format": "csv", "current_password": PASSWORD},
        page="/reports",
    )
    assert response.status_code == 403
    assert _events("report:report:export") == []


def test_a_unit_name_that_looks_like_a_formula_is_quoted_in_the_csv(app, org, browser):  # type: ignore[no-untyped-def]
    from tests.conftest import make_unit

    make_unit("C9", "commune", org["D1"], name='=HYPERLINK("http://x","y")')
    _sign_in(browser, "reviewer.hy")
    response = browser.post(
        "/reports/export",
        {**APRIL, "unit": "D1", "format": "csv", "current_password": PASSWORD},
        page=_query(unit="D1"),
    )
    text = response.get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in text and '\n"=HYPERLINK' not in text and "\n=HYPERLINK" not in text


def test_the_page_says_which_figures_are_live_and_which_from_the_summary(app, org, browser):  # type: ignore[no-untyped-def]
    from casework.cases.support import local_today
    from casework.reports import summary

    summary.refresh()
    db.session.commit()
    today = local_today()
    _sign_in(browser, "reviewer.hy")
    page = browser.get(_query(year=str(today.year), month=str(today.month))).get_data(as_text=True)
    assert (
        "This period's figures are live; the previous period's are from the monthly summary" in page
    )
    page = browser.get(_query()).get_data(as_text=True)  # April: over, all from the summary
    assert "Figures from the monthly summary, as of" in page and "are live" not in page
