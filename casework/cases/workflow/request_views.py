"""Pages for asking a unit below to act, answering, and withdrawing a request."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casework.cases.forms import to_local_naive, to_utc, version_of
from casework.cases.models import Case
from casework.cases.views import load_case, me, submit
from casework.cases.workflow import bp, requests
from casework.cases.workflow.forms import AnswerRequestForm, AskToActForm, VersionForm
from casework.cases.workflow.models import ActionRequest
from casework.db import utcnow
from casework.errors import DomainError
from casework.extensions import db
from casework.policy import Permission, can, require


def _to_workflow(case: Case):  # type: ignore[no-untyped-def]
    return redirect(url_for("cases.file", case_id=case.id, _anchor="workflow"), code=303)


@bp.route("/cases/<uuid:case_id>/action-requests/new", methods=["GET", "POST"])
def ask_to_act(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.ACTION_REQUEST_SEND, case)
    form = AskToActForm()
    form.unit.choices = [(u.id, u.name) for u in requests.units_to_ask(case)]
    if request.method == "GET":
        form.due_at.data = to_local_naive(utcnow()).replace(second=0, microsecond=0)

    def save() -> None:
        requests.ask(
            me(),
            case,
            unit_id=form.unit.data,
            what=form.what.data,
            due_at=to_utc(form.due_at.data),
        )

    status = submit(form, save)
    if status is None:
        flash(_("The unit was asked to act; its staff are notified."), "success")
        return _to_workflow(case)
    return render_template("workflow/ask_to_act.html", form=form, case=case), status


def _request(request_id: uuid.UUID) -> tuple[ActionRequest, Case]:
    asked = db.session.get(ActionRequest, request_id)
    if asked is None:
        abort(404)
    return asked, load_case(asked.case_id)


@bp.route("/action-requests/<uuid:request_id>/answer", methods=["GET", "POST"])
def answer_request(request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    asked, case = _request(request_id)
    if asked.status != "open" and can(current_user, Permission.CASE_READ, case):
        flash(_("This request was already answered or withdrawn."), "error")
        return _to_workflow(case)
    require(current_user, Permission.ACTION_REQUEST_ANSWER, asked)
    form = AnswerRequestForm()
    if request.method == "GET":
        form.version.data = asked.version
        form.occurred_at.data = to_local_naive(utcnow()).replace(second=0, microsecond=0)

    def save() -> None:
        requests.answer(
            me(),
            asked,
            expected_version=version_of(form),
            kind=form.kind.data,
            authority=form.authority.data or None,
            occurred_at=to_utc(form.occurred_at.data),
            description=form.description.data,
        )

    status = submit(form, save)
    if status is None:
        flash(_("Recorded in the case's actions; the unit that asked is notified."), "success")
        return _to_workflow(case)
    return render_template(
        "workflow/answer_request.html", form=form, case=case, asked=asked
    ), status


@bp.post("/action-requests/<uuid:request_id>/withdraw")
def withdraw_request(request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    asked, case = _request(request_id)
    require(current_user, Permission.ACTION_REQUEST_SEND, case)
    form = VersionForm()
    if not form.validate_on_submit():
        flash(_("Please check what you entered."), "error")
        return _to_workflow(case)
    try:
        requests.withdraw(me(), asked, expected_version=version_of(form))
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        flash(_("Request withdrawn; the unit is told."), "success")
    return _to_workflow(case)
