"""Pages for the people of a case, their relationships, consent and legal bases.

Views load → authorise → validate → call a service → 303 redirect; a refused form answers 422, a
stale edit 409 with what the user typed. URLs carry random ids only.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casework.cases import bp, people, vocab
from casework.cases import consent as consents
from casework.cases.forms import to_local_naive, to_utc, version_of
from casework.cases.models import Case, Person
from casework.cases.people_forms import (
    ConsentForm,
    EndLegalBasisForm,
    LegalBasisForm,
    PersonForm,
    RelationshipForm,
    WithdrawConsentForm,
    disability_code,
)
from casework.cases.views import load_case, me, show_errors, submit
from casework.crypto.errors import KeyShredded
from casework.db import utcnow
from casework.errors import Invalid, StaleEdit
from casework.extensions import db
from casework.policy import Permission, require


def _load_person(case: Case, person_id: uuid.UUID) -> Person:
    person = people.get_person(case, person_id)
    if person is None:
        abort(404)
    return person


def _back(case: Case, anchor: str):  # type: ignore[no-untyped-def]
    return redirect(url_for("cases.file", case_id=case.id, _anchor=anchor), code=303)


def _person_choice(person: Person) -> tuple[str, str]:
    return str(person.id), f"{person.full_name} ({vocab.PERSON_ROLES.get(person.role, '')})"


# --- People -------------------------------------------------------------------------------------


@bp.route("/<uuid:case_id>/people/new", methods=["GET", "POST"])
def add_person(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.CASE_EDIT, case)
    form = PersonForm()
    status = 200
    if form.validate_on_submit():
        try:
            people.add_person(me(), case, **form.details())
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = 422
        else:
            flash(_("Person added."), "success")
            return _back(case, "people")
    elif request.method == "POST":
        status = 422
    return render_template("cases/person_form.html", form=form, case=case, person=None), status


@bp.route("/<uuid:case_id>/people/<uuid:person_id>/edit", methods=["GET", "POST"])
def edit_person(case_id: uuid.UUID, person_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.CASE_EDIT, case)
    person = _load_person(case, person_id)
    if person.erased:
        raise KeyShredded("this person was erased")  # 410: nothing of hers left to correct
    form = PersonForm()
    if request.method == "GET":
        form.version.data = person.version
        for name in (*people.IDENTITY_FIELDS, "role", "sex", "ethnicity"):
            getattr(form, name).data = getattr(person, name)
        form.disability.data = disability_code(person.disability)
    status = 200
    if form.validate_on_submit():
        try:
            people.update_person(me(), person, expected_version=version_of(form), **form.details())
        except StaleEdit as exc:
            db.session.rollback()
            form.form_errors.append(str(exc.message))
            status = 409
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = 422
        else:
            flash(_("Saved."), "success")
            return _back(case, "people")
    elif request.method == "POST":
        status = 422
    return render_template("cases/person_form.html", form=form, case=case, person=person), status


@bp.route("/<uuid:case_id>/people/<uuid:person_id>/relationships/new", methods=["GET", "POST"])
def add_relationship(case_id: uuid.UUID, person_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.CASE_EDIT, case)
    person = _load_person(case, person_id)
    form = RelationshipForm()
    others = [p for p in people.people_of(case) if p.id != person.id]
    form.other.choices = [("", _l("Choose…")), *(_person_choice(p) for p in others)]
    status = 200
    if form.validate_on_submit():
        other = people.get_person(case, uuid.UUID(form.other.data))
        if other is None:  # only possible if the person vanished meanwhile
            abort(404)
        try:
            people.add_relationship(me(), case, person, other, form.kind.data)
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = 422
        else:
            flash(_("Relationship recorded."), "success")
            return _back(case, "people")
    elif request.method == "POST":
        status = 422
    return (
        render_template("cases/person_relationship.html", form=form, case=case, person=person),
        status,
    )


# --- Consent ------------------------------------------------------------------------------------


@bp.route("/<uuid:case_id>/consent/new", methods=["GET", "POST"])
def give_consent(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.CASE_EDIT, case)
    everyone = people.people_of(case)
    form = ConsentForm()
    form.subject.choices = [_person_choice(p) for p in everyone if p.role in consents.SUBJECT_ROLES]
    form.representative.choices = [("", "—"), *(_person_choice(p) for p in everyone)]
    if request.method == "GET":
        form.given_at.data = to_local_naive(utcnow()).replace(second=0, microsecond=0)
    status = 200
    if form.validate_on_submit():
        by_id = {str(p.id): p for p in everyone}
        try:
            consents.give_consent(
                me(),
                case,
                subject=by_id[form.subject.data],
                purposes=form.purposes.data or [],
                given_by=form.given_by.data,
                method=form.method.data,
                given_at=to_utc(form.given_at.data),
                representative=by_id.get(form.representative.data or ""),
                representative_is_perpetrator=form.representative_is_perpetrator.data,
                reason=form.reason.data or None,
                child_agrees=form.child_agrees.data,
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = 422
        else:
            flash(_("Consent recorded."), "success")
            return _back(case, "consent")
    elif request.method == "POST":
        status = 422
    return render_template("cases/consent_form.html", form=form, case=case), status


@bp.route("/<uuid:case_id>/consent/<uuid:consent_id>/withdraw", methods=["GET", "POST"])
def withdraw_consent(case_id: uuid.UUID, consent_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.CASE_EDIT, case)
    consent = consents.get_consent(case, consent_id)
    if consent is None:
        abort(404)
    form = WithdrawConsentForm()
    if form.validate_on_submit():
        consents.withdraw_consent(me(), case, consent)  # already withdrawn: 409 from the handler
        flash(_("Consent withdrawn."), "success")
        return _back(case, "consent")
    status = 422 if request.method == "POST" else 200
    return (
        render_template("cases/consent_withdraw.html", form=form, case=case, consent=consent),
        status,
    )


@bp.route("/<uuid:case_id>/legal-basis/new", methods=["GET", "POST"])
def record_legal_basis(case_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.CASE_EDIT, case)
    form = LegalBasisForm()

    def save() -> None:
        consents.record_legal_basis(
            me(), case, basis=form.basis.data, purpose=form.purpose.data, note=form.note.data
        )

    status = submit(form, save)
    if status is None:
        flash(_("Legal basis recorded."), "success")
        return _back(case, "consent")
    return render_template("cases/consent_legal_basis.html", form=form, case=case), status


@bp.route("/<uuid:case_id>/legal-basis/<uuid:basis_id>/end", methods=["GET", "POST"])
def end_legal_basis(case_id: uuid.UUID, basis_id: uuid.UUID):  # type: ignore[no-untyped-def]
    case = load_case(case_id)
    require(me(), Permission.CASE_EDIT, case)
    basis = consents.get_legal_basis(case, basis_id)
    if basis is None:
        abort(404)
    form = EndLegalBasisForm()
    if request.method == "GET":
        form.version.data = basis.version

    def end() -> None:  # ended already, or meanwhile: 409 (StaleEdit, InvalidTransition)
        consents.end_legal_basis(
            me(), case, basis, reason=form.reason.data, expected_version=version_of(form)
        )

    status = submit(form, end)
    if status is None:
        flash(_("Legal basis ended."), "success")
        return _back(case, "consent")
    return (
        render_template("cases/consent_legal_basis_end.html", form=form, case=case, basis=basis),
        status,
    )
