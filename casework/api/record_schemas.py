"""What the assessment, action and support endpoints answer (api/timeline.py, api/support.py):
each serialiser beside its JSON schema, in the same SCHEMAS as api/schemas.py."""

from __future__ import annotations

from typing import Any

from casework.api.schemas import INT, MOMENT, NSTR, SCHEMAS, STR, UUID, _obj, _ref, _when
from casework.cases.models import Action, Assessment, FollowUp, Support
from casework.cases.support import SupportRow
from casework.cases.timeline import AssessmentHistory, TimelineEntry

NUUID = {"type": ["string", "null"], "format": "uuid"}

# --- Assessments -------------------------------------------------------------------------------

SCHEMAS["Assessment"] = _obj(
    {
        "id": UUID,
        "kind": STR,
        "number": INT,
        "risk": NSTR,
        "findings": STR,
        "safety_plan": NSTR,
        "created_at": MOMENT,
    }
)
SCHEMAS["AssessmentHistory"] = _obj(
    {
        "kind": STR,
        "current_number": {**INT, "description": "Send as If-Match to save the next version."},
        "versions": {"type": "array", "items": _ref("Assessment")},
    }
)
SCHEMAS["AssessmentList"] = _obj({"items": {"type": "array", "items": _ref("AssessmentHistory")}})


def assessment(a: Assessment) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "kind": a.kind,
        "number": a.number,
        "risk": a.risk,
        "findings": a.findings,
        "safety_plan": a.safety_plan,
        "created_at": _when(a.created_at),
    }


def assessment_history(h: AssessmentHistory) -> dict[str, Any]:
    current = h.current
    return {
        "kind": h.kind,
        "current_number": current.number if current else 0,
        "versions": [assessment(a) for a in h.versions],
    }


# --- Actions -----------------------------------------------------------------------------------

SCHEMAS["Action"] = _obj(
    {
        "id": UUID,
        "kind": STR,
        "authority": NSTR,
        "occurred_at": MOMENT,
        "description": STR,
        "supersedes_id": NUUID,
        "created_at": MOMENT,
    }
)
SCHEMAS["TimelineEntry"] = _obj(
    {
        **SCHEMAS["Action"]["properties"],
        "corrected": {
            "type": "array",
            "items": _ref("Action"),
            "description": "The versions this entry replaces, newest first.",
        },
    }
)
SCHEMAS["ActionTimeline"] = _obj({"items": {"type": "array", "items": _ref("TimelineEntry")}})


def action(a: Action) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "kind": a.kind,
        "authority": a.authority,
        "occurred_at": _when(a.occurred_at),
        "description": a.description,
        "supersedes_id": str(a.supersedes_id) if a.supersedes_id else None,
        "created_at": _when(a.created_at),
    }


def timeline_entry(e: TimelineEntry) -> dict[str, Any]:
    return {**action(e.action), "corrected": [action(a) for a in e.corrected]}


# --- Support and follow-ups --------------------------------------------------------------------

NDATE = {"type": ["string", "null"], "format": "date"}
SCHEMAS["Support"] = _obj(
    {
        "id": UUID,
        "person_id": UUID,
        "service": STR,
        "provider_unit_id": {"type": ["integer", "null"]},
        "provider_partner_id": {"type": ["integer", "null"]},
        "status": STR,
        "started_on": NDATE,
        "ended_on": NDATE,
        "outcome": NSTR,
        "version": INT,
    }
)
SCHEMAS["SupportRow"] = _obj(
    {
        **SCHEMAS["Support"]["properties"],
        "provider": {**STR, "description": "The providing unit's or partner's name."},
        "referral_id": NUUID,
    }
)
SCHEMAS["FollowUp"] = _obj(
    {
        "id": UUID,
        "due_at": MOMENT,
        "status": STR,
        "done_at": {"type": ["string", "null"], "format": "date-time"},
        "note": NSTR,
        "version": INT,
    }
)
SCHEMAS["SupportSection"] = _obj(
    {
        "services": {"type": "array", "items": _ref("SupportRow")},
        "follow_ups": {"type": "array", "items": _ref("FollowUp")},
    }
)


def support(s: Support) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "person_id": str(s.person_id),
        "service": s.service,
        "provider_unit_id": s.provider_unit_id,
        "provider_partner_id": s.provider_partner_id,
        "status": s.status,
        "started_on": s.started_on.isoformat() if s.started_on else None,
        "ended_on": s.ended_on.isoformat() if s.ended_on else None,
        "outcome": s.outcome,
        "version": s.version,
    }


def support_row(r: SupportRow) -> dict[str, Any]:
    return {
        **support(r.support),
        "provider": r.provider,
        "referral_id": str(r.referral.id) if r.referral is not None else None,
    }


def follow_up(f: FollowUp) -> dict[str, Any]:
    return {
        "id": str(f.id),
        "due_at": _when(f.due_at),
        "status": f.status,
        "done_at": _when(f.done_at),
        "note": f.note,
        "version": f.version,
    }
