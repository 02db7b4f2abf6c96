"""What the referral endpoints answer, each serialiser beside its JSON schema (registered in
schemas.SCHEMAS for the OpenAPI document).

The two sides see different things. The referring unit sees its case's referrals. A partner sees
what the portal shows her: the referral's reference (never the case's id or code) and the packet
frozen when it was sent, nothing else of the case."""

from __future__ import annotations

from typing import Any

from casework.api.schemas import INT, MOMENT, NMOMENT, NSTR, SCHEMAS, STR, UUID, _obj, _ref
from casework.cases.models import Support
from casework.referrals.models import Referral, ReferralNote, ShelterStay
from casework.referrals.portal import PacketView, Portal, PortalRow

STATUS = {
    "type": "string",
    "enum": ["sent", "accepted", "declined", "in_service", "completed", "withdrawn"],
}
STRS = {"type": "array", "items": STR}
NDATE = {"type": ["string", "null"], "format": "date"}


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


# --- The referring side ------------------------------------------------------------------------

SCHEMAS["CaseReferral"] = _obj(
    {
        "id": UUID,
        "case_id": UUID,
        "person_id": UUID,
        "partner_id": INT,
        "partner": STR,
        "partner_kind": STR,
        "services": STRS,
        "basis": STR,
        "status": STATUS,
        "sent_at": MOMENT,
        "answer_due_at": MOMENT,
        "answered_at": NMOMENT,
        "completed_at": NMOMENT,
        "withdrawn_at": NMOMENT,
        "version": INT,
    }
)
SCHEMAS["CaseReferralList"] = _obj({"items": {"type": "array", "items": _ref("CaseReferral")}})


def case_referral(r: Referral) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "case_id": str(r.case_id),
        "person_id": str(r.person_id),
        "partner_id": r.partner_id,
        "partner": r.partner.name,
        "partner_kind": r.partner.kind,
        "services": r.service_codes,
        "basis": r.basis,
        "status": r.status,
        "sent_at": _when(r.sent_at),
        "answer_due_at": _when(r.answer_due_at),
        "answered_at": _when(r.answered_at),
        "completed_at": _when(r.completed_at),
        "withdrawn_at": _when(r.withdrawn_at),
        "version": r.version,
    }


# --- The partner's side ------------------------------------------------------------------------

_PARTNER_ROW = {
    "id": UUID,
    "reference": STR,
    "services": STRS,
    "status": STATUS,
    "sent_at": MOMENT,
    "answer_due_at": MOMENT,
    "version": INT,
}
SCHEMAS["PartnerReferralRow"] = _obj({**_PARTNER_ROW, "name": NSTR, "overdue": {"type": "boolean"}})
SCHEMAS["PartnerQueue"] = _obj(
    {
        stage: {"type": "array", "items": _ref("PartnerReferralRow")}
        for stage in ("new", "accepted", "in_service", "done")
    }
)
SCHEMAS["ReferralNote"] = _obj({"id": UUID, "body": STR, "created_at": MOMENT})
SCHEMAS["ShelterStay"] = _obj(
    {"id": UUID, "checked_in_at": MOMENT, "checked_out_at": NMOMENT, "version": INT}
)
SCHEMAS["ReferralService"] = _obj(
    {
        "id": UUID,
        "service": STR,
        "status": STR,
        "started_on": NDATE,
        "ended_on": NDATE,
        "reason": NSTR,
        "version": INT,
    }
)
SCHEMAS["PartnerReferral"] = _obj(
    {
        **_PARTNER_ROW,
        "packet": {"type": "object", "description": "What was shared with the partner, as sent."},
        "packet_number": INT,
        "decline_reason": NSTR,
        "outcome": NSTR,
        "notes": {"type": "array", "items": _ref("ReferralNote")},
        "stays": {"type": "array", "items": _ref("ShelterStay")},
        "services_recorded": {"type": "array", "items": _ref("ReferralService")},
    }
)


def _partner_row(r: Referral) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "reference": r.reference,
        "services": r.service_codes,
        "status": r.status,
        "sent_at": _when(r.sent_at),
        "answer_due_at": _when(r.answer_due_at),
        "version": r.version,
    }


def _queue_row(row: PortalRow) -> dict[str, Any]:
    return {**_partner_row(row.referral), "name": row.first_name, "overdue": row.overdue}


def finished_row(r: Referral) -> dict[str, Any]:
    return {**_partner_row(r), "name": None, "overdue": False}


def partner_queue(p: Portal) -> dict[str, Any]:
    done = [finished_row(r) for r in p.done]
    return {
        "new": [_queue_row(r) for r in p.new],
        "accepted": [_queue_row(r) for r in p.accepted],
        "in_service": [_queue_row(r) for r in p.in_service],
        "done": done,
    }


def note(n: ReferralNote) -> dict[str, Any]:
    return {"id": str(n.id), "body": n.body, "created_at": _when(n.created_at)}


def stay(s: ShelterStay) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "checked_in_at": _when(s.checked_in_at),
        "checked_out_at": _when(s.checked_out_at),
        "version": s.version,
    }


def service(s: Support) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "service": s.service,
        "status": s.status,
        "started_on": _when(s.started_on),
        "ended_on": _when(s.ended_on),
        "reason": s.outcome if s.status == "stopped" else None,
        "version": s.version,
    }


def partner_referral(view: PacketView) -> dict[str, Any]:
    r = view.referral
    return {
        **_partner_row(r),
        "packet": view.data,
        "packet_number": view.packet.number,
        "decline_reason": r.decline_reason,
        "outcome": r.outcome,
        "notes": [note(n) for n in view.notes],
        "stays": [stay(s) for s in view.stays],
        "services_recorded": [service(row.support) for row in view.services],
    }
