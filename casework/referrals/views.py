"""Referral pages of the referring side, under the case (/cases/<id>/referrals…): they need the
case's permissions. The partner portal is in casework.referrals.portal_views.

Views load → authorise → validate → call a service → 303 redirect; a refused form answers 422, a
stale one 409. URLs carry random ids only; flash messages carry no one's data.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casework.cases import vocab
from casework.cases.forms import version_of
from casework.cases.models import Case
from casework.cases.support import eligible_partners, supported_people
from casework.cases.views import load_case, me, show_errors
from casework.errors import DomainError, Invalid, InvalidTransition, StaleEdit
from casework.extensions import db
from casework.policy import Permission, can, require
from casework.referrals import bp, packets, portal, service
from casework.referrals.forms import (
    ReasonForm,
    ReferralForm,
    ReshareForm,
    ServicesForm,
)
from casework.referrals.models import Partner, Referral

STATUS_LABELS = {
    "sent": _l("Sent, waiting for an answer"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "in_service": _l("In service"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
}


def _globals() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "field_labels": packets.FIELD_LABELS,
        "eligibility_levels": packets.ELIGIBILITY_LEVELS,
        "eligibility_reasons": packets.ELIGIBILITY_REASONS,
        "referral_event_labels": portal.EVENT_LABELS,
    }


@bp.app_context_processor
def _referral_labels() -> dict[str, Any]:
    return _globals()


def _load_referral(case: Case, referral_id: uuid.UUID) -> Referral:
    referral = portal.get_referral(case, referral_id)
    if referral is None:
        abort(404)
    return referral


def _to_case_referral(referral: Referral):  # type: ignore[no-untyped-def]
    return redirect(
        url_for("referrals.case_referral", case_id=referral.case_id, referral_id=referral.id),
        code=303,
    )


# --- The referring side -------------------------------------------------------------------------


def _choose_services(case: Case, kind: str, covered: dict[str, bool]):  # type: ignore[no-untyped-def]
    """The first step: which services she needs (GET, codes only)."""
    form = ServicesForm(request.args)
    form.setup()
    status = 200
    if "show" in request.args:
        form.services.errors = [_("Choose at least one service.")]
        status = 422
    of_kind = [p for p in eligible_partners(case) if p.kind == kind]
    offered = {s for p in of_kind for s in p.service_codes}
    people = {str(p.id): p for p in supported_people(case)}
    return (
        render_template(
            "referrals/choose_services.html",
            case=case,
            kind=kind,
            form=form,
            covered=covered[kind],
            offered=offered,
            has_partners=bool(of_kind),
            people=people,
            eligibility=_eligibility(case, kind, people),
        ),
        status,
    )


def _eligibility(case: Case, kind: str, people: dict[str, Any]) -> dict[str, Any]:
    if kind != "legal_aid":
        return {}
    return {pid: packets.legal_aid_eligibility(case, p) for pid, p in people.items()}


def _wanted(codes: list[str]) -> list[str]:
    return [s for s in vocab.SERVICES if s in codes]


@bp.route("/cases/<uuid:case_id>/referrals/new", methods=["GET", "POST"])
def new_referral(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.REFERRAL_SEND, case)
    covered = service.consent_status(case)
    kind = request.args.get("kind", "")
    if kind not in packets.KIND_PURPOSE:
        return render_template("referrals/choose_kind.html", case=case, covered=covered)
    form = ReferralForm()
    form.setup(kind)
    if request.method == "GET":
        form.services.data = _wanted(request.args.getlist("services"))
        if not form.services.data or "change" in request.args:
            return _choose_services(case, kind, covered)
    wanted = _wanted(form.services.data or [])
    # Every partner of the kind is a valid choice to the form, so a partner that lacks a service
    # meets the service's own, clear refusal; the list shows only those offering them all.
    of_kind = {str(p.id): p for p in eligible_partners(case) if p.kind == kind}
    offering = {pid: p for pid, p in of_kind.items() if not p.lacks(wanted)}
    people = {str(p.id): p for p in supported_people(case)}
    form.person.choices = [
        ("", _l("Choose…")),
        *(
            (pid, f"{p.full_name} ({vocab.PERSON_ROLES.get(p.role, '')})")
            for pid, p in people.items()
        ),
    ]
    form.partner.choices = [("", _l("Choose…")), *((pid, p.name) for pid, p in offering.items())]
    form.partner.validate_choice = False
    if request.method == "GET":
        form.packet_fields.data = list(packets.default_fields(kind))
        if len(people) == 1:
            form.person.data = next(iter(people))
        if len(offering) == 1:
            form.partner.data = next(iter(offering))
    status = 200
    if form.validate_on_submit():
        if form.partner.data not in of_kind:
            form.partner.errors = [_("Choose an active partner that serves this case's area.")]
            return _new_page(case, form, kind, covered, people, offering), 422
        try:
            referral = service.send_referral(
                me(),
                case,
                person=people[form.person.data],
                partner=of_kind[form.partner.data],
                services=form.services.data or [],
                fields=form.packet_fields.data or [],
                needs=form.needs.data,
                pickup_confirmed=form.pickup_confirmed.data,
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = 422
        else:
            flash(
                _("Referral sent. The partner is asked to answer within the deadline."), "success"
            )
            return _to_case_referral(referral)
    elif request.method == "POST":
        status = 422
    return _new_page(case, form, kind, covered, people, offering), status


def _new_page(  # type: ignore[no-untyped-def]
    case: Case,
    form: ReferralForm,
    kind: str,
    covered: dict[str, bool],
    people: dict[str, Any],
    offering: dict[str, Partner],
):
    return render_template(
        "referrals/new.html",
        case=case,
        form=form,
        kind=kind,
        covered=covered[kind],
        people=people,
        eligibility=_eligibility(case, kind, people),
        has_partners=bool(offering),
    )


@bp.get("/cases/<uuid:case_id>/referrals/<uuid:referral_id>")
def case_referral(case_id: uuid.UUID, referral_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.CASE_READ, case)
    referral = _load_referral(case, referral_id)
    return _case_referral_page(referral)


def _case_referral_page(referral: Referral, form: ReasonForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    view = portal.case_referral(me(), referral)
    form = form or ReasonForm()
    form.version.data = referral.version
    return (
        render_template(
            "referrals/case_referral.html",
            case=referral.case,
            view=view,
            form=form,
            can_send=can(me(), Permission.REFERRAL_SEND, referral.case),
        ),
        status,
    )


@bp.post("/cases/<uuid:case_id>/referrals/<uuid:referral_id>/withdraw")
def withdraw(case_id: uuid.UUID, referral_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.REFERRAL_SEND, case)
    referral = _load_referral(case, referral_id)
    if not referral.live:
        # Ended meanwhile: the page no longer holds the form, so a form error would not show.
        raise InvalidTransition(_l("This referral is no longer live."))
    form = ReasonForm()
    if not form.validate_on_submit():
        return _case_referral_page(referral, form, 422)
    try:
        service.withdraw_referral(
            me(), referral, reason=form.reason.data, expected_version=version_of(form)
        )
    except (Invalid, StaleEdit) as exc:
        db.session.rollback()
        show_errors(form, exc)
        return _case_referral_page(referral, form, exc.status)
    flash(_("Referral withdrawn. The partner can no longer see it."), "success")
    return _to_case_referral(referral)


@bp.route("/cases/<uuid:case_id>/referrals/<uuid:referral_id>/reshare", methods=["GET", "POST"])
def reshare(case_id: uuid.UUID, referral_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.REFERRAL_SEND, case)
    referral = _load_referral(case, referral_id)
    kind = referral.partner.kind
    form = ReshareForm()
    form.packet_fields.choices = [
        (f, packets.FIELD_LABELS[f]) for f in packets.allowed_fields(kind)
    ]
    if request.method == "GET":
        form.packet_fields.data = portal.latest_packet(referral).field_names
    status = 200
    if form.validate_on_submit():
        try:
            service.reshare_packet(
                me(),
                referral,
                fields=form.packet_fields.data or [],
                needs=form.needs.data,
                pickup_confirmed=form.pickup_confirmed.data,
            )
        except DomainError as exc:
            db.session.rollback()
            show_errors(form, exc)  # type: ignore[arg-type]
            status = exc.status
        else:
            flash(_("The partner now sees the case as it is today."), "success")
            return _to_case_referral(referral)
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "referrals/reshare.html", case=case, referral=referral, form=form, kind=kind
        ),
        status,
    )
