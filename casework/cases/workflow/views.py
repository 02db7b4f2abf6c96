"""Workflow pages and buttons: quick reports, escalation, take-over, closure, the inbox and the
due-and-overdue board."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from casework.cases.models import Case
from casework.cases.views import load_case, me
from casework.cases.workflow import boards, bp, notifications, service, timers
from casework.cases.workflow.forms import (
    ClosureForm,
    DecisionForm,
    EmptyForm,
    GuidanceForm,
    QuickReportForm,
    ReasonForm,
)
from casework.cases.workflow.models import ClosureRequest, Escalation, Notification, QuickReport
from casework.errors import DomainError
from casework.extensions import db
from casework.policy import NotPermitted, Permission, can, require

BOARD_SHOWN = 50  # rows of a deadlines board page (the most urgent first; later pages follow)


def _board_cursor(after: str | None) -> boards.Cursor | None:
    """`after` is "<due ISO>_<case id>_<subject>_<kind>" of the last item of the page before: ids
    and a deadline's kind, no personal data. Anything else is refused (400)."""
    if not after:
        return None
    parts = after.split("_", 3)
    if len(parts) != 4 or not parts[3] or parts[3] not in timers.LABELS:
        abort(400)
    try:
        due = datetime.fromisoformat(parts[0])
        case_id = uuid.UUID(parts[1])
    except ValueError:
        abort(400)
    if due.tzinfo is None:
        abort(400)
    return due, case_id, parts[3], parts[2]


def board_cursor_text(cursor: boards.Cursor) -> str:
    due, case_id, kind, subject = cursor
    return f"{due.isoformat()}_{case_id}_{subject}_{kind}"


NOTIFICATION_TEXT = {
    "quick_report": _l("Quick report received: case %(code)s"),
    "escalation_requested": _l("Escalation requested: case %(code)s"),
    "escalation_accepted": _l("Your escalation was accepted: case %(code)s"),
    "escalation_returned": _l("Your escalation was returned with guidance: case %(code)s"),
    "case_taken_over": _l("Case %(code)s was taken over by a higher unit"),
    "closure_requested": _l("Closure requested: case %(code)s"),
    "closure_approved": _l("Closure approved: case %(code)s"),
    "closure_refused": _l("Closure refused: case %(code)s"),
    "action_requested": _l("A higher unit asks your unit to act: case %(code)s"),
    "action_done": _l("A unit below recorded what it did: case %(code)s"),
    "action_withdrawn": _l("A request to act was withdrawn: case %(code)s"),
    # Referrals: staff see the case code; a partner's notifications carry no case at all.
    "referral_accepted": _l("Referral accepted: case %(code)s"),
    "referral_declined": _l("Referral declined: case %(code)s"),
    "referral_in_service": _l("Referral in service: case %(code)s"),
    "referral_completed": _l("Referral completed: case %(code)s"),
    "referral_note": _l("Note from a partner: case %(code)s"),
    "referral_service_delivered": _l("A partner recorded a service as delivered: case %(code)s"),
    "referral_service_failed": _l("A partner could not deliver a service: case %(code)s"),
    "referral_received": _l("New referral received"),
    "referral_updated": _l("A referral was shared again with more recent details"),
    "referral_withdrawn": _l("A referral was withdrawn"),
}


def notification_text(note: Notification, code: str) -> str:
    if note.kind.startswith("overdue:"):
        label = timers.LABELS.get(note.kind.split(":", 1)[1], "")
        return _("Overdue in case %(code)s: %(what)s", code=code, what=label)
    template = NOTIFICATION_TEXT.get(note.kind)
    return str(template) % {"code": code} if template else code


def _back(case: Case):  # type: ignore[no-untyped-def]
    if can(current_user, Permission.CASE_READ, case):
        return redirect(url_for("cases.file", case_id=case.id, _anchor="workflow"), code=303)
    return redirect(url_for("cases.summary", case_id=case.id), code=303)


def _run(case: Case, form: Any, action: Any, done: str):  # type: ignore[no-untyped-def]
    """Validate a workflow form and run the step; refusals come back as a flash, nothing changed."""
    if not form.validate_on_submit():
        messages = [m for errors in form.errors.values() for m in errors]
        flash(" ".join(str(m) for m in messages) or _("Please check what you entered."), "error")
        return _back(case)
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return _back(case)
    flash(done, "success")
    return _back(case)


