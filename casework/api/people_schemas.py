"""What the people and consent endpoints answer (api/people.py): each serialiser beside its JSON
schema, registered in the same SCHEMAS as api/schemas.py so the OpenAPI document lists them."""

from __future__ import annotations

from typing import Any

from casework.api.schemas import (
    BOOL,
    ERASED,
    INT,
    MOMENT,
    NMOMENT,
    NSTR,
    SCHEMAS,
    STR,
    UUID,
    _obj,
    _ref,
    _when,
    identity,
)
from casework.cases.consent import ConsentSection
from casework.cases.models import Consent, LegalBasis, Person, Relationship
from casework.cases.people import PersonCard

NBOOL = {"type": ["boolean", "null"]}
NDATE = {"type": ["string", "null"], "format": "date"}

# --- People ------------------------------------------------------------------------------------

SCHEMAS["PersonDetails"] = _obj(
    {
        "id": UUID,
        "role": STR,
        "sex": STR,
        "age_band": NSTR,
        "is_child": NBOOL,
        "ethnicity": NSTR,
        "disability": NBOOL,
        "full_name": NSTR,
        "aliases": NSTR,
        "date_of_birth": NDATE,
        "phone": NSTR,
        "address": NSTR,
        "id_number": NSTR,
        "safe_contact": NSTR,
        "erased": ERASED,
        "version": INT,
    }
)
SCHEMAS["PersonLink"] = _obj(
    {
        "word": {**STR, "description": "The relationship, in the caller's language."},
        "other_id": UUID,
        "inverse": {**BOOL, "description": "True when the other person is this one's <word>."},
    }
)
SCHEMAS["PersonCard"] = _obj(
    {
        **SCHEMAS["PersonDetails"]["properties"],
        "age": NSTR,
        "links": {"type": "array", "items": _ref("PersonLink")},
    }
)
SCHEMAS["PeopleList"] = _obj({"items": {"type": "array", "items": _ref("PersonCard")}})
SCHEMAS["Relationship"] = _obj({"id": UUID, "person_id": UUID, "other_id": UUID, "kind": STR})


def person_details(p: Person) -> dict[str, Any]:
    """A person as the file's full reader sees her: identity fields decrypted."""
    return {
        "id": str(p.id),
        "role": p.role,
        "sex": p.sex,
        "age_band": p.age_band,
        "is_child": p.is_child,
        "ethnicity": p.ethnicity,
        "disability": p.disability,
        **identity(p, ("full_name", "aliases", "phone", "address", "id_number", "safe_contact")),
        "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
        "version": p.version,
    }


def person_card(card: PersonCard) -> dict[str, Any]:
    return {
        **person_details(card.person),
        "age": card.age,
        "links": [
            {"word": link.word, "other_id": str(link.other.id), "inverse": link.inverse}
            for link in card.links
        ],
    }


def relationship(link: Relationship) -> dict[str, Any]:
    return {
        "id": str(link.id),
        "person_id": str(link.person_id),
        "other_id": str(link.other_id),
        "kind": link.kind,
    }


# --- Consent and legal bases -------------------------------------------------------------------

SCHEMAS["Consent"] = _obj(
    {
        "id": UUID,
        "person_id": UUID,
        "purpose": STR,
        "given_by": STR,
        "method": STR,
        "given_at": MOMENT,
        "representative_id": {"type": ["string", "null"], "format": "uuid"},
        "substitute_reason": NSTR,
        "active": BOOL,
        "withdrawn_at": NMOMENT,
    }
)
SCHEMAS["ConsentList"] = _obj({"items": {"type": "array", "items": _ref("Consent")}})
SCHEMAS["LegalBasis"] = _obj(
    {
        "id": UUID,
        "basis": STR,
        "purpose": STR,
        "note": NSTR,
        "recorded_at": MOMENT,
        "active": BOOL,
        "ended_at": NMOMENT,
        "end_reason": NSTR,
        "version": INT,
    }
)
SCHEMAS["ConsentSection"] = _obj(
    {
        "consents": {"type": "array", "items": _ref("Consent")},
        "legal_bases": {"type": "array", "items": _ref("LegalBasis")},
    }
)


def consent(c: Consent) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "person_id": str(c.person_id),
        "purpose": c.purpose,
        "given_by": c.given_by,
        "method": c.method,
        "given_at": _when(c.given_at),
        "representative_id": str(c.representative_id) if c.representative_id else None,
        "substitute_reason": c.substitute_reason,
        "active": c.active,
        "withdrawn_at": _when(c.withdrawn_at),
    }


def legal_basis(b: LegalBasis) -> dict[str, Any]:
    return {
        "id": str(b.id),
        "basis": b.basis,
        "purpose": b.purpose,
        "note": b.note,
        "recorded_at": _when(b.recorded_at),
        "active": b.active,
        "ended_at": _when(b.ended_at),
        "end_reason": b.end_reason,
        "version": b.version,
    }


def consent_section(section: ConsentSection) -> dict[str, Any]:
    """Active consents first, then withdrawn ones, each newest first (as the web's section)."""
    return {
        "consents": [consent(c) for c in section.active + section.withdrawn],
        "legal_bases": [legal_basis(b) for b in section.bases],
    }
