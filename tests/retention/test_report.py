"""The retention report (auditors: what was erased and when, no personal data) and the
processing register generated from the configuration."""

from __future__ import annotations

from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.extensions import db
from casework.retention import service
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY
from tests.retention.conftest import closed_case

REASON = "Police request 77/CAT-PC02"


def _erase_one(app, org):  # type: ignore[no-untyped-def]
    erased = closed_case(org, days_ago=6 * 365)
    held = closed_case(org, days_ago=6 * 365)
    service.set_hold(org["reviewer_hy"], held, REASON, None)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    return erased, held


def test_the_auditor_sees_which_cases_were_erased_and_when_without_personal_data(app, org, browser):
    erased, held = _erase_one(app, org)
    _sign_in(browser, "auditor.tw")
    response = browser.get("/retention/report")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert erased.code in page  # in the erased cases
    assert held.code in page and "reviewer.hy" in page  # in the holds, with who set it
    assert CANARY not in page and REASON not in page
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.tag == "retention:report:view")
    ).one()


def test_case_staff_and_admins_are_refused_the_retention_report(app, org, browser, new_browser):
    _erase_one(app, org)
    for username in ("reviewer.hy", "admin.tw", "officer.c1"):
        b = new_browser()
        _sign_in(b, username)
        assert b.get("/retention/report").status_code == 403, username


def test_the_report_command_lists_erasures_as_text_and_csv(app, org):
    erased, held = _erase_one(app, org)
    runner = app.test_cli_runner()
    text = runner.invoke(args=["retention", "report"]).output
    assert erased.code in text and held.code not in text
    assert "1 vụ việc đã bị xóa do hết thời hạn lưu trữ." in text
    csv = runner.invoke(args=["retention", "report", "--csv"]).output
    header, row = csv.strip().splitlines()
    assert header.startswith("case,closed_on,years,expired_on,erased_at")
    assert row.startswith(f"{erased.code},") and ",5," in row and CANARY not in csv


def test_the_processing_register_follows_the_configuration(app, tmp_path):
    runner = app.test_cli_runner()
    with app.app_context():
        app.config["RETENTION_YEARS"] = {"trafficking": 17}
        app.config["DATA_PROTECTION_CONTACT"] = "dpo@hoilhpn.example"
        out = tmp_path / "register.md"
        result = runner.invoke(args=["processing-register", "--lang", "en", "--output", str(out)])
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
    assert "| Human trafficking | 17 |" in text
    assert "dpo@hoilhpn.example" in text
    assert "Refer to legal aid" in text and "Urgent protection of life or health" in text
    # Every record with encrypted fields is listed, with the fields.
    assert "full_name, aliases, date_of_birth, phone, address, id_number" in text
    assert "summary, reporter_name, reporter_contact" in text
    html = runner.invoke(args=["processing-register", "--lang", "en", "--format", "html"]).output
    assert html.startswith("<!doctype html>") and "<td>Human trafficking</td><td>17</td>" in html
