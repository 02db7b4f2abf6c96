"""Attachments of a case (petitions, medical certificates, decisions) and the printed case file.

A file's type is judged by its content (casework.cases.filetypes), never by the browser; images lose
their metadata before they are encrypted; the name and the description are encrypted fields, and the
file on disk is named by a random id. Every upload, download and printout is audited.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from flask import current_app
from flask_babel import LazyString, format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases import filetypes
from casework.cases import rows as case_rows
from casework.cases.models import Attachment, Case
from casework.cases.service import _text
from casework.crypto import files
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import Permission, require

OWNER_KIND = "case"  # attachments are encrypted under the case's data key
MAX_BYTES = 20 * 1024 * 1024
DESCRIPTION_MAX = 500


# --- Names ---------------------------------------------------------------------------------------


def _refuse_file(message: LazyString | str) -> Invalid:
    return Invalid(message, file=message)


# Names that run code or render as a web page when opened, whatever the content: refused outright.
DANGEROUS_EXTENSIONS = frozenset(
    """.exe .com .bat .cmd .scr .pif .msi .msp .dll .cpl .jar .js .jse .vbs .vbe .wsf .wsh .ps1
    .psm1 .sh .bash .zsh .csh .ksh .py .pl .rb .php .apk .app .dmg .deb .rpm .lnk .reg .hta
    .html .htm .xhtml .shtml .svg .svgz .xml .xsl .mht .mhtml .url .scf .iso .img .docm .xlsm
    .pptm .dotm .xltm .odm""".split()  # noqa: SIM905 (a long word list reads better as words)
)
KNOWN_EXTENSIONS = frozenset(e for t in filetypes.TYPES for e in t.extensions)


NAME_MAX = 200
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\]")


def clean_name(raw: str | None) -> str:
    """The name as the user knows it, without a path, control characters or excess length."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_NAME_CHARS.sub("", name)
    name = " ".join(name.split()).strip(" .")
    if not name:
        raise _refuse_file(_l("Choose a file."))
    if len(name) > NAME_MAX:
        _stem, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        name = name[: NAME_MAX - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    return name


def extension(name: str) -> str:
    _stem, dot, ext = name.rpartition(".")
    return "." + ext.lower() if dot and _stem else ""


def check_name(name: str, kind: filetypes.FileType) -> None:
    """Refuse a name that would open the file as a program or page, or that says another type."""
    ext = extension(name)
    if ext in DANGEROUS_EXTENSIONS:
        raise _refuse_file(_l("Programs, scripts and web pages are not accepted."))
    if ext in KNOWN_EXTENSIONS and ext not in kind.extensions:
        raise _refuse_file(
            _l(
                "The file's content does not match its name: it is not a %(expected)s file.",
                expected=ext[1:].upper(),
            )
        )


def download_name(name: str, kind: filetypes.FileType | None) -> str:
    """The stored name, with the extension of its real type added when it has another one."""
    if kind is not None and extension(name) not in kind.extensions:
        return name + kind.extensions[0]
    return name


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded if not unicodedata.combining(c))


def ascii_name(name: str) -> str:
    """An ASCII fallback for Content-Disposition: diacritics folded, anything unusual replaced."""
    stem, dot, ext = name.rpartition(".")
    if not (dot and stem):
        stem, ext = name, ""
    safe_stem = re.sub(r"[^A-Za-z0-9 ()_-]+", "_", _fold(stem)).strip(" _")[:140] or "file"
    safe_ext = re.sub(r"[^A-Za-z0-9]+", "", _fold(ext))[:10]
    return safe_stem + ("." + safe_ext if safe_ext else "")


# --- Upload, download, print ---------------------------------------------------------------------


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES") or MAX_BYTES)


