"""Pages for what is done for the victim: assessments, actions, support and follow-ups.

Views load → authorise → validate → call a service → 303 back to the file's section. A refused form
answers 422, a stale one 409, and both keep what the user typed. URLs carry random ids only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casework.accounts.models import Unit
from casework.cases import bp, support, timeline, vocab
from casework.cases.forms import to_local_naive, to_utc, version_of
from casework.cases.models import Action, Assessment, Case, FollowUp, Person, Support
from casework.cases.timeline_forms import (
    ActionCorrectionForm,
    ActionForm,
    FollowUpEditForm,
    FollowUpForm,
    NeedsAssessmentForm,
    SafetyAssessmentForm,
    SupportEditForm,
    SupportForm,
)
from casework.cases.views import load_case, me, submit
from casework.db import utcnow
from casework.extensions import db
from casework.policy import Permission, require
from casework.referrals.models import Partner


def _child_of(case: Case, model: type, row_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """A record of this case, or 404 (an id from another case is not found here)."""
    row = db.session.get(model, row_id)
    if row is None or row.case_id != case.id:
        abort(404)
    return row


def _back(case: Case, anchor: str):  # type: ignore[no-untyped-def]
    return redirect(url_for("cases.file", case_id=case.id, _anchor=anchor), code=303)


def _now_local() -> datetime:
    return to_local_naive(utcnow()).replace(second=0, microsecond=0)


def _minute(moment: datetime) -> datetime:
    return to_local_naive(moment).replace(second=0, microsecond=0)


def _number(value: object) -> int:
    """The version number a form was loaded with (-1 when tampered: then always stale)."""
    try:
        return int(str(value))
    except ValueError:
        return -1


# --- Assessments --------------------------------------------------------------------------------


@bp.route("/<uuid:case_id>/assessments/<kind>/new", methods=["GET", "POST"])
def new_assessment(case_id: uuid.UUID, kind: str):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    if kind not in vocab.ASSESSMENT_KINDS:
        abort(404)
    form = SafetyAssessmentForm() if kind == "safety" else NeedsAssessmentForm()
    current = next(h.current for h in timeline.assessments_of(case) if h.kind == kind)
    if request.method == "GET":
        # The new version starts from the current one: the officer revises, not retypes.
        form.based_on.data = current.number if current else 0
        if current is not None:
            form.findings.data = current.findings
            form.safety_plan.data = current.safety_plan
            if kind == "safety":
                form.risk.data = current.risk

    def save() -> None:
        timeline.add_assessment(
            me(),
            case,
            kind=kind,
            risk=form.risk.data if kind == "safety" else None,
            findings=form.findings.data,
            safety_plan=form.safety_plan.data,
            based_on=_number(form.based_on.data),
        )

    status = submit(form, save)
    if status is None:
        flash(_("Assessment saved."), "success")
        return _back(case, "assessments")
    if status == 409:
        # Show the version saved meanwhile beside the text kept; saving again builds on it.
        current = next(h.current for h in timeline.assessments_of(case) if h.kind == kind)
        form.based_on.data = current.number if current else 0
    return render_template(
        "cases/assessment_form.html",
        form=form,
        case=case,
        kind=kind,
        current=current,
        stale=status == 409,
    ), status


@bp.get("/<uuid:case_id>/assessments/<uuid:assessment_id>")
def assessment(case_id: uuid.UUID, assessment_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_READ, case)
    row = _child_of(case, Assessment, assessment_id)
    timeline.view_assessment(me(), row)
    return render_template("cases/assessment_show.html", case=case, assessment=row)


# --- Actions ------------------------------------------------------------------------------------


@bp.route("/<uuid:case_id>/actions/new", methods=["GET", "POST"])
def new_action(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    form = ActionForm()
    if request.method == "GET":
        form.occurred_at.data = _now_local()

    def save() -> None:
        timeline.add_action(
            me(),
            case,
            kind=form.kind.data,
            authority=form.authority.data or None,
            occurred_at=to_utc(form.occurred_at.data),
            description=form.description.data,
        )

    status = submit(form, save)
    if status is None:
        flash(_("Action recorded."), "success")
        return _back(case, "actions")
    return render_template(
        "cases/action_form.html",
        form=form,
        case=case,
        barred=timeline.reconciliation_barred(case),
        original=None,
        latest=None,
    ), status


@bp.route("/<uuid:case_id>/actions/<uuid:action_id>/correct", methods=["GET", "POST"])
def correct_action(case_id: uuid.UUID, action_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    original = _child_of(case, Action, action_id)
    latest = timeline.latest_of(original)
    form = ActionCorrectionForm()
    if request.method == "GET":
        form.kind.data = original.kind
        form.authority.data = original.authority or ""
        form.occurred_at.data = _minute(original.occurred_at)
        form.description.data = original.description

    def save() -> None:
        timeline.correct_action(
            me(),
            original,
            kind=form.kind.data,
            authority=form.authority.data or None,
            occurred_at=to_utc(form.occurred_at.data),
            description=form.description.data,
        )

    if latest is not original and request.method == "GET":
        status: int | None = 409  # corrected already: the page points at the latest version
    else:
        status = submit(form, save)
    if status is None:
        flash(_("Correction recorded."), "success")
        return _back(case, "actions")
    return render_template(
        "cases/action_form.html",
        form=form,
        case=case,
        barred=timeline.reconciliation_barred(case),
        original=original,
        latest=timeline.latest_of(original),
    ), status


# --- Support ------------------------------------------------------------------------------------


def _provider_choices(case: Case, current: Support | None = None) -> list[tuple[str, object]]:
    """The unit itself (the one on record, else the handling unit) and the eligible partners."""
    unit = case.handling_unit
    if current is not None and current.provider_unit_id is not None:
        unit = db.session.get(Unit, current.provider_unit_id) or unit
    items: list[tuple[str, object]] = [("unit", _("%(unit)s (our unit)", unit=unit.name))]
    partners = support.eligible_partners(case)
    if current is not None and current.provider_partner_id is not None:
        mine = db.session.get(Partner, current.provider_partner_id)
        if mine is not None and mine not in partners:
            partners.append(mine)  # no longer eligible, but the record still names it
    for partner in partners:
        items.append((str(partner.id), f"{partner.name} ({partner_kind(partner.kind)})"))
    return items


def partner_kind(code: str) -> str:
    from casework.labels import PARTNER_KIND_LABELS, label

    return label(PARTNER_KIND_LABELS, code)


def _partner_of(value: str | None) -> Partner | None:
    """The partner chosen in the form, or None for the unit itself (validated by the service)."""
    if not value or value == "unit":
        return None
    try:
        partner = db.session.get(Partner, int(value))
    except ValueError:
        partner = None
    if partner is None:
        abort(400)
    return partner


@bp.route("/<uuid:case_id>/support/new", methods=["GET", "POST"])
def new_support(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    people = [
        (str(p.id), f"{p.full_name} · {vocab.PERSON_ROLES[p.role]}")
        for p in support.supported_people(case)
    ]
    form = SupportForm(people=people, providers=_provider_choices(case))
    if request.method == "GET":
        form.provider.data = "unit"
        if len(people) == 1:
            form.person.data = people[0][0]

    def save() -> None:
        person = db.session.get(Person, uuid.UUID(form.person.data))
        assert person is not None  # noqa: S101 (the choices hold this case's people only)  # nosec B101
        support.add_support(
            me(),
            case,
            person=person,
            service=form.service.data,
            partner=_partner_of(form.provider.data),
            status=form.status.data,
            started_on=form.started_on.data,
            ended_on=form.ended_on.data,
            outcome=form.outcome.data,
        )

    status = submit(form, save)
    if status is None:
        flash(_("Support recorded."), "success")
        return _back(case, "support")
    return render_template("cases/support_form.html", form=form, case=case, row=None), status


@bp.route("/<uuid:case_id>/support/<uuid:support_id>", methods=["GET", "POST"])
def edit_support(case_id: uuid.UUID, support_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    row = _child_of(case, Support, support_id)
    form = SupportEditForm(providers=_provider_choices(case, row))
    if request.method == "GET":
        form.version.data = row.version
        form.provider.data = (
            str(row.provider_partner_id) if row.provider_partner_id is not None else "unit"
        )
        form.status.data = row.status
        form.started_on.data = row.started_on
        form.ended_on.data = row.ended_on
        form.outcome.data = row.outcome

    def save() -> None:
        support.update_support(
            me(),
            row,
            expected_version=version_of(form),
            partner=_partner_of(form.provider.data),
            status=form.status.data,
            started_on=form.started_on.data,
            ended_on=form.ended_on.data,
            outcome=form.outcome.data,
        )

    status = submit(form, save)
    if status is None:
        flash(_("Saved."), "success")
        return _back(case, "support")
    return render_template("cases/support_form.html", form=form, case=case, row=row), status


# --- Follow-ups ---------------------------------------------------------------------------------


@bp.route("/<uuid:case_id>/follow-ups/new", methods=["GET", "POST"])
def new_follow_up(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    form = FollowUpForm()
    suggested = support.follow_up_due(case.risk, utcnow()) if case.risk else None

    def save() -> None:
        chosen = form.due_at.data
        support.schedule_follow_up(me(), case, due_at=to_utc(chosen) if chosen else None)

    status = submit(form, save)
    if status is None:
        flash(_("Follow-up scheduled."), "success")
        return _back(case, "follow-ups")
    return render_template(
        "cases/follow_up_form.html", form=form, case=case, row=None, suggested=suggested
    ), status


@bp.route("/<uuid:case_id>/follow-ups/<uuid:follow_up_id>", methods=["GET", "POST"])
def edit_follow_up(case_id: uuid.UUID, follow_up_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(current_user, Permission.CASE_EDIT, case)
    row = _child_of(case, FollowUp, follow_up_id)
    form = FollowUpEditForm()
    if request.method == "GET":
        form.version.data = row.version
        form.status.data = "done" if row.status == "due" else row.status
        form.done_at.data = _minute(row.done_at) if row.done_at else _now_local()
        form.note.data = row.note
        form.due_at.data = _minute(row.due_at)

    def save() -> None:
        typed_due = to_utc(form.due_at.data)
        # The form shows minutes: an untouched due date keeps its stored value.
        due_at = None if form.due_at.data == _minute(row.due_at) else typed_due
        done_at = form.done_at.data
        support.update_follow_up(
            me(),
            row,
            expected_version=version_of(form),
            status=form.status.data,
            note=form.note.data,
            done_at=to_utc(done_at) if done_at and form.status.data == "done" else None,
            due_at=due_at,
        )

    status = submit(form, save)
    if status is None:
        flash(_("Follow-up saved."), "success")
        return _back(case, "follow-ups")
    return render_template(
        "cases/follow_up_form.html", form=form, case=case, row=row, suggested=None
    ), status
