"""The case file's people, their relationships, consent and legal bases, through the services and
forms of the web pages (cases/people.py, cases/consent.py, cases/people_forms.py).

Reads answer what the web's file page shows and audit as it does (`case:file:view`); a supervising
reviewer who may not read the file is refused here, as the file's sections are not in her summary.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, abort
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Optional

from casework.api import bp
from casework.api import people_schemas as schemas
from casework.api.cases import _CASE_ID, _if_match, _json, _load, me
from casework.api.jsonforms import Rfc3339Field, read_json, validated
from casework.api.problems import Problem
from casework.api.registry import Param, route
from casework.cases import consent as consents
from casework.cases import people, service
from casework.cases.models import Case, Person
from casework.cases.people_forms import (
    ConsentForm,
    EndLegalBasisForm,
    LegalBasisForm,
    PersonForm,
    RelationshipForm,
    disability_code,
)
from casework.policy import Permission, require

_WRITE_PROBLEMS = (400, 403, 404, 409, 413, 415, 422)
_IF_MATCH_PROBLEMS = (*_WRITE_PROBLEMS, 412, 428)


def _uuid_param(name: str) -> Param:
    return Param(name, {"type": "string", "format": "uuid"}, where="path", required=True)


_PERSON_ID = _uuid_param("person_id")
_CONSENT_ID = _uuid_param("consent_id")
_BASIS_ID = _uuid_param("basis_id")


class ApiPersonForm(PersonForm):
    """The web's form; members left out take the web form's blank choice ("not known")."""

    sex = SelectField(PersonForm.sex.args[0], default="unknown")
    disability = SelectField(
        PersonForm.disability.args[0],
        description=PersonForm.disability.kwargs["description"],
        default="",
    )


class ApiRelationshipForm(RelationshipForm):
    """The web's form; the other person is named by her id (the web offers a list of names)."""

    other = StringField(
        _l("… of"), validators=[DataRequired(_l("Choose another person of this case."))]
    )


class ApiConsentForm(ConsentForm):
    """The web's consent form; people by id, the moment with its offset."""

    subject = StringField(
        ConsentForm.subject.args[0], validators=ConsentForm.subject.kwargs["validators"]
    )
    representative = StringField(ConsentForm.representative.args[0], validators=[Optional()])
    given_at = Rfc3339Field(_l("When"), validators=ConsentForm.given_at.kwargs["validators"])


def _person_of(case: Case, value: str | None, field_name: str) -> Person | None:
    """The person of this case named by an id in the body; 422 (not 404) for a wrong one."""
    if not value:
        return None
    try:
        found = people.get_person(case, uuid.UUID(value))
    except ValueError:
        found = None
    if found is None:
        raise Problem("invalid", errors={field_name: [str(_l("No such person in this case."))]})
    return found


def _named_person(case: Case, value: str | None, field_name: str) -> Person:
    """As _person_of, for a member the form requires."""
    found = _person_of(case, value, field_name)
    if found is None:
        raise Problem("invalid", errors={field_name: [str(_l("No such person in this case."))]})
    return found


def _readable(case_id: uuid.UUID) -> Case:
    """The case, after the check and the audit event of the web's file page."""
    case = _load(case_id)
    service.view_case(me(), case)
    return case


def _editable(case_id: uuid.UUID) -> Case:
    case = _load(case_id)
    require(me(), Permission.CASE_EDIT, case)
    return case


def _person(case: Case, person_id: uuid.UUID) -> Person:
    found = people.get_person(case, person_id)
    if found is None:
        abort(404)
    return found


# --- People ------------------------------------------------------------------------------------


@route(
    bp,
    "GET",
    "/cases/{case_id}/people",
    summary="The people of the case with their identities, ages and relationships",
    response="PeopleList",
    params=(_CASE_ID,),
    problems=(403, 404, 410),
)
def list_people(case_id: uuid.UUID) -> Response:
    case = _readable(case_id)
    return _json({"items": [schemas.person_card(c) for c in people.cards(me(), case)]})


