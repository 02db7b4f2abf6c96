"""Attachment pages (upload, download) and the printable case file (hồ sơ vụ việc).

URLs carry only random ids: the attachment's UUID, never its name. A refused upload re-renders the
case file with the form's errors (422); the browser returns to the attachments section.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import TemplateError
from markupsafe import Markup
from werkzeug.routing import BuildError

from casework.cases import attachments, bp, filetypes, sections, service
from casework.cases.attachment_forms import AttachmentForm
from casework.cases.models import Attachment, Case
from casework.cases.views import load_case, me, show_errors
from casework.db import utcnow
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import Permission, require


def _file_page(case: Case, form: AttachmentForm):  # type: ignore[no-untyped-def]
    """The case file again, with the upload form as the user filled it in (a view of the file)."""
    service.view_case(me(), case)
    parts = sections.for_file(me(), case)
    parts["attachment_form"] = form
    return render_template(
        "cases/file.html", case=case, alerts=service.alerts_for(case), sections=parts
    )


@bp.post("/<uuid:case_id>/attachments")
def upload_attachment(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    form = AttachmentForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            attachments.upload_attachment(
                me(),
                case,
                stream=upload.stream,
                filename=upload.filename,
                description=form.description.data,
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        else:
            flash(_("File added. It is stored encrypted."), "success")
            return redirect(url_for("cases.file", case_id=case.id, _anchor="attachments"), code=303)
    return _file_page(case, form), 422


def content_disposition(attachment: Attachment) -> str:
    """attachment, with an ASCII fallback name and the real name (RFC 6266, RFC 5987)."""
    name = attachments.download_name(
        attachment.filename or "file", filetypes.BY_MIME.get(attachment.content_type)
    )
    fallback = attachments.ascii_name(name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@bp.get("/<uuid:case_id>/attachments/<uuid:attachment_id>")
def download_attachment(case_id: uuid.UUID, attachment_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_READ, case)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.case_id != case.id:
        abort(404)
    body = attachments.download_attachment(me(), case, attachment)
    content_type = attachment.content_type
    if content_type == filetypes.TEXT.mime:
        content_type += "; charset=utf-8"  # uploads of text are checked to be UTF-8
    response = Response(body, content_type=content_type)
    response.content_length = attachment.size
    response.headers["Content-Disposition"] = content_disposition(attachment)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    # Should a browser ever show it inline after all: no scripts, no requests, no same origin.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- The printable case file ----------------------------------------------------------------------


def _render_part(name: str, context: dict[str, object]) -> Markup:
    """One section of the file, rendered by its own template, read-only (print_mode)."""
    try:
        return Markup(render_template(name, **context))  # noqa: S704 (our own rendered template)  # nosec B704
    except (TemplateError, BuildError) as exc:
        # A section written for the screen that cannot print: leave it out rather than the file.
        current_app.logger.warning("print: section %s not rendered (%s)", name, type(exc).__name__)
        return Markup('<p class="notice">{}</p>').format(
            _("This part of the file could not be printed. Open the file on screen to see it.")
        )


@bp.get("/<uuid:case_id>/print")
def print_file(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    attachments.print_case_file(me(), case)
    parts = sections.for_file(me(), case)
    context = {
        "case": case,
        "sections": parts,
        "alerts": service.alerts_for(case),
        "print_mode": True,
    }
    names = ["cases/_people.html", *parts.get("includes", [])]
    rendered = [_render_part(name, context) for name in dict.fromkeys(names)]
    return render_template(
        "cases/print.html",
        rendered=rendered,
        printed_by=me(),
        printed_at=utcnow(),
        **context,
    )
