"""Pages of the data-protection registers: requests (per case, and the register) and breaches.

Thin: load → authorise → validate → call a service → 303. An access export is answered with the
HTML file itself (an attachment, no-store like every signed-in page), from a POST since it answers
the request.
"""

from __future__ import annotations

import uuid

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.accounts.models import Unit
from casework.accounts.units import subtree_select
from casework.cases import people as people_service
from casework.cases import vocab as case_vocab
from casework.cases.forms import to_local_naive, to_utc, version_of
from casework.cases.models import Person
from casework.cases.views import load_case, me, show_errors, submit
from casework.dataprotection import bp, breaches, service, vocab
from casework.dataprotection.forms import (
    BreachForm,
    CompleteForm,
    ExportForm,
    NotifiedForm,
    RequestForm,
    ReviewForm,
    VersionForm,
)
from casework.dataprotection.models import Breach, DataRequest
from casework.db import utcnow
from casework.errors import DomainError, Invalid, StaleEdit
from casework.extensions import db
from casework.policy import NotPermitted, Permission, can, require


def _now_local():  # type: ignore[no-untyped-def]
    return to_local_naive(utcnow()).replace(second=0, microsecond=0)


def _load_request(request_id: uuid.UUID) -> DataRequest:
    found = db.session.get(DataRequest, request_id)
    if found is None:
        abort(404)
    if not service.may_see(me(), found):
        raise NotPermitted(Permission.DATA_REQUEST_RECORD, hide=True, obj=found)
    return found


def _back(found: DataRequest):  # type: ignore[no-untyped-def]
    return redirect(url_for("dataprotection.request_page", request_id=found.id), code=303)


# --- Requests -----------------------------------------------------------------------------------


@bp.get("/requests")
def requests_register():  # type: ignore[no-untyped-def]
    if not (can(me(), Permission.DATA_REQUEST_RECORD) or can(me(), Permission.DATA_REQUEST_REVIEW)):
        raise NotPermitted(Permission.DATA_REQUEST_RECORD)
    rows = service.visible_requests(me())
    return render_template("dataprotection/requests.html", rows=rows, service=service, vocab=vocab)


@bp.route("/cases/<uuid:case_id>/requests/new", methods=["GET", "POST"])
def new_request(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.CASE_READ, case)
    form = RequestForm()
    subjects = people_service.people_of(case)
    form.person.choices = [("", _l("Choose…"))] + [
        (str(p.id), f"{p.full_name} ({case_vocab.PERSON_ROLES.get(p.role, '')})") for p in subjects
    ]
    if request.method == "GET":
        form.received_at.data = _now_local()
    created: list[DataRequest] = []

    def call() -> None:
        person = db.session.get(Person, uuid.UUID(form.person.data))
        if person is None or person.case_id != case.id:
            raise Invalid(_l("Choose a person of this case."), person=_l("Choose a person."))
        created.append(
            service.record_request(
                me(),
                case,
                person,
                kind=form.kind.data,
                requester_relation=form.requester_relation.data,
                received_at=to_utc(form.received_at.data),
                details=form.details.data,
                safety_concern=bool(form.safety_concern.data),
            )
        )

    status = submit(form, call)
    if status is None:
        flash(_("The request is registered. Acknowledge it within two working days."), "success")
        return _back(created[0])
    return render_template("dataprotection/request_form.html", form=form, case=case), status


