"""Case pages: intake, the file, intake corrections, classification, supervision and break-glass.

Views load → authorise → validate → call a service → redirect. Case ids in URLs are random UUIDs;
no page title or URL carries a person's data.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casework import audit
from casework.audit import Tag
from casework.cases import bp, listing, service, vocab
from casework.cases.forms import (
    BreakGlassForm,
    ClassifyForm,
    IntakeEditForm,
    IntakeForm,
    to_local_naive,
    to_utc,
    version_of,
)
from casework.cases.models import Case, Person
from casework.db import utcnow
from casework.errors import DomainError, Invalid, StaleEdit
from casework.extensions import db
from casework.policy import Permission, can, require
from casework.policy.scopes import supervised_case_branches, visible_case_branches

PAGE_SIZE = 25


def load_case(case_id: uuid.UUID) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    return case


def show_errors(form, exc: Invalid) -> None:  # type: ignore[no-untyped-def]
    """Put a service's refusal beside the field it concerns, or above the form."""
    placed = False
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, str(message)]
            placed = True
    if not placed:
        form.form_errors.append(str(exc.message))


def submit(form, call) -> int | None:  # type: ignore[no-untyped-def]
    """Run a service for a submitted form: None when it succeeded, else the status to answer."""
    if not form.validate_on_submit():
        return 422 if request.method == "POST" else 200
    try:
        call()
    except StaleEdit as exc:
        db.session.rollback()
        form.form_errors.append(str(exc.message))
        return 409
    except Invalid as exc:
        db.session.rollback()
        show_errors(form, exc)
        return 422
    except DomainError as exc:  # an entry corrected meanwhile: InvalidTransition
        db.session.rollback()
        form.form_errors.append(str(exc.message))
        return exc.status
    return None


def me():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


