"""Audit viewer: load → authorise → validate → query (or export) → render."""

from __future__ import annotations

import re

from flask import Response, abort, render_template, request
from flask_login import current_user

from casework.audit import bp, checkpoints
from casework.audit.forms import OBJECT_ID_RE, OBJECT_TYPE_RE, AuditFilterForm, ExportForm
from casework.audit.queries import EventFilter, export_events, page_of_events, who_has_seen
from casework.errors import Invalid
from casework.policy import Permission, require


def _cursor(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) <= 18 else None


def _index_page(filters: AuditFilterForm, export_form: ExportForm, status: int):  # type: ignore[no-untyped-def]
    valid = not filters.errors  # validated by the caller
    page = (
        page_of_events(
            current_user,
            EventFilter.from_form(filters),
            before=_cursor("before"),
            after=_cursor("after"),
        )
        if valid
        else None
    )
    return (
        render_template(
            "audit/index.html",
            filters=filters,
            export_form=export_form,
            page=page,
            args=filters.as_args() if valid else {},
        ),
        status,
    )


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    require(current_user, Permission.AUDIT_READ)
    filters = AuditFilterForm(formdata=request.args)
    status = 200 if filters.validate() else 422
    return _index_page(filters, ExportForm(), status)


@bp.post("/export")
def export():  # type: ignore[no-untyped-def]
    require(current_user, Permission.AUDIT_READ)
    form = ExportForm()
    if not form.validate_on_submit():
        filters = AuditFilterForm(formdata=request.form)
        filters.validate()
        return _index_page(filters, form, 422)
    user = current_user._get_current_object()
    try:
        event, chunks = export_events(user, EventFilter.from_form(form), form.current_password.data)
    except Invalid as exc:
        form.current_password.errors = [str(m) for m in exc.fields.values()] or [str(exc.message)]
        filters = AuditFilterForm(formdata=request.form)
        filters.validate()
        return _index_page(filters, form, 422)
    # The export's own event is committed by the request hook before the first chunk is read.
    return Response(
        chunks,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=audit-log-{event.seq}.csv"},
    )


@bp.get("/object/<object_type>/<object_id>")
def object_events(object_type: str, object_id: str):  # type: ignore[no-untyped-def]
    """Who has seen (read, changed, or been refused) one object, and every event about it."""
    require(current_user, Permission.AUDIT_READ)
    if not re.match(OBJECT_TYPE_RE, object_type) or not re.match(OBJECT_ID_RE, object_id):
        abort(404)
    f = EventFilter(object_type=object_type, object_id=object_id)
    return render_template(
        "audit/object.html",
        object_type=object_type,
        object_id=object_id,
        viewers=who_has_seen(current_user, object_type, object_id),
        page=page_of_events(current_user, f, before=_cursor("before"), after=_cursor("after")),
    )


@bp.get("/checkpoint")
def checkpoint():  # type: ignore[no-untyped-def]
    require(current_user, Permission.AUDIT_VERIFY)
    return render_template("audit/checkpoint.html", latest=checkpoints.latest())


@bp.post("/checkpoint")
def checkpoint_export():  # type: ignore[no-untyped-def]
    """Sign the head now and download it, to keep outside the server (numbers and hashes only)."""
    require(current_user, Permission.AUDIT_VERIFY)
    made = checkpoints.checkpoint_now(current_user._get_current_object(), exported=True)
    text = checkpoints.export_text(made)
    return Response(
        text,
        mimetype="text/plain",
        headers={"Content-Disposition": f"attachment; filename=audit-checkpoint-{made.seq}.txt"},
    )