@bp.get("/requests/<uuid:request_id>")
def request_page(request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    found = _load_request(request_id)
    review_form = ReviewForm(formdata=None, version=found.version)
    review_form.safety_concern.data = found.safety_concern
    return render_template(
        "dataprotection/request.html",
        req=found,
        service=service,
        vocab=vocab,
        case_vocab=case_vocab,
        action_form=VersionForm(formdata=None, version=found.version),
        export_form=ExportForm(formdata=None, version=found.version),
        review_form=review_form,
        complete_form=CompleteForm(formdata=None, version=found.version),
    )


def _act(found: DataRequest, form, call, done: str):  # type: ignore[no-untyped-def]
    """Run a service for one of the request page's forms; errors go back as a flash."""
    if not form.validate_on_submit():
        flash(_("Please check what you entered."), "error")
        return _back(found)
    try:
        call()
    except (StaleEdit, Invalid, DomainError) as exc:
        db.session.rollback()
        if isinstance(exc, Invalid):
            show_errors(form, exc)
        flash(str(exc.message), "error")
        return _back(found)
    flash(done, "success")
    return _back(found)


@bp.post("/requests/<uuid:request_id>/acknowledge")
def acknowledge_request(request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    found = _load_request(request_id)
    form = VersionForm()
    return _act(
        found,
        form,
        lambda: service.acknowledge(me(), found, expected_version=version_of(form)),
        _("Acknowledged."),
    )


@bp.post("/requests/<uuid:request_id>/review")
def review_request(request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    found = _load_request(request_id)
    require(me(), Permission.DATA_REQUEST_REVIEW, found)
    form = ReviewForm()
    return _act(
        found,
        form,
        lambda: service.review(
            me(),
            found,
            approve=form.decision.data == "approve",
            safety_concern=bool(form.safety_concern.data),
            note=form.note.data,
            expected_version=version_of(form),
        ),
        _("Decision recorded."),
    )


@bp.post("/requests/<uuid:request_id>/complete")
def complete_request(request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    found = _load_request(request_id)
    form = CompleteForm()
    return _act(
        found,
        form,
        lambda: service.complete(
            me(), found, note=form.note.data, expected_version=version_of(form)
        ),
        _("Recorded as done."),
    )


@bp.post("/requests/<uuid:request_id>/erase")
def erase_person(request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    found = _load_request(request_id)
    form = VersionForm()
    return _act(
        found,
        form,
        lambda: service.erase(me(), found, expected_version=version_of(form)),
        _("The person's data has been erased for good."),
    )


@bp.post("/requests/<uuid:request_id>/export")
def export_request(request_id: uuid.UUID):  # type: ignore[no-untyped-def]
    found = _load_request(request_id)
    require(me(), Permission.DATA_REQUEST_FULFIL, found)  # before the form says anything
    form = ExportForm()
    if not form.validate_on_submit():
        flash(" ".join(str(m) for e in form.errors.values() for m in e), "error")
        return _back(found)
    try:
        html = service.export_html(
            me(), found, expected_version=version_of(form), password=form.current_password.data
        )
    except StaleEdit as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return _back(found)
    except Invalid as exc:  # the password: its refusal stays in the audit log
        flash(str(exc.message), "error")
        return _back(found)
    # The file name carries ids only: a person's name must not reach a download folder's list.
    name = f"data-request-{found.id}.html"
    return Response(
        html,
        mimetype="text/html",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- Breaches -------------------------------------------------------------------------------------


def _unit_choices() -> list[tuple[str, str]]:
    user = me()
    if user.unit_id is None:
        return []
    units = db.session.scalars(
        select(Unit)
        .where(Unit.id.in_(subtree_select(user.unit_id)), Unit.retired_at.is_(None))
        .order_by(Unit.code)
        .limit(400)
    )
    return [(str(u.id), f"{u.code} · {u.name}") for u in units]


@bp.get("/breaches")
def breach_register():  # type: ignore[no-untyped-def]
    require(me(), Permission.BREACH_MANAGE)
    rows = [(b, breaches.notify_due(b)) for b in breaches.visible_breaches(me())]
    return render_template("dataprotection/breaches.html", rows=rows, vocab=vocab, now=utcnow())


@bp.route("/breaches/new", methods=["GET", "POST"])
def new_breach():  # type: ignore[no-untyped-def]
    require(me(), Permission.BREACH_REPORT)
    form = BreachForm()
    form.units.choices = _unit_choices()
    if request.method == "GET":
        form.discovered_at.data = _now_local()
        form.units.data = [str(me().unit_id)]

    def call() -> None:
        units = [db.session.get(Unit, int(u)) for u in form.units.data or []]
        breaches.record_breach(
            me(),
            discovered_at=to_utc(form.discovered_at.data),
            categories=list(form.categories.data or []),
            units=[u for u in units if u is not None],
            description=form.description.data or "",
            people_affected=form.people_affected.data,
        )

    status = submit(form, call)
    if status is None:
        flash(
            _("The breach is registered. The authority must be notified within 72 hours."),
            "success",
        )
        target = "dataprotection.breach_register"
        if not can(me(), Permission.BREACH_MANAGE):
            target = "main.home"
        return redirect(url_for(target), code=303)
    return render_template("dataprotection/breach_form.html", form=form), status


def _load_breach(breach_id: uuid.UUID) -> Breach:
    found = db.session.get(Breach, breach_id)
    if found is None:
        abort(404)
    require(me(), Permission.BREACH_MANAGE, found, hide=True)
    return found


@bp.get("/breaches/<uuid:breach_id>")
def breach_page(breach_id: uuid.UUID):  # type: ignore[no-untyped-def]
    found = _load_breach(breach_id)
    form = NotifiedForm(formdata=None, version=found.version)
    form.notified_at.data = _now_local()
    return render_template(
        "dataprotection/breach.html",
        breach=found,
        text=breaches.description(me(), found),
        due=breaches.notify_due(found),
        form=form,
        vocab=vocab,
    )


@bp.post("/breaches/<uuid:breach_id>/notified")
def breach_notified(breach_id: uuid.UUID):  # type: ignore[no-untyped-def]
    found = _load_breach(breach_id)
    form = NotifiedForm()
    back = redirect(url_for("dataprotection.breach_page", breach_id=found.id), code=303)
    if not form.validate_on_submit():
        flash(_("Enter when the authority was notified."), "error")
        return back
    try:
        breaches.mark_notified(
            me(),
            found,
            notified_at=to_utc(form.notified_at.data),
            expected_version=version_of(form),
        )
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return back
    flash(_("Marked as notified."), "success")
    return back
