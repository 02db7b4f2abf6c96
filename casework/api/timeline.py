"""Assessments and the actions timeline through the API, over the web's services and forms
(cases/timeline.py, cases/timeline_forms.py). Reads audit as the web's file page does."""

from __future__ import annotations

import uuid

from flask import Response, abort, request
from flask_babel import lazy_gettext as _l

from casework.api import bp
from casework.api import record_schemas as schemas
from casework.api.cases import _CASE_ID, _json, _load, me
from casework.api.jsonforms import Rfc3339Field, read_json, validated
from casework.api.problems import Problem
from casework.api.registry import Param, route
from casework.cases import service, timeline
from casework.cases.models import Action, Case
from casework.cases.timeline_forms import ActionForm, NeedsAssessmentForm, SafetyAssessmentForm
from casework.extensions import db
from casework.policy import Permission, require

_ACTION_ID = Param("action_id", {"type": "string", "format": "uuid"}, where="path", required=True)
_WRITE_PROBLEMS = (400, 403, 404, 409, 413, 415, 422)


class ApiActionForm(ActionForm):
    """The web's form, with the moment given with its offset."""

    occurred_at = Rfc3339Field(_l("When"), validators=ActionForm.occurred_at.kwargs["validators"])


class ApiActionCorrectionForm(ApiActionForm):
    """The same members as a new entry: the correction replaces the entry as a whole."""


def _readable(case_id: uuid.UUID) -> Case:
    case = _load(case_id)
    service.view_case(me(), case)  # refuses (403) and audits as the web's file page does
    return case


def _editable(case_id: uuid.UUID) -> Case:
    case = _load(case_id)
    require(me(), Permission.CASE_EDIT, case)
    return case


def _based_on() -> int:
    """The assessment version the client read (If-Match; "0" before the first): 428 without it.
    A value that names no version is stale (the service answers 412)."""
    header = request.headers.get("If-Match")
    if not header:
        raise Problem("precondition-required")
    try:
        return int(header.strip().removeprefix("W/").strip('"'))
    except ValueError:
        return -1


# --- Assessments -------------------------------------------------------------------------------


@route(
    bp,
    "GET",
    "/cases/{case_id}/assessments",
    summary="Each kind of assessment with its versions, newest first",
    response="AssessmentList",
    params=(_CASE_ID,),
    problems=(403, 404, 410),
)
def list_assessments(case_id: uuid.UUID) -> Response:
    case = _readable(case_id)
    return _json({"items": [schemas.assessment_history(h) for h in timeline.assessments_of(case)]})


def _add_assessment(case_id: uuid.UUID, kind: str) -> Response:
    case = _editable(case_id)
    based_on = _based_on()
    form_class = SafetyAssessmentForm if kind == "safety" else NeedsAssessmentForm
    form = validated(form_class, read_json())
    row = timeline.add_assessment(
        me(),
        case,
        kind=kind,
        risk=form.risk.data if kind == "safety" else None,  # type: ignore[attr-defined]
        findings=form.findings.data,
        safety_plan=form.safety_plan.data or None,
        based_on=based_on,
    )
    return _json(schemas.assessment(row), 201, etag=row.number)


_ASSESSMENT_OPTIONS = {
    "response": "Assessment",
    "status": 201,
    "params": (_CASE_ID,),
    "problems": (*_WRITE_PROBLEMS, 412, 428),
    "etag": True,
    "if_match": True,
}


@route(
    bp,
    "POST",
    "/cases/{case_id}/assessments/safety",
    summary="Save the next version of the safety assessment (If-Match: the current number, 0 first)",
    form=SafetyAssessmentForm,
    **_ASSESSMENT_OPTIONS,  # type: ignore[arg-type]
)
def add_safety_assessment(case_id: uuid.UUID) -> Response:
    return _add_assessment(case_id, "safety")


@route(
    bp,
    "POST",
    "/cases/{case_id}/assessments/needs",
    summary="Save the next version of the needs assessment (If-Match: the current number, 0 first)",
    form=NeedsAssessmentForm,
    **_ASSESSMENT_OPTIONS,  # type: ignore[arg-type]
)
def add_needs_assessment(case_id: uuid.UUID) -> Response:
    return _add_assessment(case_id, "needs")


# --- Actions -----------------------------------------------------------------------------------


@route(
    bp,
    "GET",
    "/cases/{case_id}/actions",
    summary="The actions timeline, newest first, each entry with the versions it corrected",
    response="ActionTimeline",
    params=(_CASE_ID,),
    problems=(403, 404, 410),
)
def list_actions(case_id: uuid.UUID) -> Response:
    case = _readable(case_id)
    return _json({"items": [schemas.timeline_entry(e) for e in timeline.timeline_of(case)]})


@route(
    bp,
    "POST",
    "/cases/{case_id}/actions",
    summary="Add an entry to the actions timeline",
    response="Action",
    status=201,
    form=ApiActionForm,
    params=(_CASE_ID,),
    problems=_WRITE_PROBLEMS,
)
def add_action(case_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    form = validated(ApiActionForm, read_json())
    row = timeline.add_action(
        me(),
        case,
        kind=form.kind.data,
        authority=form.authority.data or None,
        occurred_at=form.occurred_at.data,
        description=form.description.data,
    )
    return _json(schemas.action(row), 201)


@route(
    bp,
    "POST",
    "/cases/{case_id}/actions/{action_id}/corrections",
    summary="Correct an entry: a new entry supersedes it (409 when it was corrected already)",
    response="Action",
    status=201,
    form=ApiActionCorrectionForm,
    params=(_CASE_ID, _ACTION_ID),
    problems=_WRITE_PROBLEMS,
)
def correct_action(case_id: uuid.UUID, action_id: uuid.UUID) -> Response:
    case = _editable(case_id)
    original = db.session.get(Action, action_id)
    if original is None or original.case_id != case.id:
        abort(404)
    form = validated(ApiActionCorrectionForm, read_json())
    row = timeline.correct_action(
        me(),
        original,
        kind=form.kind.data,
        authority=form.authority.data or None,
        occurred_at=form.occurred_at.data,
        description=form.description.data,
    )
    return _json(schemas.action(row), 201)
