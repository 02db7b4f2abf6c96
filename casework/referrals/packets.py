"""The referral packet (DESIGN.md §5): the minimum a partner needs, chosen per partner kind, frozen.

A packet holds codes and a few short texts, never the case's narratives: a first name or alias, an
age band, the services and needs, a safe way to contact her, and whatever else the officer ticked.
The current address and the reporter go to a shelter only, for a pick-up, when explicitly chosen.
Values are stored as codes (age band, sex, risk, case types) so a packet reads in either language.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.cases.models import Case, Person
from casework.cases.people import CHILD_UNDER, age_on, local_date
from casework.db import utcnow
from casework.errors import Invalid
from casework.extensions import db

# The consent purpose (casework.cases.vocab.CONSENT_PURPOSES) that covers each kind of partner.
KIND_PURPOSE = {
    "shelter": "refer_shelter",
    "legal_aid": "refer_legal_aid",
    "health": "refer_health",
    "social": "refer_social",
    "police": "refer_police",
}

FIELD_LABELS = {
    "first_name": _l("First name"),
    "alias": _l("Alias"),
    "age_band": _l("Age band"),
    "sex": _l("Sex"),
    "safe_contact": _l("Safe way to contact her"),
    "phone": _l("Phone number"),
    "children": _l("Children in her care (age bands)"),
    "case_types": _l("Kind of case"),
    "risk": _l("Risk level"),
    "disability": _l("Disability"),
    "address": _l("Current address (for a pick-up only)"),
    "reporter": _l("Reporter (for a pick-up only)"),
}

MINIMUM = ("first_name", "age_band", "safe_contact")
DEFAULTS: dict[str, tuple[str, ...]] = {
    "shelter": (*MINIMUM, "sex", "children", "risk"),
    "legal_aid": (*MINIMUM, "sex", "case_types"),
    "health": (*MINIMUM, "sex"),
    "social": (*MINIMUM, "sex", "children", "case_types"),
    "police": (*MINIMUM, "sex", "case_types", "risk"),
}
# Secret by law (DV law art. 9, 34): a shelter gets them only to pick her up, chosen explicitly.
PICKUP_ONLY = ("address", "reporter")
ORDINARY = tuple(f for f in FIELD_LABELS if f not in PICKUP_ONLY)


def allowed_fields(kind: str) -> tuple[str, ...]:
    return (*ORDINARY, *PICKUP_ONLY) if kind == "shelter" else ORDINARY


def default_fields(kind: str) -> tuple[str, ...]:
    return DEFAULTS.get(kind, MINIMUM)


def _refuse(field: str, message: Any) -> Invalid:
    return Invalid(message, **{field: message})


def check_fields(kind: str, fields: list[str], pickup_confirmed: bool) -> list[str]:
    """The fields to share, in a stable order: allowed for the kind, a name or alias among them,
    and the address or reporter only with the pick-up confirmed."""
    chosen = list(dict.fromkeys(fields))
    allowed = allowed_fields(kind)
    if any(f not in allowed for f in chosen):
        if any(f in PICKUP_ONLY for f in chosen):
            raise _refuse(
                "packet_fields",
                _l("The address and the reporter are shared only with a shelter, for a pick-up."),
            )
        raise _refuse("packet_fields", _l("Choose the fields to share from the list."))
    if any(f in PICKUP_ONLY for f in chosen) and not pickup_confirmed:
        raise _refuse(
            "pickup_confirmed",
            _l(
                "The address and the reporter are secret: confirm that the shelter needs them "
                "to pick her up."
            ),
        )
    if not any(f in ("first_name", "alias") for f in chosen):
        raise _refuse(
            "packet_fields", _l("Share her first name or an alias, so the partner can greet her.")
        )
    return [f for f in allowed if f in chosen]  # a stable order


# --- Legal aid eligibility (Legal Aid Law 2017, as amended 2024) --------------------------------

ELIGIBILITY_LEVELS = {
    "always": _l("Eligible for free legal aid"),
    "if_hardship": _l("Eligible for free legal aid if she is in financial difficulty"),
    "not_listed": _l("Not in a group the Legal Aid Law names: the centre decides"),
    "unknown": _l("Age not known: record her date of birth to see the eligibility hint"),
}
ELIGIBILITY_REASONS = {
    "child_under_16": _l("a child under 16"),
    "trafficking": _l("a victim of human trafficking"),
    "domestic_violence": _l("a victim of domestic violence"),
    "aged_16_to_18": _l("aged 16 to 18"),
}
_BAND_UNDER_16 = ("0-5", "6-11", "12-15")


@dataclass(frozen=True)
class Eligibility:
    level: str
    reasons: tuple[str, ...]


def person_age(person: Person) -> int | None:
    if person.date_of_birth is None:
        return None
    return age_on(person.date_of_birth, local_date(utcnow()))


def legal_aid_eligibility(case: Case, person: Person) -> Eligibility:
    """Children under 16 and trafficking victims always; DV victims and those aged 16–18 when in
    financial difficulty (a hint: the legal-aid centre decides)."""
    age = person_age(person)
    under_16: bool | None
    minor: bool | None
    if age is not None:
        under_16, minor = age < CHILD_UNDER, CHILD_UNDER <= age < 18
    elif person.age_band is not None:
        under_16, minor = person.age_band in _BAND_UNDER_16, person.age_band == "16-17"
    else:
        under_16 = minor = None
    mains = {code.partition(".")[0] for code in case.type_codes}
    always = []
    if under_16:
        always.append("child_under_16")
    if "trafficking" in mains:
        always.append("trafficking")
    if always:
        return Eligibility("always", tuple(always))
    hardship = []
    if "domestic_violence" in mains:
        hardship.append("domestic_violence")
    if minor:
        hardship.append("aged_16_to_18")
    if hardship:
        return Eligibility("if_hardship", tuple(hardship))
    if under_16 is None:
        return Eligibility("unknown", ())
    return Eligibility("not_listed", ())


# --- Building a packet ------------------------------------------------------------------------


def _first_name(full_name: str | None) -> str | None:
    """The given name: the last word of a Vietnamese name (family name first)."""
    words = (full_name or "").split()
    return words[-1] if words else None


def _age_band(person: Person) -> str | None:
    from casework.cases import vocab

    age = person_age(person)
    return vocab.age_band(age) if age is not None else person.age_band


def _children(case: Case) -> list[str]:
    kids = db.session.scalars(
        select(Person).where(Person.case_id == case.id, Person.role == "child")
    )
    return [_age_band(k) or "" for k in kids]


def _value(name: str, case: Case, person: Person) -> Any:
    if name == "first_name":
        return _first_name(person.full_name)
    if name == "alias":
        return person.aliases
    if name == "age_band":
        return _age_band(person)
    if name == "sex":
        return person.sex
    if name == "safe_contact":
        return person.safe_contact
    if name == "phone":
        return person.phone
    if name == "children":
        return _children(case)
    if name == "case_types":
        return list(case.type_codes)
    if name == "risk":
        return case.risk
    if name == "disability":
        return person.disability
    if name == "address":
        return person.address
    if name == "reporter":
        parts = [p for p in (case.reporter_name, case.reporter_contact) if p]
        return " · ".join(parts) or None
    raise ValueError(f"unknown packet field {name!r}")


def build(
    case: Case,
    person: Person,
    kind: str,
    *,
    fields: list[str],
    services: list[str],
    needs: str | None,
) -> str:
    """The packet as canonical JSON: the chosen fields' values now, services, needs, and for a
    legal-aid centre the eligibility hint. Frozen: never recomputed from the case."""
    packet: dict[str, Any] = {
        "v": 1,
        "kind": kind,
        "services": services,
        "needs": needs,
        "fields": {name: _value(name, case, person) for name in fields},
    }
    if kind == "legal_aid":
        hint = legal_aid_eligibility(case, person)
        packet["eligibility"] = {"level": hint.level, "reasons": list(hint.reasons)}
    return json.dumps(packet, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def read(content: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(content)
    return data