@bp.post("/cases/<uuid:case_id>/quick-report")
def send_quick_report(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.QUICK_REPORT_SEND, case)
    form = QuickReportForm()
    return _run(
        case,
        form,
        lambda: service.send_quick_report(me(), case, form.situation.data),
        _("Quick report sent."),
    )


@bp.post("/cases/<uuid:case_id>/escalate")
def request_escalation(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.ESCALATION_REQUEST, case)
    form = ReasonForm()
    return _run(
        case,
        form,
        lambda: service.request_escalation(me(), case, form.reason.data),
        _("Escalation requested."),
    )


def _escalation(escalation_id: uuid.UUID) -> Escalation:
    escalation = db.session.get(Escalation, escalation_id)
    if escalation is None:
        abort(404)
    return escalation


@bp.post("/escalations/<uuid:escalation_id>/accept")
def accept_escalation(escalation_id: uuid.UUID):  # type: ignore[no-untyped-def]
    escalation = _escalation(escalation_id)
    require(current_user, Permission.ESCALATION_ANSWER, escalation)
    case = db.session.get(Case, escalation.case_id)
    return _run(
        case,
        EmptyForm(),
        lambda: service.accept_escalation(me(), escalation),
        _("Your unit now handles the case."),
    )


@bp.post("/escalations/<uuid:escalation_id>/return")
def return_escalation(escalation_id: uuid.UUID):  # type: ignore[no-untyped-def]
    escalation = _escalation(escalation_id)
    require(current_user, Permission.ESCALATION_ANSWER, escalation)
    case = db.session.get(Case, escalation.case_id)
    form = GuidanceForm()
    return _run(
        case,
        form,
        lambda: service.return_escalation(me(), escalation, form.guidance.data),
        _("Returned with guidance."),
    )


@bp.post("/cases/<uuid:case_id>/take-over")
def take_over(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_TAKE_OVER, case)
    form = ReasonForm()
    return _run(
        case,
        form,
        lambda: service.take_over(me(), case, form.reason.data),
        _("Your unit now handles the case."),
    )


@bp.post("/cases/<uuid:case_id>/closure")
def request_closure(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CLOSURE_REQUEST, case)
    form = ClosureForm()
    return _run(
        case,
        form,
        lambda: service.request_closure(me(), case, form.reason.data, form.outcome.data),
        _("Closure requested."),
    )


def _closure(request_id: uuid.UUID) -> ClosureRequest:
    request = db.session.get(ClosureRequest, request_id)
    if request is None:
        abort(404)
    return request


