"""What the API answers: each serialiser beside the JSON schema of what it returns (SCHEMAS feeds
the OpenAPI document, and the tests check answers against it)."""

from __future__ import annotations

from typing import Any

from casework.accounts.models import User
from casework.api.models import ApiToken
from casework.cases import vocab
from casework.cases.models import Case, Person
from casework.cases.service import Alert
from casework.cases.workflow.timers import Deadline


class DuplicateComponent(ValueError):
    """Two different schemas were given the same component name: one would silently replace the
    other in the OpenAPI document, and clients would be told a shape the API does not answer."""


class Components(dict[str, dict[str, Any]]):
    """Component schemas by name; giving a name a second, different schema raises (the same schema
    again is harmless, as when a module is imported twice)."""

    def __setitem__(self, name: str, schema: dict[str, Any]) -> None:
        if name in self and self[name] != schema:
            raise DuplicateComponent(f"two different schemas are named {name!r}")
        super().__setitem__(name, schema)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for name, schema in dict(*args, **kwargs).items():
            self[name] = schema


SCHEMAS: Components = Components()


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
ERASED = {
    "type": "boolean",
    "description": "The person's identity was erased at her request: her identity fields are null.",
}
MOMENT = {"type": "string", "format": "date-time"}
NMOMENT = {"type": ["string", "null"], "format": "date-time"}
BOOL = {"type": "boolean"}
INT = {"type": "integer"}
UUID = {"type": "string", "format": "uuid"}


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


# --- Problems (RFC 9457) ----------------------------------------------------------------------

SCHEMAS["Problem"] = _obj(
    {
        "type": {"type": "string", "format": "uri"},
        "title": STR,
        "status": INT,
        "detail": STR,
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": STR},
            "description": "Messages by field name, for invalid input.",
        },
    },
    optional=("errors",),
)

# --- The caller --------------------------------------------------------------------------------

SCHEMAS["Unit"] = _obj({"id": INT, "code": STR, "name": STR})
SCHEMAS["Me"] = _obj(
    {
        "id": INT,
        "username": STR,
        "display_name": STR,
        "role": {"type": "string", "enum": ["officer", "reviewer", "partner", "auditor", "admin"]},
        "unit": {"oneOf": [_ref("Unit"), {"type": "null"}]},
        "partner_id": {"type": ["integer", "null"]},
        "token": _obj({"id": INT, "name": STR, "scope": STR, "expires_at": MOMENT}),
    }
)


def unit(u: Any) -> dict[str, Any] | None:
    return None if u is None else {"id": u.id, "code": u.code, "name": u.name}


def me(user: User, token: ApiToken) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "unit": unit(user.unit),
        "partner_id": user.partner_id,
        "token": {
            "id": token.id,
            "name": token.name,
            "scope": token.scope,
            "expires_at": _when(token.expires_at),
        },
    }


# --- Cases -------------------------------------------------------------------------------------

_ROW = {
    "id": UUID,
    "code": STR,
    "status": {"type": "string", "enum": list(vocab.STATUSES)},
    "received_at": MOMENT,
    "types": {"type": "array", "items": STR},
    "severity": NSTR,
    "risk": NSTR,
    "owning_unit": STR,
    "handling_unit": STR,
    "version": INT,
}
SCHEMAS["CaseRow"] = _obj(_ROW)
SCHEMAS["CaseList"] = _obj(
    {
        "items": {"type": "array", "items": _ref("CaseRow")},
        "next_cursor": {
            **NSTR,
            "description": "Pass as `after` for the next page; null at the end.",
        },
    }
)


def case_row(case: Case) -> dict[str, Any]:
    """No personal data: codes, units and classification only."""
    return {
        "id": str(case.id),
        "code": case.code,
        "status": case.status,
        "received_at": _when(case.received_at),
        "types": case.type_codes,
        "severity": case.severity,
        "risk": case.risk,
        "owning_unit": case.owning_unit.code,
        "handling_unit": case.handling_unit.code,
        "version": case.version,
    }


