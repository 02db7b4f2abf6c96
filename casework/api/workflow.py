"""Decision 2605 workflow endpoints: quick reports, escalations and take-over, closure requests and
reopening. Each loads the record, asks the policy the same question the web button asks, validates
the body with the web's form and calls the web's service (which audits); nothing is decided here."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, abort
from sqlalchemy import select

from casework.api import bp
from casework.api import workflow_schemas as out
from casework.api.cases import _CASE_ID, _json, _load, me
from casework.api.jsonforms import read_json, validated
from casework.api.registry import Param, route
from casework.cases.models import Case
from casework.cases.workflow import service
from casework.cases.workflow.forms import (
    ClosureForm,
    DecisionForm,
    GuidanceForm,
    QuickReportForm,
    ReasonForm,
)
from casework.cases.workflow.models import ClosureRequest, Escalation, QuickReport
from casework.extensions import db
from casework.policy import Permission, require

_WRITE = (400, 403, 404, 409, 413, 415, 422)
_BUTTON = (403, 404, 409)  # a step without a body: the web's button with CSRF only


def _uuid_param(name: str) -> Param:
    return Param(name, {"type": "string", "format": "uuid"}, where="path", required=True)


def _get(model: type[Any], record_id: uuid.UUID) -> Any:
    record = db.session.get(model, record_id)
    if record is None:
        abort(404)
    return record


def _case_of(record: Any) -> Case:
    return db.session.get(Case, record.case_id)  # type: ignore[no-any-return]


def _code_of(case_id: uuid.UUID) -> str:
    return db.session.scalar(select(Case.code).where(Case.id == case_id)) or ""


# --- Quick reports -----------------------------------------------------------------------------

_REPORT_ID = _uuid_param("report_id")


@route(
    bp,
    "POST",
    "/cases/{case_id}/quick-reports",
    summary="Send the de-identified quick report to the level above (again: a corrected version)",
    response="QuickReport",
    status=201,
    form=QuickReportForm,
    params=(_CASE_ID,),
    problems=_WRITE,
)
def send_quick_report(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    require(me(), Permission.QUICK_REPORT_SEND, case)
    form = validated(QuickReportForm, read_json())
    report = service.send_quick_report(me(), case, form.situation.data)
    return _json(out.quick_report(report, case.code, out.snapshot_of(report)), 201)


@route(
    bp,
    "GET",
    "/quick-reports",
    summary="Quick reports delivered to the caller's unit, newest first (reviewers)",
    response="QuickReportList",
    problems=(403,),
)
def list_quick_reports() -> Response:
    require(me(), Permission.QUICK_REPORT_RECEIVE)
    reports = service.received_quick_reports(me())
    return _json({"items": [out.quick_report_row(r, _code_of(r.case_id)) for r in reports]})


@route(
    bp,
    "GET",
    "/quick-reports/{report_id}",
    summary="One quick report as it was sent (the read is audited)",
    response="QuickReport",
    params=(_REPORT_ID,),
    problems=(403, 404),
)
def get_quick_report(report_id: uuid.UUID) -> Response:
    report = _get(QuickReport, report_id)
    snapshot = service.view_quick_report(me(), report)
    return _json(out.quick_report(report, _code_of(report.case_id), snapshot))


@route(
    bp,
    "POST",
    "/quick-reports/{report_id}/forward",
    summary="Pass a received quick report on to the caller's parent unit",
    response="QuickReport",
    params=(_REPORT_ID,),
    problems=(*_BUTTON, 422),
)
def forward_quick_report(report_id: uuid.UUID) -> Response:
    report = _get(QuickReport, report_id)
    require(me(), Permission.QUICK_REPORT_RECEIVE, report)
    service.forward_quick_report(me(), report)
    db.session.refresh(report)
    return _json(out.quick_report(report, _code_of(report.case_id), out.snapshot_of(report)))


# --- Escalation and take-over ------------------------------------------------------------------

_ESCALATION_ID = _uuid_param("escalation_id")


@route(
    bp,
    "POST",
    "/cases/{case_id}/escalations",
    summary="Ask the parent unit to take the case over, with a reason",
    response="Escalation",
    status=201,
    form=ReasonForm,
    params=(_CASE_ID,),
    problems=_WRITE,
)
def request_escalation(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    require(me(), Permission.ESCALATION_REQUEST, case)
    form = validated(ReasonForm, read_json())
    return _json(out.escalation(service.request_escalation(me(), case, form.reason.data)), 201)


@route(
    bp,
    "POST",
    "/escalations/{escalation_id}/accept",
    summary="Accept an escalation: the caller's unit becomes the handling unit",
    response="Escalation",
    params=(_ESCALATION_ID,),
    problems=_BUTTON,
)
def accept_escalation(escalation_id: uuid.UUID) -> Response:
    escalation = _get(Escalation, escalation_id)
    require(me(), Permission.ESCALATION_ANSWER, escalation)
    service.accept_escalation(me(), escalation)
    return _json(out.escalation(escalation))


@route(
    bp,
    "POST",
    "/escalations/{escalation_id}/return",
    summary="Decline an escalation with written guidance for the lower unit",
    response="Escalation",
    form=GuidanceForm,
    params=(_ESCALATION_ID,),
    problems=_WRITE,
)
def return_escalation(escalation_id: uuid.UUID) -> Response:
    escalation = _get(Escalation, escalation_id)
    require(me(), Permission.ESCALATION_ANSWER, escalation)
    form = validated(GuidanceForm, read_json())
    service.return_escalation(me(), escalation, form.guidance.data)
    return _json(out.escalation(escalation))


@route(
    bp,
    "POST",
    "/cases/{case_id}/take-over",
    summary="A reviewer above takes the case over directly, with a reason",
    response="Escalation",
    status=201,
    form=ReasonForm,
    params=(_CASE_ID,),
    problems=_WRITE,
)
def take_over(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    require(me(), Permission.CASE_TAKE_OVER, case)
    form = validated(ReasonForm, read_json())
    return _json(out.escalation(service.take_over(me(), case, form.reason.data)), 201)


# --- Closure -----------------------------------------------------------------------------------

_REQUEST_ID = _uuid_param("request_id")


@route(
    bp,
    "POST",
    "/cases/{case_id}/closure-requests",
    summary="Ask a reviewer above to close the case, with the reason and the outcome",
    response="Closure",
    status=201,
    form=ClosureForm,
    params=(_CASE_ID,),
    problems=_WRITE,
)
def request_closure(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    require(me(), Permission.CLOSURE_REQUEST, case)
    form = validated(ClosureForm, read_json())
    request = service.request_closure(me(), case, form.reason.data, form.outcome.data)
    return _json(out.closure_request(request, case), 201)


def _decision(request_id: uuid.UUID) -> tuple[ClosureRequest, dict[str, Any]]:
    request = _get(ClosureRequest, request_id)
    require(me(), Permission.CLOSURE_DECIDE, request)
    return request, read_json()


@route(
    bp,
    "POST",
    "/closure-requests/{request_id}/approve",
    summary="Close the case (a reviewer above the handling unit, never the one who asked)",
    response="Closure",
    form=DecisionForm,
    params=(_REQUEST_ID,),
    problems=_WRITE,
)
def approve_closure(request_id: uuid.UUID) -> Response:
    request, body = _decision(request_id)
    form = validated(DecisionForm, body)
    service.approve_closure(me(), request, form.comment.data)
    return _json(out.closure_request(request, _case_of(request)))


@route(
    bp,
    "POST",
    "/closure-requests/{request_id}/refuse",
    summary="Refuse closure: the case is active again; the comment says what is still needed",
    response="Closure",
    form=DecisionForm,
    params=(_REQUEST_ID,),
    problems=_WRITE,
)
def refuse_closure(request_id: uuid.UUID) -> Response:
    request, body = _decision(request_id)
    form = validated(DecisionForm, body)
    service.refuse_closure(me(), request, form.comment.data or "")
    return _json(out.closure_request(request, _case_of(request)))


@route(
    bp,
    "POST",
    "/cases/{case_id}/reopen",
    summary="A reviewer returns a closed case to active handling, with a reason",
    response="CaseState",
    form=ReasonForm,
    params=(_CASE_ID,),
    problems=_WRITE,
)
def reopen(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    require(me(), Permission.CASE_REOPEN, case)
    form = validated(ReasonForm, read_json())
    service.reopen(me(), case, form.reason.data)
    return _json(out.case_state(case))
