"""What the report and audit endpoints answer (api/reports.py, api/audit.py): each serialiser beside
its JSON schema, in the same SCHEMAS as api/schemas.py.

A report cell is its value as the web page shows it: a count, or hidden ("below_threshold", shown
there as "< 5", or "complement", shown as "×") with no value. A hidden number never leaves the
server."""

from __future__ import annotations

import json
from typing import Any

from casework.api.schemas import (
    BOOL,
    INT,
    MOMENT,
    NMOMENT,
    NSTR,
    SCHEMAS,
    STR,
    _obj,
    _ref,
    _when,
    unit,
)
from casework.audit.models import AuditCheckpoint
from casework.audit.queries import Page, Viewer
from casework.reports.periods import Period
from casework.reports.service import Report
from casework.reports.tables import COMPLEMENT, SMALL, Group, Row, _suppress_column

# --- Reports -----------------------------------------------------------------------------------

HIDDEN = ("below_threshold", "complement")
SCHEMAS["ReportCell"] = _obj(
    {
        "value": {"type": ["integer", "null"], "minimum": 0},
        "hidden": {"type": ["string", "null"], "enum": [*HIDDEN, None]},
    }
)
SCHEMAS["ReportPair"] = _obj({"current": _ref("ReportCell"), "previous": _ref("ReportCell")})
SCHEMAS["ReportPeriod"] = _obj(
    {
        "kind": STR,
        "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date"},
        "slug": STR,
    }
)
SCHEMAS["ReportRow"] = _obj(
    {"key": STR, "label": STR, "current": _ref("ReportCell"), "previous": _ref("ReportCell")}
)
SCHEMAS["ReportGroup"] = _obj(
    {
        "key": STR,
        "label": STR,
        "rows": {"type": "array", "items": _ref("ReportRow")},
        "total": {
            "oneOf": [_ref("ReportPair"), {"type": "null"}],
            "description": "Null when the rows do not add up (a case can be in several).",
        },
    }
)
SCHEMAS["ReportTable"] = _obj(
    {
        "key": STR,
        "title": STR,
        "note": STR,
        "groups": {"type": "array", "items": _ref("ReportGroup")},
    }
)
SCHEMAS["Report"] = _obj(
    {
        "unit": _ref("Unit"),
        "period": _ref("ReportPeriod"),
        "previous_period": _ref("ReportPeriod"),
        "grouping": STR,
        "suppressed": BOOL,
        "threshold": {**INT, "description": "Counts from 1 to threshold - 1 are hidden."},
        "generated_at": MOMENT,
        "as_of": {**NMOMENT, "description": "When the figures come from the monthly summary."},
        "previous_as_of": {
            **NMOMENT,
            "description": "When only the previous period's figures come from the monthly "
            "summary (this period's are live).",
        },
        "total": _ref("ReportPair"),
        "tables": {"type": "array", "items": _ref("ReportTable")},
    }
)


def _cell(shown: int | None) -> dict[str, Any]:
    """A value as the suppression left it (tables.SMALL, tables.COMPLEMENT or the count)."""
    if shown is SMALL:
        return {"value": None, "hidden": "below_threshold"}
    if shown == COMPLEMENT:
        return {"value": None, "hidden": "complement"}
    return {"value": shown, "hidden": None}


def _total(value: int, threshold: int) -> dict[str, Any]:
    # The report's overall count hides as a group's total does (the page shows it the same way).
    _shown, hide = _suppress_column([], value, threshold, adds_up=True)
    return _cell(SMALL if hide else value)


def _period(p: Period) -> dict[str, Any]:
    return {"kind": p.kind, "start": p.start.isoformat(), "end": p.end.isoformat(), "slug": p.slug}


def _row(r: Row) -> dict[str, Any]:
    return {
        "key": str(r.key),
        "label": str(r.label),
        "current": _cell(r.shown_current),
        "previous": _cell(r.shown_previous),
    }


def _group(g: Group, adds_up: bool) -> dict[str, Any]:
    total = (
        {"current": _cell(g.shown_total_current), "previous": _cell(g.shown_total_previous)}
        if adds_up
        else None
    )
    return {
        "key": str(g.key),
        "label": str(g.label),
        "rows": [_row(r) for r in g.rows],
        "total": total,
    }


