"""Support services and follow-ups through the API, over the web's services and forms
(cases/support.py, cases/timeline_forms.py). Reads audit as the web's file page does."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, abort
from flask_babel import lazy_gettext as _l
from wtforms import StringField

from casework.api import bp
from casework.api import record_schemas as schemas
from casework.api.cases import _CASE_ID, _if_match, _json, me
from casework.api.jsonforms import Rfc3339Field, read_json, validated
from casework.api.people import _editable, _named_person, _readable
from casework.api.problems import Problem
from casework.api.registry import Param, route
from casework.cases import support
from casework.cases.models import Case, FollowUp, Support
from casework.cases.timeline_forms import (
    FollowUpEditForm,
    FollowUpForm,
    SupportEditForm,
    SupportForm,
)
from casework.extensions import db
from casework.referrals.models import Partner

_SUPPORT_ID = Param("support_id", {"type": "string", "format": "uuid"}, where="path", required=True)
_FOLLOW_UP_ID = Param(
    "follow_up_id", {"type": "string", "format": "uuid"}, where="path", required=True
)
_WRITE_PROBLEMS = (400, 403, 404, 409, 413, 415, 422)
_PROVIDER = StringField(
    _l("Provided by"),
    description=_l('"unit" for the handling unit, or the id of an eligible partner.'),
    validators=SupportForm.provider.kwargs["validators"],
)


class ApiSupportForm(SupportForm):
    """The web's form; the person by id, the provider as "unit" or a partner's id."""

    person = StringField(
        SupportForm.person.args[0], validators=SupportForm.person.kwargs["validators"]
    )
    provider = _PROVIDER


class ApiSupportEditForm(SupportEditForm):
    provider = _PROVIDER


class ApiFollowUpForm(FollowUpForm):
    due_at = Rfc3339Field(
        FollowUpForm.due_at.args[0], validators=FollowUpForm.due_at.kwargs["validators"]
    )


class ApiFollowUpOutcomeForm(FollowUpEditForm):
    """Done (when, with a note) or missed; a new due date only while still due (absent: kept)."""

    done_at = Rfc3339Field(
        FollowUpEditForm.done_at.args[0], validators=FollowUpEditForm.done_at.kwargs["validators"]
    )
    due_at = Rfc3339Field(FollowUpEditForm.due_at.args[0])


def _partner(value: str | None) -> Partner | None:
    """None for the unit itself; an unknown partner is invalid input (the service checks the rest)."""
    if not value or value == "unit":
        return None
    found = db.session.get(Partner, int(value)) if value.isdigit() else None
    if found is None:
        raise Problem("invalid", errors={"provider": [str(_l("Choose who provides it."))]})
    return found


def _child(case: Case, model: type, row_id: uuid.UUID) -> Any:
    row = db.session.get(model, row_id)
    if row is None or row.case_id != case.id:
        abort(404)
    return row


# --- Support -----------------------------------------------------------------------------------


@route(
    bp,
    "GET",
    "/cases/{case_id}/support",
    summary="The support services of the case and its follow-ups",
    response="SupportSection",
    params=(_CASE_ID,),
    problems=(403, 404, 410),
)
def list_support(case_id: uuid.UUID) -> Response:
    case = _readable(case_id)
    return _json(
        {
            "services": [schemas.support_row(r) for r in support.supports_of(case)],
            "follow_ups": [schemas.follow_up(r.follow_up) for r in support.follow_ups_of(case)],
        }
    )


@route(
    bp,
    "POST",
    "/cases/{case_id}/support",
    summary="Record a service to a victim or child, from the unit or an eligible partner",
    response="Support",
    status=201,
    form=ApiSupportForm,
    params=(_CASE_ID,),
    problems=_WRITE_PROBLEMS,
    etag=True,
)
def add_support(case_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    form = validated(ApiSupportForm, read_json())
    row = support.add_support(
        me(),
        case,
        person=_named_person(case, form.person.data, "person"),
        service=form.service.data,
        partner=_partner(form.provider.data),
        status=form.status.data,
        started_on=form.started_on.data,
        ended_on=form.ended_on.data,
        outcome=form.outcome.data or None,
    )
    return _json(schemas.support(row), 201, etag=row.version)


def _support_body(row: Support) -> dict[str, Any]:
    """The service's current values overlaid with the members sent (a merge patch)."""
    current: dict[str, Any] = {
        "provider": str(row.provider_partner_id) if row.provider_partner_id else "unit",
        "status": row.status,
        "started_on": row.started_on.isoformat() if row.started_on else None,
        "ended_on": row.ended_on.isoformat() if row.ended_on else None,
        "outcome": row.outcome,
    }
    return {**current, **read_json()}


@route(
    bp,
    "PATCH",
    "/cases/{case_id}/support/{support_id}",
    summary="Change a service's provider, status, dates or outcome",
    response="Support",
    form=ApiSupportEditForm,
    params=(_CASE_ID, _SUPPORT_ID),
    problems=(*_WRITE_PROBLEMS, 412, 428),
    etag=True,
    if_match=True,
)
def update_support(case_id: uuid.UUID, support_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    row = _child(case, Support, support_id)
    version = _if_match(row)
    form = validated(ApiSupportEditForm, _support_body(row))
    support.update_support(
        me(),
        row,
        expected_version=version,
        partner=_partner(form.provider.data),
        status=form.status.data,
        started_on=form.started_on.data,
        ended_on=form.ended_on.data,
        outcome=form.outcome.data or None,
    )
    return _json(schemas.support(row), etag=row.version)


# --- Follow-ups --------------------------------------------------------------------------------


@route(
    bp,
    "POST",
    "/cases/{case_id}/follow-ups",
    summary="Schedule a follow-up (without a due moment: the one the case's risk suggests)",
    response="FollowUp",
    status=201,
    form=ApiFollowUpForm,
    params=(_CASE_ID,),
    problems=_WRITE_PROBLEMS,
    etag=True,
)
def schedule_follow_up(case_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    form = validated(ApiFollowUpForm, read_json())
    row = support.schedule_follow_up(me(), case, due_at=form.due_at.data)
    return _json(schemas.follow_up(row), 201, etag=row.version)


@route(
    bp,
    "POST",
    "/cases/{case_id}/follow-ups/{follow_up_id}/outcome",
    summary="Mark a follow-up done (when, with a note) or missed, or move it while due",
    response="FollowUp",
    form=ApiFollowUpOutcomeForm,
    params=(_CASE_ID, _FOLLOW_UP_ID),
    problems=(*_WRITE_PROBLEMS, 412, 428),
    etag=True,
    if_match=True,
)
def follow_up_outcome(case_id: uuid.UUID, follow_up_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    row = _child(case, FollowUp, follow_up_id)
    version = _if_match(row)
    form = validated(ApiFollowUpOutcomeForm, read_json())
    support.update_follow_up(
        me(),
        row,
        expected_version=version,
        status=form.status.data,
        note=form.note.data or None,
        done_at=form.done_at.data if form.status.data == "done" else None,
        due_at=form.due_at.data,
    )
    return _json(schemas.follow_up(row), etag=row.version)
