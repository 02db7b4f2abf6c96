"""Legal holds (reviewers at province or central level) and the retention report (auditors)."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casework import audit
from casework.audit import Tag
from casework.errors import DomainError
from casework.extensions import db
from casework.policy import Permission, require
from casework.retention import bp, report, service
from casework.retention.forms import HoldForm, LiftForm
from casework.retention.models import LegalHold


def _me():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _holds_page(form: HoldForm, status: int = 200):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "retention/holds.html",
            form=form,
            lift_form=LiftForm(),
            holds=service.holds_for(_me()),
        ),
        status,
    )


@bp.get("/holds")
def holds():  # type: ignore[no-untyped-def]
    require(current_user, Permission.CASE_HOLD, current_user.unit)
    return _holds_page(HoldForm())


@bp.post("/holds")
def set_hold():  # type: ignore[no-untyped-def]
    require(current_user, Permission.CASE_HOLD, current_user.unit)
    form = HoldForm()
    if not form.validate_on_submit():
        return _holds_page(form, 422)
    try:
        case = service.case_by_code(_me(), form.case_code.data)
        service.set_hold(_me(), case, form.reason.data, form.until.data)
    except DomainError as exc:
        db.session.rollback()
        for name, message in exc.fields.items():
            getattr(form, name).errors = [str(message)]
        if not exc.fields:
            form.form_errors.append(str(exc.message))
        return _holds_page(form, exc.status)
    flash(_("The case is held: retention will not erase it while the hold lasts."), "success")
    return redirect(url_for("retention.holds"), code=303)


@bp.post("/holds/<uuid:hold_id>/lift")
def lift_hold(hold_id: uuid.UUID):  # type: ignore[no-untyped-def]
    require(current_user, Permission.CASE_HOLD, current_user.unit)
    hold = db.session.get(LegalHold, hold_id)
    if hold is None:
        abort(404)
    require(current_user, Permission.CASE_HOLD, hold.case, hide=True)
    if LiftForm().validate_on_submit():
        try:
            service.lift_hold(_me(), hold)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            flash(_("Hold lifted."), "success")
    return redirect(url_for("retention.holds"), code=303)


@bp.get("/report")
def retention_report():  # type: ignore[no-untyped-def]
    """What retention erased and when, each run, and the holds: codes, dates and counts only."""
    require(current_user, Permission.RETENTION_REPORT)
    audit.record(_me(), Tag.RETENTION_REPORT_VIEW, object_type="retention_run")
    return render_template(
        "retention/report.html",
        runs=report.runs(),
        erasures=report.erasures(),
        holds=report.holds(),
    )
