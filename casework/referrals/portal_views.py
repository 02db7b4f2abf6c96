"""The partner portal (/partner…) and the reviewers' shelter page. A partner's page needs
Permission.REFERRAL_WORK on the referral, so she never reaches a case page, and a referral not (or
no longer) hers answers 404, audited.

Views load → authorise → validate → call a service → 303 redirect; a refused form answers 422, a
stale one 409. URLs carry random ids only; flash messages carry no one's data.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from casework.cases.forms import to_local_naive, to_utc, version_of
from casework.cases.support import local_today
from casework.cases.views import me, show_errors
from casework.db import utcnow
from casework.errors import DomainError
from casework.extensions import db
from casework.policy import NotPermitted, Permission, require
from casework.referrals import bp, delivery, portal, service, stays
from casework.referrals.forms import (
    DeliveryForm,
    NoteForm,
    OutcomeForm,
    ReasonForm,
    StayForm,
    VersionedForm,
)
from casework.referrals.models import Partner, Referral, ShelterStay

# --- The partner portal ---------------------------------------------------------------------


def _partner_referral(referral_id: uuid.UUID) -> Referral:
    """The referral, if the partner may work it now; otherwise 404 (audited), whether it exists,
    is another organisation's, was withdrawn, or lost its consent."""
    require(me(), Permission.REFERRAL_WORK)
    referral = db.session.get(Referral, referral_id)
    if referral is None:
        raise NotPermitted(Permission.REFERRAL_WORK, hide=True)
    require(me(), Permission.REFERRAL_WORK, referral, hide=True)
    return referral


def _back(referral: Referral):  # type: ignore[no-untyped-def]
    return redirect(url_for("referrals.partner_referral", referral_id=referral.id), code=303)


@bp.get("/partner")
def partner_home():  # type: ignore[no-untyped-def]
    require(me(), Permission.REFERRAL_WORK)
    return render_template("referrals/portal.html", portal=portal.portal(me()))


def _partner_page(referral: Referral, status: int = 200, **forms: Any):  # type: ignore[no-untyped-def]
    view = portal.read_packet(me(), referral)
    defaults = {
        "decline": ReasonForm(prefix="decline"),
        "complete": OutcomeForm(prefix="complete"),
        "note": NoteForm(prefix="note"),
        "check_in": StayForm(prefix="check_in"),
        "step": VersionedForm(prefix="step"),
    }
    for row in view.services:
        f = DeliveryForm(prefix=f"svc-{row.support.id.hex}", formdata=None)
        f.version.data = row.support.version
        f.on.data = local_today()
        defaults[f"svc-{row.support.id.hex}"] = f
    defaults.update(forms)
    for form in defaults.values():
        if "version" in form._fields and not form.version.data:
            form.version.data = referral.version
    now = to_local_naive(utcnow()).replace(second=0, microsecond=0)
    if defaults["check_in"].at.data is None:
        defaults["check_in"].at.data = now
    checkout = {}
    for stay in view.stays:
        if stay.checked_out_at is None:
            f = StayForm(prefix=f"out-{stay.id.hex}", formdata=None)
            f.version.data = stay.version
            f.at.data = now
            checkout[stay.id] = f
    return (
        render_template(
            "referrals/partner_referral.html",
            view=view,
            forms=defaults,
            checkout=checkout,
            is_shelter=referral.partner.kind == "shelter",
        ),
        status,
    )