def report(r: Report) -> dict[str, Any]:
    return {
        "unit": unit(r.unit),
        "period": _period(r.period),
        "previous_period": _period(r.previous),
        "grouping": r.grouping,
        "suppressed": r.suppressed,
        "threshold": r.threshold,
        "generated_at": _when(r.generated_at),
        "as_of": _when(r.as_of),
        "previous_as_of": _when(r.previous_as_of),
        "total": {
            "current": _total(r.total_current, r.threshold),
            "previous": _total(r.total_previous, r.threshold),
        },
        "tables": [
            {
                "key": t.key,
                "title": str(t.title),
                "note": str(t.note or ""),
                "groups": [_group(g, t.adds_up) for g in t.groups],
            }
            for t in r.tables
        ],
    }


# --- Audit -------------------------------------------------------------------------------------

_STAFF = {
    "actor_id": {"type": ["integer", "null"]},
    "actor_username": NSTR,
    "actor_name": NSTR,
    "actor_role": NSTR,
    "actor_unit": {**NSTR, "description": "The unit code the actor had at the time."},
}
SCHEMAS["AuditEvent"] = _obj(
    {
        "seq": INT,
        "at": MOMENT,
        **_STAFF,
        "actor_partner": {**NSTR, "description": "The partner organisation of a partner's staff."},
        "tag": STR,
        "object_type": NSTR,
        "object_id": NSTR,
        "outcome": {"type": "string", "enum": ["ok", "refused", "error"]},
        "details": {"type": "object", "description": "Ids, codes and field names only."},
    }
)
SCHEMAS["AuditEventPage"] = _obj(
    {
        "items": {"type": "array", "items": _ref("AuditEvent")},
        "older": {
            "type": ["integer", "null"],
            "description": "Pass as `before` for the older page; null at the oldest.",
        },
        "newer": {
            "type": ["integer", "null"],
            "description": "Pass as `after` for the newer page; null at the newest.",
        },
    }
)
SCHEMAS["AuditViewer"] = _obj(
    {**_STAFF, "events": INT, "refused": INT, "first_at": MOMENT, "last_at": MOMENT}
)
SCHEMAS["AuditViewerList"] = _obj(
    {
        "object_type": STR,
        "object_id": STR,
        "items": {"type": "array", "items": _ref("AuditViewer")},
    }
)
SCHEMAS["AuditCheckpoint"] = _obj(
    {"seq": INT, "at": MOMENT, "key_id": STR, "algorithm": STR, "hash": STR}
)
SCHEMAS["AuditCheckpointStatus"] = _obj(
    {"latest": {"oneOf": [_ref("AuditCheckpoint"), {"type": "null"}]}}
)


def _details(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def event(row: Any) -> dict[str, Any]:
    """An audit row as the viewer shows it: staff and ids, never a hash, address or case content."""
    return {
        "seq": row.seq,
        "at": _when(row.at),
        "actor_id": row.actor_id,
        "actor_username": row.actor_username,
        "actor_name": row.actor_name,
        "actor_role": row.actor_role,
        "actor_unit": row.actor_unit_code,
        "actor_partner": row.actor_partner_name,
        "tag": row.tag,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "outcome": row.outcome,
        "details": _details(row.details),
    }


def event_page(page: Page) -> dict[str, Any]:
    return {"items": [event(r) for r in page.rows], "older": page.older, "newer": page.newer}


def viewer(v: Viewer) -> dict[str, Any]:
    return {
        "actor_id": v.actor_id,
        "actor_username": v.username,
        "actor_name": v.name,
        "actor_role": v.role,
        "actor_unit": v.unit_code,
        "events": int(v.events),
        "refused": int(v.refused),
        "first_at": _when(v.first_at),
        "last_at": _when(v.last_at),
    }


def checkpoint(c: AuditCheckpoint | None) -> dict[str, Any]:
    if c is None:
        return {"latest": None}
    return {
        "latest": {
            "seq": c.seq,
            "at": _when(c.at),
            "key_id": c.key_id,
            "algorithm": c.algorithm,
            "hash": bytes(c.hash).hex(),
        }
    }
