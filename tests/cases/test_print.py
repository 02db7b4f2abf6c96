"""The printable case file (hồ sơ vụ việc): whole, marked confidential on every page, audited."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.cases import attachments, service
from casework.extensions import db
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, PASSWORD, audit_text


@pytest.fixture(autouse=True)
def _attachment_dir(app, tmp_path):  # type: ignore[no-untyped-def]
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")


def _prints() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == "case:file:print")))


def test_officer_prints_the_whole_file_marked_confidential(app, org, browser):
    case = open_case(org["officer_c1"], reporter_name="Neighbour Lan")
    attachments.upload_attachment(
        org["officer_c1"],
        case,
        stream=io.BytesIO(b"%PDF-1.4\n%%EOF\n"),
        filename="Giấy chứng thương.pdf",
        description="Medical certificate",
    )
    db.session.commit()
    _sign_in(browser, "officer.c1")
    response = browser.get(f"/cases/{case.id}/print")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The mark is in the table header and footer, which browsers repeat on every printed page.
    head = html.split("<thead>")[1].split("</thead>")[0]
    foot = html.split("<tfoot>")[1].split("</tfoot>")[0]
    assert "CONFIDENTIAL / MẬT" in head and "CONFIDENTIAL / MẬT" in foot
    assert "Printed by Staff officer.c1" in head
    # The whole file: intake, classification, people, attachments.
    assert case.code in html
    assert "was beaten by her husband" in html and "Neighbour Lan" in html
    assert CANARY in html
    assert 'id="classification"' in html and 'id="people"' in html
    attachments_part = html.split('id="attachments"')[1]
    assert "Giấy chứng thương.pdf" in attachments_part and "Medical certificate" in attachments_part
    # Read-only: no upload form and no download link on paper.
    assert "multipart/form-data" not in html
    assert "/attachments/" not in attachments_part
    title = html.split("<title>")[1].split("</title>")[0]
    assert case.code in title and "Canary" not in title and "Nguy" not in title
    assert response.headers["Cache-Control"] == "no-store"


def test_every_printout_is_audited_without_personal_data(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    browser.get(f"/cases/{case.id}/print")
    browser.get(f"/cases/{case.id}/print")
    events = _prints()
    assert [(e.object_id, e.actor_id, e.outcome) for e in events] == [
        (str(case.id), org["officer_c1"].id, "ok")
    ] * 2
    rows = audit_text()
    assert "Canary" not in rows and "Hoàng" not in rows and "beaten" not in rows


def test_the_print_stylesheet_marks_every_page(app):
    with app.open_resource("static/css/casework.css") as fh:
        css = fh.read().decode()
    page_rule = css.split("@page")[1]
    assert "@top-center" in page_rule and "CONFIDENTIAL / M\\1EAC T" in page_rule
    assert "@media print" in css


@pytest.mark.parametrize("who", ["officer.c2", "admin.tw", "auditor.tw", "reviewer.d1"])
def test_outsiders_cannot_print_and_the_attempt_is_audited(app, org, new_browser, who):
    case = open_case(org["officer_c1"])
    browser = new_browser()
    _sign_in(browser, who)
    response = browser.get(f"/cases/{case.id}/print")
    assert response.status_code == 403
    assert CANARY not in response.get_data(as_text=True)
    assert _prints() == []
    refused = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.outcome == "refused", AuditEvent.tag == "access:request:refused"
        )
    ).all()
    assert refused and "cases.print_file" in refused[-1].details


def test_a_reviewer_with_break_glass_may_print(app, org, browser):
    case = open_case(org["officer_c1"])
    service.break_glass(
        org["reviewer_d1"], case, "Checking how a serious case is handled", password=PASSWORD
    )
    db.session.commit()
    _sign_in(browser, "reviewer.d1")
    response = browser.get(f"/cases/{case.id}/print")
    assert response.status_code == 200
    assert [e.actor_id for e in _prints()] == [org["reviewer_d1"].id]


def test_the_file_page_links_to_the_printable_file(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'href="/cases/{case.id}/print"' in html