SCHEMAS["VictimStatistics"] = _obj({"sex": STR, "age_band": NSTR})
SCHEMAS["CaseSummary"] = _obj(
    {
        "view": {"const": "summary"},
        **_ROW,
        "victims": {"type": "array", "items": _ref("VictimStatistics")},
    }
)


def case_summary(case: Case, victims: list[Person]) -> dict[str, Any]:
    """The de-identified summary a supervising reviewer sees (as the web's summary page)."""
    return {
        "view": "summary",
        **case_row(case),
        "victims": [{"sex": v.sex, "age_band": v.age_band} for v in victims],
    }


SCHEMAS["Person"] = _obj(
    {
        "id": UUID,
        "role": STR,
        "sex": STR,
        "age_band": NSTR,
        "full_name": NSTR,
        "phone": NSTR,
        "safe_contact": NSTR,
        "erased": ERASED,
    }
)
SCHEMAS["Alert"] = _obj({"code": STR, "message": STR, "due": NMOMENT})
SCHEMAS["CaseFile"] = _obj(
    {
        "view": {"const": "full"},
        **_ROW,
        "source": STR,
        "summary": NSTR,
        "immediate_danger": BOOL,
        "child_involved": BOOL,
        "injuries": BOOL,
        "sexual_violence": BOOL,
        "gbv_type": NSTR,
        "reporter_name": NSTR,
        "reporter_contact": NSTR,
        "reporter_relation": NSTR,
        "people": {"type": "array", "items": _ref("Person")},
        "alerts": {"type": "array", "items": _ref("Alert")},
    }
)
SCHEMAS["CaseView"] = {
    "oneOf": [_ref("CaseFile"), _ref("CaseSummary")],
    # Without a mapping the discriminator's values would have to be the schemas' names.
    "discriminator": {
        "propertyName": "view",
        "mapping": {
            "full": "#/components/schemas/CaseFile",
            "summary": "#/components/schemas/CaseSummary",
        },
    },
}


def person(p: Person) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "role": p.role,
        "sex": p.sex,
        "age_band": p.age_band,
        **identity(p, ("full_name", "phone", "safe_contact")),
    }


def identity(p: Person, names: tuple[str, ...]) -> dict[str, Any]:
    """A person's identity fields, and whether she was erased (then every one of them is null)."""
    erased = p.erased
    return {**{n: None if erased else getattr(p, n) for n in names}, "erased": erased}


def alert(a: Alert) -> dict[str, Any]:
    return {"code": a.code, "message": str(a.message), "due": _when(a.due)}


def case_file(case: Case, alerts: list[Alert]) -> dict[str, Any]:
    """The file as a full reader sees it: identity fields decrypted."""
    return {
        "view": "full",
        **case_row(case),
        "source": case.source,
        "summary": case.summary,
        "immediate_danger": case.immediate_danger,
        "child_involved": case.child_involved,
        "injuries": case.injuries,
        "sexual_violence": case.sexual_violence,
        "gbv_type": case.gbv_type,
        "reporter_name": case.reporter_name,
        "reporter_contact": case.reporter_contact,
        "reporter_relation": case.reporter_relation,
        "people": [person(p) for p in case.people],
        "alerts": [alert(a) for a in alerts],
    }


# --- Deadlines ---------------------------------------------------------------------------------

SCHEMAS["DeadlineItem"] = _obj(
    {
        "case_id": UUID,
        "case_code": STR,
        "kind": STR,
        "label": STR,
        "subject": STR,
        "due_at": MOMENT,
        "overdue": BOOL,
    }
)
SCHEMAS["DeadlineBoard"] = _obj(
    {
        "items": {"type": "array", "items": _ref("DeadlineItem")},
        "total": {"type": "integer", "minimum": 0},
        "more": {"type": "boolean"},
    }
)


def deadline_item(case: Case, d: Deadline) -> dict[str, Any]:
    return {
        "case_id": str(case.id),
        "case_code": case.code,
        "kind": d.kind,
        "label": str(d.label),
        "subject": d.subject,
        "due_at": _when(d.due_at),
        "overdue": d.overdue(),
    }