def _size_of(stream: BinaryIO) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def upload_attachment(
    actor: User, case: Case, *, stream: BinaryIO, filename: str | None, description: str
) -> Attachment:
    """Add a file to the case: type judged by content, images stripped of metadata, encrypted."""
    require(actor, Permission.CASE_EDIT, case)
    if case.status == "closed":
        raise Invalid(_l("A closed case must be reopened before files are added to it."))
    name = clean_name(filename)
    text = _text(description, DESCRIPTION_MAX, "description", required=True)
    size = _size_of(stream)
    if size == 0:
        message = _l("The file is empty.")
        raise Invalid(message, file=message)
    if size > max_bytes():
        message = _l("Files may be at most %(n)d MB.", n=max_bytes() // (1024 * 1024))
        raise Invalid(message, file=message)
    kind = filetypes.detect(stream)
    check_name(name, kind)

    file_id = uuid.uuid4()  # the name on disk: random, unrelated to the row or the file's name
    stored = files.store(
        db.session, OWNER_KIND, case.id, filetypes.cleaned(stream, kind), file_id=file_id
    )
    # Kept only if the request commits the row that names it (a failed commit leaves no orphan).
    files.remove_unless_committed(db.session(), files.path_of(OWNER_KIND, case.id, file_id))
    try:
        attachment = Attachment(
            id=uuid.uuid4(),
            case_id=case.id,
            content_type=kind.mime,
            size=stored.size,
            storage_name=str(file_id),
            uploaded_by_id=actor.id,
        )
        attachment.filename = name
        attachment.description = text
        db.session.add(attachment)
        db.session.flush()
        audit.record(actor, Tag.ATTACHMENT_UPLOAD, attachment, case_id=str(case.id))
    except BaseException:
        files.path_of(OWNER_KIND, case.id, file_id).unlink(missing_ok=True)
        raise
    return attachment


def download_attachment(actor: User, case: Case, attachment: Attachment) -> Iterator[bytes]:
    """The plaintext, streamed, for someone who may read the case; every download is recorded.

    The first chunk is decrypted here, so a missing key or a damaged header is an error before the
    response starts; damage further in raises MalformedCiphertext while streaming, and the server
    then aborts the response (its Content-Length is never reached).
    """
    if attachment.case_id != case.id:
        raise ValueError("attachment of another case")
    require(actor, Permission.CASE_READ, case)
    chunks = files.open_stream(db.session, OWNER_KIND, case.id, uuid.UUID(attachment.storage_name))
    try:
        first = next(chunks, b"")
    except FileNotFoundError:
        # Erasing a case may remove its files too: then the name's key is gone as well, and
        # reading it raises KeyShredded (answered 410). Otherwise the file really is missing.
        _ = attachment.filename
        raise
    audit.record(actor, Tag.ATTACHMENT_DOWNLOAD, attachment, case_id=str(case.id))
    return _resume(first, chunks)


def _resume(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield first
        yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()  # closes the encrypted file when the client goes away early


def print_case_file(actor: User, case: Case) -> None:
    """Record that the actor printed the full file (a copy leaves the system); refuse if not allowed."""
    require(actor, Permission.CASE_READ, case)
    audit.record(actor, Tag.CASE_PRINT, case)


# --- For the case file page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """One line of the attachments list, decrypted once for the page."""

    id: uuid.UUID
    filename: str
    description: str
    type_label: str
    size_label: str
    uploaded_by: str
    uploaded_at: datetime


def size_label(size: int) -> str:
    if size < 1024:
        return str(_l("%(n)s bytes", n=size))
    if size < 1024 * 1024:
        return f"{format_decimal(size / 1024, format='#,##0.#')} KB"
    return f"{format_decimal(size / (1024 * 1024), format='#,##0.#')} MB"


def type_label(content_type: str) -> str:
    kind = filetypes.BY_MIME.get(content_type)
    return str(kind.label) if kind else content_type


def list_attachments(case: Case) -> list[Listed]:
    """The case's attachments, newest first (the caller has already been allowed to read the case)."""
    if case_rows.none_of(Attachment, case.id):
        return []
    rows = db.session.scalars(
        select(Attachment)
        .where(Attachment.case_id == case.id)
        .options(selectinload(Attachment.uploaded_by))
        .order_by(Attachment.uploaded_at.desc(), Attachment.id)
    )
    return [
        Listed(
            id=row.id,
            filename=row.filename or "",
            description=row.description or "",
            type_label=type_label(row.content_type),
            size_label=size_label(row.size),
            uploaded_by=row.uploaded_by.display_name,
            uploaded_at=row.uploaded_at,
        )
        for row in rows
    ]
