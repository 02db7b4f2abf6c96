"""The audit log through the API, for auditors and for reviewers within their scope: the web
viewer's filter form (audit/forms.py), its scoped, keyset-paginated queries (audit/queries.py, which
start from policy.scopes.visible_audit_events), "who has seen this", and the latest signed
checkpoint. Answers carry ids, tags and staff names, never case content. Like the web viewer,
reading the log records no event of its own beyond the API's per-request event; the CSV export stays
on the web, where the password is entered again."""

from __future__ import annotations

import re

from flask import Response, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from casework.api import bp
from casework.api import report_schemas as schemas
from casework.api.cases import _check_query, _json, me
from casework.api.problems import Problem
from casework.api.registry import Param, route
from casework.audit import checkpoints
from casework.audit.forms import OBJECT_ID_RE, OBJECT_TYPE_RE, AuditFilterForm
from casework.audit.models import OUTCOMES
from casework.audit.queries import EventFilter, page_of_events, who_has_seen
from casework.audit.tags import Tag
from casework.policy import Permission, require

_DATE = {"type": "string", "format": "date"}
_SEQ = {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
_OBJECT_TYPE = {"type": "string", "pattern": OBJECT_TYPE_RE}
_OBJECT_ID = {"type": "string", "pattern": OBJECT_ID_RE}
_FILTERS = (
    Param("date_from", _DATE, "From this local (Vietnam) day."),
    Param("date_to", _DATE, "Up to this local day, inclusive."),
    Param("actor", {"type": "string", "maxLength": 64}, "A staff username."),
    Param("unit", {"type": "string", "maxLength": 32}, "Events by staff of this unit (a code)."),
    Param("tag", {"type": "string", "enum": sorted(t.value for t in Tag)}),
    Param("object_type", _OBJECT_TYPE),
    Param("object_id", _OBJECT_ID),
    Param("outcome", {"type": "string", "enum": list(OUTCOMES)}),
)
_PAGING = (
    Param("before", _SEQ, "The `older` of the previous answer: the next older page."),
    Param("after", _SEQ, "The `newer` of the previous answer: the next newer page."),
)


def _seq(name: str) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) < 10**18:
        raise Problem("invalid", errors={name: [str(_l("Expected a whole number."))]})
    return int(value)


def _filters() -> EventFilter:
    form = AuditFilterForm(
        formdata=MultiDict({k: v for k, v in request.args.items() if k not in ("before", "after")}),
        meta={"csrf": False},
    )
    if not form.validate():
        raise Problem(
            "invalid", errors={name: [str(m) for m in msgs] for name, msgs in form.errors.items()}
        )
    return EventFilter.from_form(form)


@route(
    bp,
    "GET",
    "/audit/events",
    summary="Audit events the caller may read, newest first, a page at a time (auditors; "
    "reviewers: their subtree's staff and cases)",
    response="AuditEventPage",
    params=(*_FILTERS, *_PAGING),
    problems=(403, 422),
)
def list_audit_events() -> Response:
    require(me(), Permission.AUDIT_READ)
    _check_query((*_FILTERS, *_PAGING))
    before, after = _seq("before"), _seq("after")
    if before is not None and after is not None:
        message = str(_l("Give either before or after, not both."))
        raise Problem("invalid", errors={"after": [message]})
    page = page_of_events(me(), _filters(), before=before, after=after)
    return _json(schemas.event_page(page))


@route(
    bp,
    "GET",
    "/audit/viewers",
    summary="Who has seen one object (a case file: object_type case_file, its id): everyone "
    "with an event about it, most recent first",
    response="AuditViewerList",
    params=(
        Param("object_type", _OBJECT_TYPE, required=True),
        Param("object_id", _OBJECT_ID, required=True),
    ),
    problems=(403, 422),
)
def list_audit_viewers() -> Response:
    require(me(), Permission.AUDIT_READ)
    params = (Param("object_type", _OBJECT_TYPE), Param("object_id", _OBJECT_ID))
    _check_query(params)
    object_type = request.args.get("object_type", "")
    object_id = request.args.get("object_id", "")
    errors: dict[str, list[str]] = {}
    if not re.match(OBJECT_TYPE_RE, object_type):
        errors["object_type"] = [str(_l("Lower-case letters and underscores only."))]
    if not re.match(OBJECT_ID_RE, object_id):
        errors["object_id"] = [str(_l("Letters, digits, dots, colons and dashes only."))]
    if errors:
        raise Problem("invalid", errors=errors)
    viewers = who_has_seen(me(), object_type, object_id)
    return _json(
        {
            "object_type": object_type,
            "object_id": object_id,
            "items": [schemas.viewer(v) for v in viewers],
        }
    )


@route(
    bp,
    "GET",
    "/audit/checkpoint",
    summary="The latest signed checkpoint of the audit chain (auditors)",
    response="AuditCheckpointStatus",
    problems=(403,),
)
def audit_checkpoint() -> Response:
    require(me(), Permission.AUDIT_VERIFY)
    _check_query(())
    return _json(schemas.checkpoint(checkpoints.latest()))
