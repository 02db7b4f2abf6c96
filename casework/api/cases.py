"""Case endpoints: the same policy-scoped list, intake, file and classification as the web pages,
through the same services (which check the policy and write the audit events)."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from flask import Response, abort, g, jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from casework import audit
from casework.accounts.models import User
from casework.api import bp, schemas
from casework.api.jsonforms import Rfc3339Field, read_json, validated
from casework.api.problems import Problem
from casework.api.registry import Param, route
from casework.audit import Tag
from casework.cases import listing, service, vocab
from casework.cases.forms import ClassifyForm, IntakeEditForm, IntakeForm
from casework.cases.models import Case, Person
from casework.cases.workflow import boards
from casework.extensions import db
from casework.policy import Permission, can, require
from casework.policy.scopes import supervised_case_branches, visible_case_branches


class ApiIntakeForm(IntakeForm):
    """The web's intake form; only the moment is given with its offset instead of local time."""

    received_at = Rfc3339Field(
        _l("Received at"), validators=IntakeForm.received_at.kwargs["validators"]
    )


class ApiIntakeEditForm(IntakeEditForm):
    """The web's intake correction form, with the moment given with its offset."""

    received_at = ApiIntakeForm.received_at


def me() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _json(data: Any, status: int = 200, etag: int | None = None) -> Response:
    resp = jsonify(data)
    resp.status_code = status
    if etag is not None:
        resp.headers["ETag"] = f'"{etag}"'
    return resp


def _load(case_id: uuid.UUID) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    return case


# --- The caller --------------------------------------------------------------------------------


@route(bp, "GET", "/me", summary="The token's owner and the token", response="Me")
def whoami() -> Response:
    return _json(schemas.me(me(), g.api_token))


# --- List --------------------------------------------------------------------------------------

_LIST_PARAMS = (
    Param("status", {"type": "string", "enum": list(vocab.STATUSES)}),
    Param("severity", {"type": "string", "enum": list(vocab.SEVERITIES)}),
    Param("type", {"type": "string", "enum": list(vocab.CASE_TYPES)}, "Main case type."),
    Param(
        "unit",
        {"type": "integer", "minimum": 1},
        "Only cases owned or handled by this unit or a unit below it.",
    ),
    Param("overdue", {"type": "string", "enum": ["1"]}, "Only cases with a follow-up past due."),
    Param("mine", {"type": "string", "enum": ["1"]}, "Only the cases assigned to the caller."),
    Param("order", {"type": "string", "enum": ["newest", "oldest"]}, "Newest first by default."),
    Param("after", {"type": "string"}, "The `next_cursor` of the previous page."),
)


def _encode_cursor(cursor: str | None) -> str | None:
    return base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=") if cursor else None


def _decode_cursor(token: str | None) -> str | None:
    """Opaque to clients: the web's keyset cursor (a time and a case id), base64url-encoded."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Problem("bad-request", _l("The cursor is not valid.")) from None


def _positive_int(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < len(text) < 10 and int(text) > 0


def _check_query(params: tuple[Param, ...]) -> None:
    """Refuse unknown parameters and values outside their vocabulary (the web ignores them; a
    program should hear that its filter did nothing)."""
    known = {p.name: p for p in params}
    errors: dict[str, list[str]] = {}
    for name in request.args:
        param = known.get(name)
        if param is None:
            errors[name] = [str(_l("Unknown parameter."))]
        elif "enum" in param.schema and request.args[name] not in param.schema["enum"]:
            errors[name] = [str(_l("Choose a value from the list."))]
        elif param.schema.get("type") == "integer" and not _positive_int(request.args[name]):
            errors[name] = [str(_l("Enter a whole number."))]
    if errors:
        raise Problem("invalid", errors=errors)


@route(
    bp,
    "GET",
    "/cases",
    summary="The cases the caller may read, newest first, a page at a time",
    response="CaseList",
    params=_LIST_PARAMS,
    problems=(400, 403, 422),
)
def list_cases() -> Response:
    _check_query(_LIST_PARAMS)
    require(me(), Permission.CASE_READ)
    after = _decode_cursor(request.args.get("after"))
    where = listing.filters(request.args, me())
    rows, cursor = listing.page(visible_case_branches(me()), after, where)
    audit.record(me(), Tag.CASE_LIST, None, object_type="case_file", shown=len(rows))
    return _json(
        {"items": [schemas.case_row(c) for c in rows], "next_cursor": _encode_cursor(cursor)}
    )


@route(
    bp,
    "GET",
    "/supervision",
    summary="De-identified rows of every case in a reviewer's subtree, newest first",
    response="CaseList",
    params=_LIST_PARAMS,
    problems=(400, 403, 422),
)
def supervision() -> Response:
    _check_query(_LIST_PARAMS)
    require(me(), Permission.CASE_SUPERVISE)
    after = _decode_cursor(request.args.get("after"))
    where = listing.filters(request.args, me())
    rows, cursor = listing.page(supervised_case_branches(me()), after, where)
    return _json(
        {"items": [schemas.case_row(c) for c in rows], "next_cursor": _encode_cursor(cursor)}
    )


# --- Intake ------------------------------------------------------------------------------------


@route(
    bp,
    "POST",
    "/cases",
    summary="Record a new case at the caller's unit (intake)",
    response="CaseFile",
    status=201,
    form=ApiIntakeForm,
    problems=(400, 403, 413, 415, 422),
    etag=True,
)
def create_case() -> Response:
    require(me(), Permission.CASE_CREATE, me().unit)
    form = validated(ApiIntakeForm, read_json())
    result = service.open_case(
        me(),
        received_at=form.received_at.data,
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
    case = result.case
    resp = _json(schemas.case_file(case, result.alerts), 201, etag=case.version)
    resp.headers["Location"] = url_for("api.get_case", case_id=case.id)
    return resp


# --- Read --------------------------------------------------------------------------------------

_CASE_ID = Param("case_id", {"type": "string", "format": "uuid"}, where="path", required=True)


@route(
    bp,
    "GET",
    "/cases/{case_id}",
    summary="The case file (full readers) or its de-identified summary (supervising reviewers)",
    response="CaseView",
    params=(_CASE_ID,),
    problems=(403, 404, 410),
    etag=True,
)
def get_case(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    if not can(me(), Permission.CASE_READ, case) and can(me(), Permission.CASE_SUPERVISE, case):
        victims = db.session.scalars(
            select(Person).where(Person.case_id == case.id, Person.role == "victim")
        )
        return _json(schemas.case_summary(case, list(victims)), etag=case.version)
    service.view_case(me(), case)  # refuses (403) and audits as the web's file page does
    return _json(schemas.case_file(case, service.alerts_for(case)), etag=case.version)


# --- Classification ----------------------------------------------------------------------------


def _if_match(case: Case) -> int:
    """The version named by If-Match: 428 without one, 412 when it is not the case's current one."""
    header = request.headers.get("If-Match")
    if not header:
        raise Problem("precondition-required")
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    if str(case.version) not in tags:
        raise Problem("stale")
    return case.version


