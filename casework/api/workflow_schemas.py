"""What the workflow endpoints answer (quick reports, escalations, closure requests, requests to
act): each serialiser beside its JSON schema, registered in schemas.SCHEMAS for the OpenAPI
document. Quick reports are de-identified snapshots by design; only a request to act carries case
content (what to do), and it is answered only to those who read the full file."""

from __future__ import annotations

import json
from typing import Any

from casework.api.schemas import BOOL, INT, MOMENT, NMOMENT, NSTR, SCHEMAS, STR, UUID, _obj, _ref
from casework.cases.models import Case
from casework.cases.workflow.models import (
    ACTION_REQUEST_STATUSES,
    ActionRequest,
    ClosureRequest,
    Escalation,
    QuickReport,
)

NUUID = {"type": ["string", "null"], "format": "uuid"}


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _id(value: Any) -> str | None:
    return str(value) if value is not None else None


# --- Quick reports -----------------------------------------------------------------------------

_QR_ROW = {
    "id": UUID,
    "case_id": UUID,
    "case_code": STR,
    "number": INT,
    "supersedes_id": NUUID,
    "from_unit": STR,
    "sent_at": MOMENT,
}
SCHEMAS["QuickReportRow"] = _obj(_QR_ROW)
SCHEMAS["QuickReportList"] = _obj({"items": {"type": "array", "items": _ref("QuickReportRow")}})
SCHEMAS["QuickReport"] = _obj(
    {
        **_QR_ROW,
        "situation": STR,
        "snapshot": {"type": "object", "description": "The de-identified case as it was sent."},
        "delivered_to": {"type": "array", "items": STR},
    }
)


def quick_report_row(report: QuickReport, case_code: str) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "case_id": str(report.case_id),
        "case_code": case_code,
        "number": report.number,
        "supersedes_id": _id(report.supersedes_id),
        "from_unit": report.from_unit.code,
        "sent_at": _when(report.sent_at),
    }


def quick_report(report: QuickReport, case_code: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        **quick_report_row(report, case_code),
        "situation": report.situation,
        "snapshot": snapshot,
        "delivered_to": [d.unit.code for d in report.deliveries],
    }


def snapshot_of(report: QuickReport) -> dict[str, Any]:
    return json.loads(report.snapshot)  # type: ignore[no-any-return]


# --- Escalations -------------------------------------------------------------------------------

SCHEMAS["Escalation"] = _obj(
    {
        "id": UUID,
        "case_id": UUID,
        "kind": {"type": "string", "enum": ["request", "take_over"]},
        "status": {"type": "string", "enum": ["pending", "accepted", "returned", "withdrawn"]},
        "from_unit": STR,
        "to_unit": STR,
        "reason": NSTR,
        "guidance": NSTR,
        "requested_at": MOMENT,
        "answered_at": NMOMENT,
        "version": INT,
    }
)


def escalation(e: Escalation) -> dict[str, Any]:
    return {
        "id": str(e.id),
        "case_id": str(e.case_id),
        "kind": e.kind,
        "status": e.status,
        "from_unit": e.from_unit.code,
        "to_unit": e.to_unit.code,
        "reason": e.reason,
        "guidance": e.guidance,
        "requested_at": _when(e.requested_at),
        "answered_at": _when(e.answered_at),
        "version": e.version,
    }


# --- Closure -----------------------------------------------------------------------------------

SCHEMAS["Closure"] = _obj(
    {
        "id": UUID,
        "case_id": UUID,
        "reason": STR,
        "outcome": NSTR,
        "status": {"type": "string", "enum": ["pending", "approved", "refused"]},
        "comment": NSTR,
        "requested_at": MOMENT,
        "decided_at": NMOMENT,
        "case_status": STR,
        "version": INT,
    }
)


def closure_request(r: ClosureRequest, case: Case) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "case_id": str(r.case_id),
        "reason": r.reason,
        "outcome": r.outcome,
        "status": r.status,
        "comment": r.comment,
        "requested_at": _when(r.requested_at),
        "decided_at": _when(r.decided_at),
        "case_status": case.status,
        "version": r.version,
    }


SCHEMAS["CaseState"] = _obj(
    {"id": UUID, "code": STR, "status": STR, "handling_unit": STR, "version": INT, "closed": BOOL}
)


def case_state(case: Case) -> dict[str, Any]:
    """Where a case stands after a step, without its file (the step's actor may see only the
    summary, as a reviewer above does)."""
    return {
        "id": str(case.id),
        "code": case.code,
        "status": case.status,
        "handling_unit": case.handling_unit.code,
        "version": case.version,
        "closed": case.status == "closed",
    }


# --- Requests to act ---------------------------------------------------------------------------

SCHEMAS["RequestToAct"] = _obj(
    {
        "id": UUID,
        "case_id": UUID,
        "from_unit": STR,
        "to_unit": STR,
        "what": STR,
        "due_at": MOMENT,
        "status": {"type": "string", "enum": list(ACTION_REQUEST_STATUSES)},
        "asked_at": MOMENT,
        "answered_at": NMOMENT,
        "action_id": {**NUUID, "description": "The entry in the case's actions that answers it."},
        "version": INT,
    }
)
SCHEMAS["RequestToActList"] = _obj(
    {
        "items": {"type": "array", "items": _ref("RequestToAct")},
        "units_to_ask": {
            "type": "array",
            "items": _ref("Unit"),
            "description": "Units the caller may ask to act (`unit` of a new request): empty "
            "unless the caller's unit handles the case.",
        },
    }
)


def action_request(r: ActionRequest) -> dict[str, Any]:
    """A request to act as the file shows it (what to do is case content: full readers only)."""
    return {
        "id": str(r.id),
        "case_id": str(r.case_id),
        "from_unit": r.from_unit.code,
        "to_unit": r.to_unit.code,
        "what": r.what,
        "due_at": _when(r.due_at),
        "status": r.status,
        "asked_at": _when(r.asked_at),
        "answered_at": _when(r.answered_at),
        "action_id": _id(r.action_id),
        "version": r.version,
    }