@bp.route("/new", methods=["GET", "POST"])
def intake():  # type: ignore[no-untyped-def]
    require(current_user, Permission.CASE_CREATE, current_user.unit)
    form = IntakeForm()
    if request.method == "GET":
        form.received_at.data = to_local_naive(utcnow()).replace(second=0, microsecond=0)
    if form.validate_on_submit():
        try:
            result = service.open_case(
                me(),
                received_at=to_utc(form.received_at.data),
                source=form.source.data,
                types=form.types.data or [],
                summary=form.summary.data,
                victim_name=form.victim_name.data,
                victim_phone=form.victim_phone.data or None,
                safe_contact=form.safe_contact.data or None,
                immediate_danger=form.immediate_danger.data,
                child_involved=form.child_involved.data,
                injuries=form.injuries.data,
                sexual_violence=form.sexual_violence.data,
                reporter_name=form.reporter_name.data or None,
                reporter_contact=form.reporter_contact.data or None,
                reporter_relation=form.reporter_relation.data or None,
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("Case %(code)s recorded.", code=result.case.code), "success")
            return redirect(url_for("cases.file", case_id=result.case.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("cases/intake.html", form=form), status


@bp.get("/<uuid:case_id>")
def file(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    if not can(current_user, Permission.CASE_READ, case) and can(
        current_user, Permission.CASE_SUPERVISE, case
    ):
        return redirect(url_for("cases.summary", case_id=case.id), code=303)
    service.view_case(me(), case)
    from casework.cases import sections

    return render_template(
        "cases/file.html",
        case=case,
        alerts=service.alerts_for(case),
        sections=sections.for_file(me(), case),
    )


@bp.get("/<uuid:case_id>/summary")
def summary(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """The de-identified summary a supervising reviewer sees; break-glass opens the full file."""
    case = load_case(case_id)
    require(current_user, Permission.CASE_SUPERVISE, case)
    from casework.cases import sections

    return render_template(
        "cases/summary.html",
        case=case,
        form=BreakGlassForm(),
        victims=_victim_statistics(case),
        workflow=sections.workflow(me(), case),
    )


def _victim_statistics(case: Case) -> list[Person]:
    return list(
        db.session.scalars(select(Person).where(Person.case_id == case.id, Person.role == "victim"))
    )


@bp.post("/<uuid:case_id>/break-glass")
def break_glass(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_BREAK_GLASS, case)
    form = BreakGlassForm()
    if form.validate_on_submit():
        minutes = max(5, min(int(form.minutes.data or 60), 240))
        try:
            service.break_glass(
                me(), case, form.reason.data, minutes=minutes, password=form.password.data
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(
                _("The file is open to you for %(n)d minutes. This is recorded.", n=minutes),
                "warning",
            )
            return redirect(url_for("cases.file", case_id=case.id), code=303)
    from casework.cases import sections

    return (
        render_template(
            "cases/summary.html",
            case=case,
            form=form,
            victims=_victim_statistics(case),
            workflow=sections.workflow(me(), case),
        ),
        422,
    )


@bp.route("/<uuid:case_id>/intake", methods=["GET", "POST"])
def edit_intake(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    form = IntakeEditForm()
    if request.method == "GET":
        form.version.data = case.version
        form.received_at.data = to_local_naive(case.received_at).replace(second=0, microsecond=0)
        form.source.data = case.source
        form.summary.data = case.summary
        for name in ("immediate_danger", "child_involved", "injuries", "sexual_violence"):
            getattr(form, name).data = getattr(case, name)
    status = 200
    if form.validate_on_submit():
        try:
            service.update_intake(
                me(),
                case,
                expected_version=version_of(form),
                summary=form.summary.data,
                source=form.source.data,
                received_at=to_utc(form.received_at.data),
                immediate_danger=form.immediate_danger.data,
                child_involved=form.child_involved.data,
                injuries=form.injuries.data,
                sexual_violence=form.sexual_violence.data,
            )
        except StaleEdit as exc:
            db.session.rollback()
            form.form_errors.append(str(exc.message))
            status = 409
        except Invalid as exc:
            show_errors(form, exc)
            status = 422
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("cases.file", case_id=case.id), code=303)
    elif request.method == "POST":
        status = 422
    return render_template("cases/edit_intake.html", form=form, case=case), status


@bp.route("/<uuid:case_id>/classify", methods=["GET", "POST"])
def classify(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    form = ClassifyForm()
    if request.method == "GET":
        form.version.data = case.version
        form.types.data = case.type_codes
        form.severity.data = case.severity
        form.risk.data = case.risk or ""
        form.gbv_type.data = case.gbv_type or ""
    status = 200
    if form.validate_on_submit():
        try:
            service.classify(
                me(),
                case,
                expected_version=version_of(form),
                types=form.types.data or [],
                severity=form.severity.data,
                risk=form.risk.data or None,
                gbv_type=form.gbv_type.data or None,
            )
        except StaleEdit as exc:
            db.session.rollback()
            form.form_errors.append(str(exc.message))
            status = 409
        except Invalid as exc:
            show_errors(form, exc)
            status = 422
        else:
            flash(_("Classification saved."), "success")
            return redirect(url_for("cases.file", case_id=case.id), code=303)
    elif request.method == "POST":
        status = 422
    return render_template("cases/classify.html", form=form, case=case), status


# --- Lists (casework/cases/listing.py pages them, for the web and the API alike) -----------------

PAGE_SIZE = listing.PAGE_SIZE
_as_is = listing.as_is
_page = listing.page
page_query = listing.page_query


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    require(current_user, Permission.CASE_READ)
    where = listing.filters(request.args, me())
    rows, cursor = _page(visible_case_branches(me()), request.args.get("after"), where)
    audit.record(me(), Tag.CASE_LIST, None, object_type="case_file", shown=len(rows))
    return render_template(
        "cases/index.html",
        cases=rows,
        cursor=cursor,
        vocab=vocab,
        filter_units=listing.filter_units(me()),
        show_mine=True,
    )


@bp.get("/supervision")
def supervision():  # type: ignore[no-untyped-def]
    """De-identified summaries of every case in the reviewer's subtree."""
    require(current_user, Permission.CASE_SUPERVISE)
    where = listing.filters(request.args, me())
    rows, cursor = _page(supervised_case_branches(me()), request.args.get("after"), where)
    return render_template(
        "cases/supervision.html",
        cases=rows,
        cursor=cursor,
        vocab=vocab,
        filter_units=listing.filter_units(me()),
        show_mine=False,
    )