def _classification_body(case: Case) -> dict[str, Any]:
    """The current classification overlaid with the members sent (a merge patch)."""
    body = read_json()
    current: dict[str, Any] = {
        "types": case.type_codes,
        "severity": case.severity,
        "risk": case.risk,
        "gbv_type": case.gbv_type,
    }
    return {**current, **body}


@route(
    bp,
    "PATCH",
    "/cases/{case_id}/classification",
    summary="Change the case's types, severity, risk or GBVIMS type",
    response="CaseFile",
    form=ClassifyForm,
    params=(_CASE_ID,),
    problems=(400, 403, 404, 409, 412, 413, 415, 422, 428),
    etag=True,
    if_match=True,
)
def classify_case(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    require(me(), Permission.CASE_EDIT, case)
    version = _if_match(case)
    form = validated(ClassifyForm, _classification_body(case))
    service.classify(
        me(),
        case,
        expected_version=version,
        types=form.types.data or [],
        severity=form.severity.data,
        risk=form.risk.data or None,
        gbv_type=form.gbv_type.data or None,
    )
    return _json(schemas.case_file(case, service.alerts_for(case)), etag=case.version)


# --- Intake corrections ------------------------------------------------------------------------


def _intake_body(case: Case) -> dict[str, Any]:
    """The current intake details overlaid with the members sent (a merge patch)."""
    body = read_json()
    current: dict[str, Any] = {
        "received_at": case.received_at.isoformat(),
        "source": case.source,
        "summary": case.summary,
        **{name: getattr(case, name) for name in _FLAGS},
    }
    return {**current, **body}


_FLAGS = ("immediate_danger", "child_involved", "injuries", "sexual_violence")


@route(
    bp,
    "PATCH",
    "/cases/{case_id}",
    summary="Correct the intake details (when, how, what happened, the safety screen)",
    response="CaseFile",
    form=ApiIntakeEditForm,
    params=(_CASE_ID,),
    problems=(400, 403, 404, 409, 412, 413, 415, 422, 428),
    etag=True,
    if_match=True,
)
def update_case(case_id: uuid.UUID) -> Response:
    case = _load(case_id)
    require(me(), Permission.CASE_EDIT, case)
    version = _if_match(case)
    form = validated(ApiIntakeEditForm, _intake_body(case))
    service.update_intake(
        me(),
        case,
        expected_version=version,
        summary=form.summary.data,
        source=form.source.data,
        received_at=form.received_at.data,
        **{name: getattr(form, name).data for name in _FLAGS},
    )
    return _json(schemas.case_file(case, service.alerts_for(case)), etag=case.version)


# --- Deadlines ---------------------------------------------------------------------------------

BOARD_ITEMS_MAX = 1000  # the most urgent; "total" counts them all (up to 1000: "more" past it)


@route(
    bp,
    "GET",
    "/deadlines",
    summary="Due and overdue deadlines: the unit's cases, or a reviewer's subtree",
    response="DeadlineBoard",
    problems=(403,),
)
def deadlines() -> Response:
    shown = boards.board(me(), BOARD_ITEMS_MAX)
    return _json(
        {
            "items": [schemas.deadline_item(case, d) for case, d in shown.items],
            "total": shown.total,
            "more": shown.more,
        }
    )