@route(
    bp,
    "POST",
    "/cases/{case_id}/people",
    summary="Add a victim, a child, an alleged perpetrator or a representative",
    response="PersonDetails",
    status=201,
    form=ApiPersonForm,
    params=(_CASE_ID,),
    problems=_WRITE_PROBLEMS,
    etag=True,
)
def add_person(case_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    form = validated(ApiPersonForm, read_json())
    person = people.add_person(me(), case, **form.details())
    return _json(schemas.person_details(person), 201, etag=person.version)


def _person_body(person: Person) -> dict[str, Any]:
    """The person's current details overlaid with the members sent (a merge patch)."""
    body = read_json()
    current: dict[str, Any] = {
        name: getattr(person, name)
        for name in (*people.IDENTITY_FIELDS, "role", "sex", "ethnicity")
    }
    if current["date_of_birth"] is not None:
        current["date_of_birth"] = current["date_of_birth"].isoformat()
    current["disability"] = disability_code(person.disability) or None
    return {**{k: v for k, v in current.items() if v is not None}, **body}


@route(
    bp,
    "PATCH",
    "/cases/{case_id}/people/{person_id}",
    summary="Correct a person's details",
    response="PersonDetails",
    form=ApiPersonForm,
    params=(_CASE_ID, _PERSON_ID),
    problems=_IF_MATCH_PROBLEMS,
    etag=True,
    if_match=True,
)
def update_person(case_id: uuid.UUID, person_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    person = _person(case, person_id)
    version = _if_match(person)  # type: ignore[arg-type]
    form = validated(ApiPersonForm, _person_body(person))
    people.update_person(me(), person, expected_version=version, **form.details())
    return _json(schemas.person_details(person), etag=person.version)


@route(
    bp,
    "POST",
    "/cases/{case_id}/people/{person_id}/relationships",
    summary="Record that this person is another person's husband, mother, child…",
    response="Relationship",
    status=201,
    form=ApiRelationshipForm,
    params=(_CASE_ID, _PERSON_ID),
    problems=_WRITE_PROBLEMS,
)
def add_relationship(case_id: uuid.UUID, person_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    person = _person(case, person_id)
    form = validated(ApiRelationshipForm, read_json())
    other = _named_person(case, form.other.data, "other")
    link = people.add_relationship(me(), case, person, other, form.kind.data)
    return _json(schemas.relationship(link), 201)


# --- Consent and legal bases -------------------------------------------------------------------


@route(
    bp,
    "GET",
    "/cases/{case_id}/consent",
    summary="The case's consents (active and withdrawn) and legal bases",
    response="ConsentSection",
    params=(_CASE_ID,),
    problems=(403, 404, 410),
)
def get_consent(case_id: uuid.UUID) -> Response:
    case = _readable(case_id)
    return _json(schemas.consent_section(consents.section(me(), case)))


@route(
    bp,
    "POST",
    "/cases/{case_id}/consent",
    summary="Record consent for one or more purposes (one record per purpose)",
    response="ConsentList",
    status=201,
    form=ApiConsentForm,
    params=(_CASE_ID,),
    problems=_WRITE_PROBLEMS,
)
def give_consent(case_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    form = validated(ApiConsentForm, read_json())
    subject = _named_person(case, form.subject.data, "subject")
    given = consents.give_consent(
        me(),
        case,
        subject=subject,
        purposes=form.purposes.data or [],
        given_by=form.given_by.data,
        method=form.method.data,
        given_at=form.given_at.data,
        representative=_person_of(case, form.representative.data, "representative"),
        representative_is_perpetrator=form.representative_is_perpetrator.data,
        reason=form.reason.data or None,
        child_agrees=form.child_agrees.data,
    )
    return _json({"items": [schemas.consent(c) for c in given]}, 201)


@route(
    bp,
    "POST",
    "/cases/{case_id}/consent/{consent_id}/withdraw",
    summary="Record that consent was withdrawn, now",
    response="Consent",
    params=(_CASE_ID, _CONSENT_ID),
    problems=(403, 404, 409),
)
def withdraw_consent(case_id: uuid.UUID, consent_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    row = consents.get_consent(case, consent_id)
    if row is None:
        abort(404)
    consents.withdraw_consent(me(), case, row)  # withdrawn already: 409
    return _json(schemas.consent(row))


@route(
    bp,
    "POST",
    "/cases/{case_id}/legal-bases",
    summary="Record a ground for processing without consent, with a note",
    response="LegalBasis",
    status=201,
    form=LegalBasisForm,
    params=(_CASE_ID,),
    problems=_WRITE_PROBLEMS,
    etag=True,
)
def record_legal_basis(case_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    form = validated(LegalBasisForm, read_json())
    row = consents.record_legal_basis(
        me(), case, basis=form.basis.data, purpose=form.purpose.data, note=form.note.data
    )
    return _json(schemas.legal_basis(row), 201, etag=row.version)


@route(
    bp,
    "POST",
    "/cases/{case_id}/legal-bases/{basis_id}/end",
    summary="Record that a legal basis no longer holds, and why",
    response="LegalBasis",
    form=EndLegalBasisForm,
    params=(_CASE_ID, _BASIS_ID),
    problems=_IF_MATCH_PROBLEMS,
    etag=True,
    if_match=True,
)
def end_legal_basis(case_id: uuid.UUID, basis_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    row = consents.get_legal_basis(case, basis_id)
    if row is None:
        abort(404)
    if row.ended_at is not None:
        raise Problem("conflict", _l("This legal basis was already ended."))
    version = _if_match(row)  # type: ignore[arg-type]
    form = validated(EndLegalBasisForm, read_json())
    consents.end_legal_basis(me(), case, row, reason=form.reason.data, expected_version=version)
    return _json(schemas.legal_basis(row), etag=row.version)
