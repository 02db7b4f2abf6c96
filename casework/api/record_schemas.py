"""What the assessment, action and support endpoints answer (api/timeline.py, api/support.py):
each serialiser beside its JSON schema, in the same SCHEMAS as api/schemas.py."""

from __future__ import annotations

from typing import Any

from casework.api.schemas import INT, MOMENT, NSTR, SCHEMAS, STR, UUID, _obj, _ref, _when
from casework.cases.models import Action, Assessment
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
