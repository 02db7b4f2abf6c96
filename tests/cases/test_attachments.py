"""Attachments as users meet them: upload checked by content and encrypted, audited downloads."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text

from casework.audit.models import AuditEvent
from casework.cases import attachments
from casework.cases.models import Attachment
from casework.crypto import files
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import NotPermitted
from tests.cases.conftest import open_case
from tests.cases.test_filetypes import (
    ALLOWED,
    PDF,
    REFUSED,
    SECRETS,
    jpeg_clean,
    jpeg_with_metadata,
    png_clean,
    png_with_metadata,
)
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, PASSWORD, audit_text


@pytest.fixture(autouse=True)
def _attachment_dir(app, tmp_path):  # type: ignore[no-untyped-def]
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")


def _stored_files(app) -> list[Path]:  # type: ignore[no-untyped-def]
    root = Path(app.config["ATTACHMENT_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _upload(browser, case, content: bytes, name: str, description="Giấy chứng thương", **kw):  # type: ignore[no-untyped-def]
    # The body is encoded here, in memory: the test client would spool a large one to a temporary
    # file that it never closes.
    boundary = uuid.uuid4().hex
    fields = {"csrf_token": browser.token(f"/cases/{case.id}"), "description": description}
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    mime = kw.get("mime", ("application/octet-stream",))[0]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {mime}\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return browser.raw_post(
        f"/cases/{case.id}/attachments",
        data=b"".join(parts),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def _attachments() -> list[Attachment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Attachment)))


def _disk_bytes(attachment: Attachment) -> bytes:
    return files.path_of(
        "case", attachment.case_id, uuid.UUID(attachment.storage_name)
    ).read_bytes()


# --- Upload -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ALLOWED)
def test_officer_uploads_each_allowed_type_and_it_is_encrypted_on_disk(app, org, browser, code):
    content, name, mime, stored = ALLOWED[code]
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    # The browser's claim is ignored: the type comes from the content.
    response = _upload(browser, case, content, name, mime=("text/html",))
    assert response.status_code == 303
    assert response.location.endswith(f"/cases/{case.id}#attachments")
    [attachment] = _attachments()
    assert attachment.content_type == mime
    assert attachment.size == len(stored)
    assert attachment.filename == name and attachment.description == "Giấy chứng thương"
    on_disk = _disk_bytes(attachment)
    assert stored not in on_disk and stored[:64] not in on_disk and stored[-32:] not in on_disk
    assert attachment.storage_name not in (name, str(attachment.id))

    download = browser.get(f"/cases/{case.id}/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.get_data() == stored
    assert download.headers["Content-Type"].split(";")[0] == mime


def test_photos_lose_their_location_and_camera_details(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    assert _upload(browser, case, jpeg_with_metadata(), "vet-thuong.jpg").status_code == 303
    assert _upload(browser, case, png_with_metadata(), "tin-nhan.png").status_code == 303
    got = {
        a.content_type: browser.get(f"/cases/{case.id}/attachments/{a.id}").get_data()
        for a in _attachments()
    }
    assert got == {"image/jpeg": jpeg_clean(), "image/png": png_clean()}
    for body in got.values():
        for secret in SECRETS:
            assert secret not in body


@pytest.mark.parametrize(
    "kind", ["html", "svg", "exe", "text renamed to pdf", "html renamed to pdf"]
)
def test_web_pages_programs_and_fake_pdfs_are_refused_and_nothing_is_stored(
    app, org, browser, kind
):
    content, name = REFUSED[kind]
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = _upload(browser, case, content, name, description="Tờ khai")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error"' in html and 'enctype="multipart/form-data"' in html
    assert "Tờ khai" in html  # the description the user typed is kept
    assert _attachments() == []
    assert _stored_files(app) == []
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.tag == "case:attachment:upload")
    ).all()


def test_every_refused_kind_is_refused_by_the_service(org):
    case = open_case(org["officer_c1"])
    for kind, (content, name) in REFUSED.items():
        with pytest.raises(Invalid):
            attachments.upload_attachment(
                org["officer_c1"], case, stream=io.BytesIO(content), filename=name, description="x"
            )
        assert _attachments() == [], kind


def test_a_file_over_the_limit_is_refused_with_a_clear_message(app, org, browser):
    app.config["ATTACHMENT_MAX_BYTES"] = 1024 * 1024
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = _upload(browser, case, b"a" * (1024 * 1024 + 1), "ghi-chu.txt")
    assert response.status_code == 422
    assert "at most 1 MB" in response.get_data(as_text=True)
    assert _attachments() == [] and _stored_files(app) == []


def test_a_request_over_20_mb_is_refused_before_anything_is_read(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = _upload(browser, case, b"%PDF-" + b"0" * (20 * 1024 * 1024), "lon.pdf")
    assert response.status_code == 413
    assert "20 MB" in response.get_data(as_text=True)
    assert _attachments() == [] and _stored_files(app) == []


def test_a_file_needs_a_description_and_an_empty_file_is_refused(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    assert _upload(browser, case, PDF, "don.pdf", description="").status_code == 422
    assert _upload(browser, case, b"", "don.pdf").status_code == 422
    assert _attachments() == []


def test_no_files_are_added_to_a_closed_case(org):
    case = open_case(org["officer_c1"])
    case.status = "closed"
    db.session.commit()
    with pytest.raises(Invalid):
        attachments.upload_attachment(
            org["officer_c1"], case, stream=io.BytesIO(PDF), filename="a.pdf", description="x"
        )
    assert _attachments() == []


def test_officer_of_another_commune_cannot_upload(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c2")
    response = browser.post(
        f"/cases/{case.id}/attachments",
        {"file": (io.BytesIO(PDF), "don.pdf"), "description": "x"},
        page="/",
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert _attachments() == [] and _stored_files(app) == []


# --- The file page ----------------------------------------------------------------------------


def test_the_file_page_lists_attachments_and_offers_the_upload_form_to_editors(app, org, browser):
    case = open_case(org["officer_c1"])
    attachments.upload_attachment(
        org["officer_c1"],
        case,
        stream=io.BytesIO(PDF),
        filename="Đơn đề nghị.pdf",
        description="Đơn của nạn nhân",
    )
    db.session.commit()
    [attachment] = _attachments()
    _sign_in(browser, "officer.c1")
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="attachments"')[1]
    assert "Đơn đề nghị.pdf" in section and "Đơn của nạn nhân" in section
    assert "PDF document" in section and "bytes" in section and "Staff officer.c1" in section
    assert f"/cases/{case.id}/attachments/{attachment.id}" in section
    assert 'enctype="multipart/form-data"' in section
    assert 'href="#attachments"' in html


def test_a_reader_who_may_not_edit_sees_the_list_but_no_upload_form(app, org, browser):
    from casework.cases import service

    case = open_case(org["officer_c1"])
    attachments.upload_attachment(
        org["officer_c1"], case, stream=io.BytesIO(PDF), filename="a.pdf", description="x"
    )
    service.break_glass(
        org["reviewer_d1"], case, "Checking the handling of a serious case", password=PASSWORD
    )
    db.session.commit()
    _sign_in(browser, "reviewer.d1")
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    section = html.split('id="attachments"')[1]
    assert "a.pdf" in section and "multipart/form-data" not in section


# --- Download ---------------------------------------------------------------------------------


def _uploaded(org, name=f"{CANARY} giấy chứng thương.pdf"):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    attachment = attachments.upload_attachment(
        org["officer_c1"],
        case,
        stream=io.BytesIO(PDF),
        filename=name,
        description=f"Medical certificate of {CANARY}",
    )
    db.session.commit()
    return case, attachment


def test_a_download_is_streamed_with_safe_headers_and_audited(app, org, browser):
    case, attachment = _uploaded(org)
    _sign_in(browser, "officer.c1")
    response = browser.get(f"/cases/{case.id}/attachments/{attachment.id}")
    assert response.status_code == 200 and response.get_data() == PDF
    headers = response.headers
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Length"] == str(len(PDF))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    disposition = headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert 'filename="Canary Nguyen Thi Hoang Yen giay chung thuong.pdf"' in disposition
    assert "filename*=UTF-8''Canary%20Nguy%E1%BB%85n" in disposition
    assert disposition.isascii()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.tag == "case:attachment:download")
    ).all()
    assert [(e.object_id, e.actor_id, e.outcome) for e in events] == [
        (str(attachment.id), org["officer_c1"].id, "ok")
    ]


def test_a_text_file_is_sent_as_utf8_text_and_a_nameless_one_gets_its_extension(app, org, browser):
    case = open_case(org["officer_c1"])
    attachment = attachments.upload_attachment(
        org["officer_c1"],
        case,
        stream=io.BytesIO(ALLOWED["text"][0]),
        filename="ghi chep",
        description="x",
    )
    db.session.commit()
    _sign_in(browser, "officer.c1")
    response = browser.get(f"/cases/{case.id}/attachments/{attachment.id}")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert 'filename="ghi chep.txt"' in response.headers["Content-Disposition"]


@pytest.mark.parametrize("who", ["officer.c2", "admin.tw", "auditor.tw", "reviewer.d1"])
def test_outsiders_cannot_download_and_the_attempt_is_audited(app, org, new_browser, who):
    case, attachment = _uploaded(org)
    browser = new_browser()
    _sign_in(browser, who)
    response = browser.get(f"/cases/{case.id}/attachments/{attachment.id}")
    assert response.status_code == 403
    assert PDF not in response.get_data()
    refused = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.outcome == "refused", AuditEvent.actor_id == org[_key(who)].id
        )
    ).all()
    assert refused and "cases.download_attachment" in refused[-1].details
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.tag == "case:attachment:download")
    ).all()


def _key(username: str) -> str:
    return {
        "officer.c2": "officer_c2",
        "admin.tw": "admin",
        "auditor.tw": "auditor",
        "reviewer.d1": "reviewer_d1",
    }[username]


def test_a_download_is_decrypted_chunk_by_chunk(org):
    case = open_case(org["officer_c1"])
    content = b"%PDF-1.7\n" + bytes(range(256)) * 1024  # 256 KiB: several encrypted chunks
    attachment = attachments.upload_attachment(
        org["officer_c1"], case, stream=io.BytesIO(content), filename="a.pdf", description="x"
    )
    chunks = list(attachments.download_attachment(org["officer_c1"], case, attachment))
    assert len(chunks) > 3 and max(map(len, chunks)) <= files.CHUNK_SIZE
    assert b"".join(chunks) == content


def test_the_service_refuses_a_download_by_another_commune(org):
    case, attachment = _uploaded(org)
    with pytest.raises(NotPermitted):
        attachments.download_attachment(org["officer_c2"], case, attachment)


def test_an_attachment_is_reached_only_through_its_own_case(app, org, browser):
    case, attachment = _uploaded(org)
    other = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    assert browser.get(f"/cases/{other.id}/attachments/{attachment.id}").status_code == 404
    assert browser.get(f"/cases/{case.id}/attachments/{uuid.uuid4()}").status_code == 404


# --- Personal data stays out of URLs, audit rows and raw columns --------------------------------


def test_the_canary_is_never_in_urls_audit_rows_raw_columns_or_the_file_on_disk(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    name = f"{CANARY}.pdf"
    response = _upload(browser, case, PDF, name, description=f"Petition by {CANARY}")
    assert response.status_code == 303 and "Canary" not in response.location
    [attachment] = _attachments()
    assert attachment.filename == name  # as the phone sent it, UTF-8
    page = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    hrefs = [part.split('"')[0] for part in page.split('href="')[1:]]
    assert hrefs and not any("Canary" in h or "Nguy" in h for h in hrefs)
    browser.get(f"/cases/{case.id}/attachments/{attachment.id}")

    rows = audit_text()
    assert "case:attachment" in rows and "Canary" not in rows and "Hoàng" not in rows
    raw = repr(db.session.execute(text("SELECT * FROM attachment")).all())
    assert "Canary" not in raw and "Petition" not in raw and "Hoàng" not in raw
    on_disk = _disk_bytes(attachment)
    assert b"Canary" not in on_disk and CANARY.encode() not in on_disk
    assert all("Canary" not in str(p) for p in _stored_files(app))


def test_a_large_upload_never_touches_the_temp_folder_unencrypted(app, org, browser, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("an upload was spooled to a temporary file")

    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    content = b"%PDF-1.4\n" + b"0" * 700_000 + b"\n%%EOF\n"
    response = _upload(browser, case, content, "giay.pdf")
    assert response.status_code in (303, 422)  # the file was read from memory either way


# --- A commit that fails ------------------------------------------------------------------------


class CommitFailed(Exception):
    """The database refused the commit (disk full, connection lost)."""


def test_a_file_whose_commit_fails_is_removed_from_disk(app, org):
    from sqlalchemy import event

    case = open_case(org["officer_c1"])
    attachments.upload_attachment(
        org["officer_c1"], case, stream=io.BytesIO(PDF), filename="a.pdf", description="x"
    )
    assert len(_stored_files(app)) == 1  # written, not yet committed

    def refuse(_conn):  # type: ignore[no-untyped-def]
        raise CommitFailed

    event.listen(db.engine, "commit", refuse)
    try:
        with pytest.raises(CommitFailed):
            db.session.commit()
        db.session.rollback()
    finally:
        event.remove(db.engine, "commit", refuse)
    assert _stored_files(app) == []
    assert _attachments() == []


def test_an_upload_whose_request_fails_to_commit_leaves_nothing(app, org, browser):
    from flask import has_request_context, request
    from sqlalchemy import event

    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")

    def refuse(_conn):  # type: ignore[no-untyped-def]
        # Only the upload's own commit: the page read for its CSRF token commits as usual.
        if has_request_context() and request.method == "POST":
            raise CommitFailed

    event.listen(db.engine, "commit", refuse)
    try:
        response = _upload(browser, case, PDF, "giay.pdf")
    finally:
        event.remove(db.engine, "commit", refuse)
    assert response.status_code == 500
    assert _stored_files(app) == [] and _attachments() == []
    # The same upload once the database works again is stored as usual.
    assert _upload(browser, case, PDF, "giay.pdf").status_code == 303
    assert len(_stored_files(app)) == 1 and len(_attachments()) == 1


def test_a_file_rolled_back_with_its_request_is_removed_but_a_committed_one_stays(app, org):
    case = open_case(org["officer_c1"])
    kept = attachments.upload_attachment(
        org["officer_c1"], case, stream=io.BytesIO(PDF), filename="a.pdf", description="kept"
    )
    db.session.commit()
    attachments.upload_attachment(
        org["officer_c1"], case, stream=io.BytesIO(PDF), filename="b.pdf", description="undone"
    )
    db.session.rollback()
    assert [a.id for a in _attachments()] == [kept.id]
    assert [p.name for p in _stored_files(app)] == [kept.storage_name]
