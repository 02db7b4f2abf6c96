"""A crypto-shredded case: its files and pages say the data has been erased (410), in the user's
language, and every such attempt is audited; nothing fails with a server error."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.cases import attachments
from casework.crypto import files, shredding
from casework.extensions import db
from tests.cases.conftest import open_case
from tests.cases.test_filetypes import PDF
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY


@pytest.fixture(autouse=True)
def _attachment_dir(app, tmp_path):  # type: ignore[no-untyped-def]
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    app.config["SHRED_LEDGER_FILE"] = str(tmp_path / "shred-ledger.jsonl")


def _shredded_case_with_a_file(org):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    attachment = attachments.upload_attachment(
        org["officer_c1"],
        case,
        stream=io.BytesIO(PDF),
        filename=f"{CANARY} giấy chứng thương.pdf",
        description="Medical certificate",
    )
    db.session.commit()
    ids = case.id, attachment.id
    shredding.shred(None, "case", case.id)
    db.session.commit()
    db.session.expire_all()
    return ids


def _download(browser, case_id, attachment_id):  # type: ignore[no-untyped-def]
    return browser.get(f"/cases/{case_id}/attachments/{attachment_id}")


def _refusals(tag: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.tag == tag, AuditEvent.outcome == "refused")
        )
    )


def test_a_file_of_an_erased_case_answers_410_with_a_clear_page_and_is_audited(app, org, browser):
    case_id, attachment_id = _shredded_case_with_a_file(org)
    _sign_in(browser, "officer.c1")
    response = _download(browser, case_id, attachment_id)
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "This file has been erased for good" in html
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response.headers and CANARY not in html
    [event] = _refusals("case:attachment:download")
    assert event.object_id == str(attachment_id) and event.actor_id == org["officer_c1"].id
    assert '"erased"' in event.details and str(case_id) in event.details


def test_a_file_removed_from_disk_after_erasure_also_answers_410(app, org, browser):
    case_id, attachment_id = _shredded_case_with_a_file(org)
    files.remove_owner_files("case", case_id)
    _sign_in(browser, "officer.c1")
    response = _download(browser, case_id, attachment_id)
    assert response.status_code == 410
    assert "This file has been erased for good" in response.get_data(as_text=True)


def test_a_missing_file_of_a_live_case_is_an_error_not_an_erasure(app, org, browser):
    case = open_case(org["officer_c1"])
    attachment = attachments.upload_attachment(
        org["officer_c1"], case, stream=io.BytesIO(PDF), filename="a.pdf", description="x"
    )
    db.session.commit()
    files.remove_owner_files("case", case.id)
    _sign_in(browser, "officer.c1")
    assert _download(browser, case.id, attachment.id).status_code == 500
    assert _refusals("case:attachment:download") == []


@pytest.mark.parametrize("page", ["", "/print", "/intake"])
def test_pages_of_an_erased_case_answer_410_and_are_audited(app, org, browser, page):
    case_id, _attachment_id = _shredded_case_with_a_file(org)
    _sign_in(browser, "officer.c1")
    response = browser.get(f"/cases/{case_id}{page}")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "erased for good (crypto-shredded)" in html and CANARY not in html
    [event] = _refusals("case:file:view")
    assert event.object_id == str(case_id) and '"erased"' in event.details


def test_the_erased_case_stays_in_lists_and_de_identified_summaries(app, org, new_browser):
    case_id, _attachment_id = _shredded_case_with_a_file(org)
    officer = new_browser()
    _sign_in(officer, "officer.c1")
    assert str(case_id) in officer.get("/cases/").get_data(as_text=True)
    reviewer = new_browser()
    _sign_in(reviewer, "reviewer.d1")
    assert reviewer.get(f"/cases/{case_id}/summary").status_code == 200


def test_outsiders_are_refused_before_anything_says_the_case_was_erased(app, org, browser):
    case_id, attachment_id = _shredded_case_with_a_file(org)
    _sign_in(browser, "officer.c2")
    assert _download(browser, case_id, attachment_id).status_code == 403
    assert browser.get(f"/cases/{case_id}").status_code == 403
    assert _refusals("case:attachment:download") == []