@bp.get("/partner/referrals/<uuid:referral_id>")
def partner_referral(referral_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return _partner_page(_partner_referral(referral_id))


def _partner_step(referral: Referral, form: Any, name: str, action: Any, done: str):  # type: ignore[no-untyped-def]
    """Validate the step's form and run it; a refusal re-renders the page with the form's errors."""
    if not form.validate_on_submit():
        return _partner_page(referral, 422, **{name: form})
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        show_errors(form, exc)  # type: ignore[arg-type]
        if not form.errors and not form.form_errors:
            form.form_errors.append(str(exc.message))
        db.session.refresh(referral)
        require(me(), Permission.REFERRAL_WORK, referral, hide=True)
        return _partner_page(referral, exc.status, **{name: form})
    flash(done, "success")
    return _back(referral)


@bp.post("/partner/referrals/<uuid:referral_id>/accept")
def accept(referral_id: uuid.UUID):  # type: ignore[no-untyped-def]
    referral = _partner_referral(referral_id)
    form = VersionedForm(prefix="step")
    return _partner_step(
        referral,
        form,
        "step",
        lambda: service.accept_referral(me(), referral, expected_version=version_of(form)),
        _("Referral accepted. The referring unit has been told."),
    )


@bp.post("/partner/referrals/<uuid:referral_id>/decline")
def decline(referral_id: uuid.UUID):  # type: ignore[no-untyped-def]
    referral = _partner_referral(referral_id)
    form = ReasonForm(prefix="decline")
    return _partner_step(
        referral,
        form,
        "decline",
        lambda: service.decline_referral(
            me(), referral, reason=form.reason.data, expected_version=version_of(form)
        ),
        _("Referral declined. The referring unit has been told."),
    )


@bp.post("/partner/referrals/<uuid:referral_id>/start")
def start(referral_id: uuid.UUID):  # type: ignore[no-untyped-def]
    referral = _partner_referral(referral_id)
    form = VersionedForm(prefix="step")
    return _partner_step(
        referral,
        form,
        "step",
        lambda: service.start_service(me(), referral, expected_version=version_of(form)),
        _("Service started."),
    )


@bp.post("/partner/referrals/<uuid:referral_id>/complete")
def complete(referral_id: uuid.UUID):  # type: ignore[no-untyped-def]
    referral = _partner_referral(referral_id)
    form = OutcomeForm(prefix="complete")
    return _partner_step(
        referral,
        form,
        "complete",
        lambda: service.complete_referral(
            me(), referral, outcome=form.outcome.data, expected_version=version_of(form)
        ),
        _("Referral completed. The referring unit has been told."),
    )


@bp.post("/partner/referrals/<uuid:referral_id>/notes")
def add_note(referral_id: uuid.UUID):  # type: ignore[no-untyped-def]
    referral = _partner_referral(referral_id)
    form = NoteForm(prefix="note")
    return _partner_step(
        referral,
        form,
        "note",
        lambda: service.add_note(me(), referral, form.body.data),
        _("Note sent to the referring unit."),
    )


@bp.post("/partner/referrals/<uuid:referral_id>/services/<uuid:support_id>")
def record_service(referral_id: uuid.UUID, support_id: uuid.UUID):  # type: ignore[no-untyped-def]
    referral = _partner_referral(referral_id)
    support = delivery.support_of(referral, support_id)
    if support is None:
        abort(404)
    name = f"svc-{support.id.hex}"
    form = DeliveryForm(prefix=name)
    return _partner_step(
        referral,
        form,
        name,
        lambda: delivery.record_delivery(
            me(),
            referral,
            support,
            result=form.result.data,
            on=form.on.data,
            reason=form.reason.data,
            expected_version=version_of(form),
        ),
        _("Service recorded. The referring unit sees it on the case file."),
    )


@bp.post("/partner/referrals/<uuid:referral_id>/stays")
def check_in(referral_id: uuid.UUID):  # type: ignore[no-untyped-def]
    referral = _partner_referral(referral_id)
    form = StayForm(prefix="check_in")
    return _partner_step(
        referral,
        form,
        "check_in",
        lambda: stays.check_in(me(), referral, at=to_utc(form.at.data)),
        _("Check-in recorded."),
    )


@bp.post("/partner/referrals/<uuid:referral_id>/stays/<uuid:stay_id>/check-out")
def check_out(referral_id: uuid.UUID, stay_id: uuid.UUID):  # type: ignore[no-untyped-def]
    referral = _partner_referral(referral_id)
    stay = db.session.get(ShelterStay, stay_id)
    if stay is None or stay.referral_id != referral.id:
        abort(404)
    form = StayForm(prefix=f"out-{stay.id.hex}")
    if not form.validate_on_submit():
        flash(_("Enter the date and time of her check-out."), "error")
        return _back(referral)
    try:
        stays.check_out(me(), stay, at=to_utc(form.at.data), expected_version=version_of(form))
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return _back(referral)
    flash(_("Check-out recorded."), "success")
    return _back(referral)


# --- Shelters for reviewers -----------------------------------------------------------------


@bp.get("/shelters")
def shelters():  # type: ignore[no-untyped-def]
    """Occupancy of the shelters serving the reviewer's unit and the units around it."""
    require(me(), Permission.CASE_SUPERVISE)
    from casework.accounts.units import subtree_ids

    unit = me().unit
    ids = set(subtree_ids(unit.id)) | {u.id for u in unit.ancestors()} if unit else set()
    rows = [
        stays.occupancy(p)
        for p in db.session.scalars(
            db.select(Partner)
            .where(Partner.kind == "shelter", Partner.active.is_(True))
            .order_by(Partner.name)
        )
        if any(u.id in ids for u in p.units_served)
    ]
    return render_template("referrals/shelters.html", rows=rows)