@bp.post("/closures/<uuid:request_id>/approve")
def approve_closure(request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    request = _closure(request_id)
    require(current_user, Permission.CLOSURE_DECIDE, request)
    form = DecisionForm()
    case = db.session.get(Case, request.case_id)
    return _run(
        case,
        form,
        lambda: service.approve_closure(me(), request, form.comment.data),
        _("The case is closed."),
    )


@bp.post("/closures/<uuid:request_id>/refuse")
def refuse_closure(request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    request = _closure(request_id)
    require(current_user, Permission.CLOSURE_DECIDE, request)
    form = DecisionForm()
    case = db.session.get(Case, request.case_id)
    return _run(
        case,
        form,
        lambda: service.refuse_closure(me(), request, form.comment.data or ""),
        _("Closure refused; the case is active again."),
    )


@bp.post("/cases/<uuid:case_id>/reopen")
def reopen(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_REOPEN, case)
    form = ReasonForm()
    return _run(
        case,
        form,
        lambda: service.reopen(me(), case, form.reason.data),
        _("The case is open again."),
    )


@bp.post("/cases/<uuid:case_id>/monitoring")
def start_monitoring(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    return _run(
        case,
        EmptyForm(),
        lambda: service.start_monitoring(me(), case),
        _("The case is now under monitoring."),
    )


@bp.post("/cases/<uuid:case_id>/resume")
def resume_handling(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    return _run(
        case,
        EmptyForm(),
        lambda: service.resume_handling(me(), case),
        _("The case is active again."),
    )


# --- Inbox, quick reports, deadlines board ----------------------------------------------------


@bp.get("/inbox")
def inbox():  # type: ignore[no-untyped-def]
    require(current_user, Permission.ACCOUNT_SELF)
    notes = notifications.inbox(me())
    codes = (
        dict(
            db.session.execute(
                select(Case.id, Case.code).where(
                    Case.id.in_([n.case_id for n in notes if n.case_id])
                )
            ).all()
        )
        if notes
        else {}
    )
    rows = [(n, notification_text(n, codes.get(n.case_id, ""))) for n in notes]
    return render_template("workflow/inbox.html", rows=rows, form=EmptyForm())


@bp.post("/inbox/<uuid:notification_id>")
def open_notification(notification_id: uuid.UUID):  # type: ignore[no-untyped-def]
    note = db.session.get(Notification, notification_id)
    if note is None:
        abort(404)
    require(current_user, Permission.ACCOUNT_SELF, note, hide=True)  # another's: 404, audited
    notifications.mark_read(me(), note)
    if note.kind == "quick_report" and note.subject_id:
        return redirect(url_for("workflow.quick_report", report_id=note.subject_id), code=303)
    if note.kind.startswith("referral_") and note.subject_id:
        if note.case_id is None:  # a partner's: the portal decides whether she may still see it
            if note.kind == "referral_withdrawn":
                return redirect(url_for("referrals.partner_home"), code=303)
            return redirect(
                url_for("referrals.partner_referral", referral_id=note.subject_id), code=303
            )
        return redirect(
            url_for("referrals.case_referral", case_id=note.case_id, referral_id=note.subject_id),
            code=303,
        )
    if note.case_id:
        case = load_case(note.case_id)
        return _back(case)
    return redirect(url_for("workflow.inbox"), code=303)


@bp.get("/quick-reports")
def quick_reports():  # type: ignore[no-untyped-def]
    require(current_user, Permission.QUICK_REPORT_RECEIVE)
    return render_template(
        "workflow/quick_reports.html", reports=service.received_quick_reports(me())
    )


@bp.get("/quick-reports/<uuid:report_id>")
def quick_report(report_id: uuid.UUID):  # type: ignore[no-untyped-def]
    report = db.session.get(QuickReport, report_id)
    if report is None:
        abort(404)
    snapshot = service.view_quick_report(me(), report)
    return render_template(
        "workflow/quick_report.html", report=report, snapshot=snapshot, form=EmptyForm(), json=json
    )


@bp.post("/quick-reports/<uuid:report_id>/forward")
def forward_quick_report(report_id: uuid.UUID):  # type: ignore[no-untyped-def]
    report = db.session.get(QuickReport, report_id)
    if report is None:
        abort(404)
    require(current_user, Permission.QUICK_REPORT_RECEIVE, report)
    if EmptyForm().validate_on_submit():
        try:
            service.forward_quick_report(me(), report)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            flash(_("Forwarded to the higher level."), "success")
    return redirect(url_for("workflow.quick_report", report_id=report.id), code=303)


@bp.get("/deadlines")
def board():  # type: ignore[no-untyped-def]
    """Due and overdue: the unit's cases; for reviewers, the whole subtree (codes only); for the
    admins and auditors who manage breaches, the breaches still to notify."""
    from casework.dataprotection import breaches

    user = me()
    if not (can(user, Permission.CASE_READ) or can(user, Permission.BREACH_MANAGE)):
        raise NotPermitted(Permission.CASE_READ)
    # The most urgent first, a page at a time: a page of thousands helps no one and is slow on a
    # phone.
    after = _board_cursor(request.args.get("after"))
    shown = (
        boards.board(user, BOARD_SHOWN, after)
        if can(user, Permission.CASE_READ)
        else boards.Board([], 0)
    )
    return render_template(
        "workflow/board.html",
        items=shown.items,
        total=shown.total,
        more=shown.more,
        later=shown.later,
        next_after=board_cursor_text(shown.next_after) if shown.next_after else None,
        breaches=breaches.deadline_items(user),
    )
