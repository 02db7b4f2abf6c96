"""Requests to act (DESIGN.md §4) through the API: after a case moved up, the unit handling it asks
a unit below that handled it before to do something by a time; that unit answers by recording what
it did in the case's actions, or the handling unit withdraws the request. Each endpoint asks the
policy the same question as the web's page, validates the body with the web's form and calls the
web's service (which audits); answering and withdrawing take If-Match with the request's version."""

from __future__ import annotations

import uuid

from flask import Response, abort
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField

from casework.api import bp, schemas
from casework.api import workflow_schemas as out
from casework.api.cases import _CASE_ID, _if_match, _json, _load, me
from casework.api.jsonforms import Rfc3339Field, read_json, validated
from casework.api.problems import Problem
from casework.api.registry import Param, route
from casework.api.timeline import ApiActionForm, _readable
from casework.cases.models import Case
from casework.cases.workflow import requests
from casework.cases.workflow.forms import AnswerRequestForm, AskToActForm
from casework.cases.workflow.models import ActionRequest
from casework.extensions import db
from casework.policy import Permission, can, require

_WRITE = (400, 403, 404, 409, 413, 415, 422)
_ACTION_REQUEST_ID = Param(
    "action_request_id", {"type": "string", "format": "uuid"}, where="path", required=True
)


class ApiAskToActForm(AskToActForm):
    """The web's form; the unit by id (one of the list's `units_to_ask`), the moment with its
    offset."""

    unit = IntegerField(
        AskToActForm.unit.args[0],
        description=_l("The id of a unit that handled the case before it moved up."),
        validators=AskToActForm.unit.kwargs["validators"],
    )
    due_at = Rfc3339Field(
        AskToActForm.due_at.args[0], validators=AskToActForm.due_at.kwargs["validators"]
    )


class ApiActionAnswerForm(AnswerRequestForm):
    """What the unit asked did, as an entry in the case's actions, with the moment's offset."""

    occurred_at = ApiActionForm.occurred_at


def _request_and_case(request_id: uuid.UUID) -> tuple[ActionRequest, Case]:
    asked = db.session.get(ActionRequest, request_id)
    if asked is None:
        abort(404)
    return asked, _load(asked.case_id)


@route(
    bp,
    "GET",
    "/cases/{case_id}/action-requests",
    summary="The case's requests to act, newest first, and the units the caller may ask",
    response="RequestToActList",
    params=(_CASE_ID,),
    problems=(403, 404, 410),
)
def list_action_requests(case_id: uuid.UUID) -> Response:
    case = _readable(case_id)
    units = requests.units_to_ask(case) if can(me(), Permission.ACTION_REQUEST_SEND, case) else []
    return _json(
        {
            "items": [out.action_request(r) for r in requests.of_case(case)],
            "units_to_ask": [schemas.unit(u) for u in units],
        }
    )


@route(
    bp,
    "POST",
    "/cases/{case_id}/action-requests",
    summary="Ask a unit below that handled the case to do something by a time (handling unit)",
    response="RequestToAct",
    status=201,
    form=ApiAskToActForm,
    params=(_CASE_ID,),
    problems=_WRITE,
    etag=True,
)
def ask_to_act(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    require(me(), Permission.ACTION_REQUEST_SEND, case)
    form = validated(ApiAskToActForm, read_json())
    asked = requests.ask(
        me(), case, unit_id=form.unit.data, what=form.what.data, due_at=form.due_at.data
    )
    return _json(out.action_request(asked), 201, etag=asked.version)


@route(
    bp,
    "POST",
    "/action-requests/{action_request_id}/answer",
    summary="Answer a request to act by recording what was done in the case's actions",
    response="RequestToAct",
    form=ApiActionAnswerForm,
    params=(_ACTION_REQUEST_ID,),
    problems=(*_WRITE, 412, 428),
    etag=True,
    if_match=True,
)
def answer_action_request(action_request_id: uuid.UUID) -> Response:
    asked, case = _request_and_case(action_request_id)
    if asked.status != "open" and can(me(), Permission.CASE_READ, case):
        # As the web's page tells a reader of the file: nothing left to answer.
        raise Problem("conflict", _l("This request was already answered or withdrawn."))
    require(me(), Permission.ACTION_REQUEST_ANSWER, asked)
    version = _if_match(asked)
    form = validated(ApiActionAnswerForm, read_json())
    requests.answer(
        me(),
        asked,
        expected_version=version,
        kind=form.kind.data,
        authority=form.authority.data or None,
        occurred_at=form.occurred_at.data,
        description=form.description.data,
    )
    return _json(out.action_request(asked), etag=asked.version)


@route(
    bp,
    "POST",
    "/action-requests/{action_request_id}/withdraw",
    summary="Withdraw an open request to act (handling unit); the unit asked is told",
    response="RequestToAct",
    params=(_ACTION_REQUEST_ID,),
    problems=(403, 404, 409, 412, 428),
    etag=True,
    if_match=True,
)
def withdraw_action_request(action_request_id: uuid.UUID) -> Response:
    asked, case = _request_and_case(action_request_id)
    require(me(), Permission.ACTION_REQUEST_SEND, case)
    version = _if_match(asked)
    requests.withdraw(me(), asked, expected_version=version)
    return _json(out.action_request(asked), etag=asked.version)
