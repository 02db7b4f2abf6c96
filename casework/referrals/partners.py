"""Partner organisations (DESIGN.md §2): an admin creates and edits them for the units she
administers. Their staff accounts are made on the admin user pages. No case content here."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework import audit
from casework.accounts.models import Unit, User
from casework.audit import Tag
from casework.cases import vocab
from casework.cases.service import check_version
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import Permission, require
from casework.referrals.models import KIND_VALUES, Partner

NAME_MAX = 200
CONTACTS_MAX = 1000
MOST = 100_000  # places or days: anything larger is a typing mistake


def _refuse(field: str, message: object) -> Invalid:
    return Invalid(message, **{field: message})  # type: ignore[arg-type]


def unit_codes(text: str) -> list[str]:
    return list(dict.fromkeys(c for c in re.split(r"[\s,;]+", text or "") if c))


def _details(
    actor: User,
    *,
    name: str,
    kind: str,
    unit_codes: list[str],
    contacts: str | None,
    capacity: int | None,
    max_stay_days: int | None,
    services: list[str],
) -> dict[str, object]:
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_MAX:
        raise _refuse("name", _l("Enter a name of at most 200 characters."))
    if kind not in KIND_VALUES:
        raise _refuse("kind", _l("Choose a kind from the list."))
    if not unit_codes:
        raise _refuse("units", _l("Enter the code of at least one unit it serves."))
    units = list(db.session.scalars(select(Unit).where(Unit.code.in_(unit_codes))))
    found = {u.code for u in units}
    if missing := [c for c in unit_codes if c not in found]:
        raise _refuse("units", _l("No unit has the code %(code)s.", code=missing[0]))
    for unit in units:
        require(actor, Permission.PARTNER_MANAGE, unit)
        if unit.is_retired:
            raise _refuse("units", _l("Unit %(code)s is retired.", code=unit.code))
    text = (contacts or "").strip() or None
    if text is not None and len(text) > CONTACTS_MAX:
        raise _refuse("contacts", _l("At most %(n)d characters.", n=CONTACTS_MAX))
    if kind != "shelter":
        capacity = max_stay_days = None  # only a shelter has places and a maximum stay
    if capacity is not None and not 0 <= capacity <= MOST:
        raise _refuse("capacity", _l("Enter a number of places, 0 or more."))
    if max_stay_days is not None and not 0 < max_stay_days <= MOST:
        raise _refuse("max_stay_days", _l("Enter a number of days, 1 or more."))
    offered = set(services or [])
    if not offered or not offered <= set(vocab.SERVICES):
        raise _refuse("services", _l("Choose at least one service it offers, from the list."))
    return {
        "name": name,
        "kind": kind,
        "units": sorted(units, key=lambda u: u.code),
        "contacts": text,
        "capacity": capacity,
        "max_stay_days": max_stay_days,
        # In the vocabulary's order, so an unchanged choice compares equal.
        "services": ",".join(s for s in vocab.SERVICES if s in offered),
    }


def _unique_name(name: str, partner_id: int | None) -> None:
    other = db.session.scalar(select(Partner.id).where(Partner.name == name))
    if other is not None and other != partner_id:
        raise _refuse("name", _l("Another partner already has this name."))


def create_partner(actor: User, **fields: object) -> Partner:
    """Add a partner organisation serving units the admin administers."""
    require(actor, Permission.PARTNER_MANAGE)
    details = _details(actor, **fields)  # type: ignore[arg-type]
    _unique_name(details["name"], None)  # type: ignore[arg-type]
    partner = Partner(
        name=details["name"],
        kind=details["kind"],
        contacts=details["contacts"],
        capacity=details["capacity"],
        max_stay_days=details["max_stay_days"],
        services=details["services"],
    )
    partner.units_served = details["units"]  # type: ignore[assignment]
    db.session.add(partner)
    db.session.flush()
    audit.record(
        actor,
        Tag.PARTNER_CREATE,
        partner,
        kind=partner.kind,
        unit_ids=[u.id for u in partner.units_served],
        services=partner.service_codes,
    )
    return partner


def update_partner(
    actor: User, partner: Partner, *, expected_version: int | None, active: bool, **fields: object
) -> list[str]:
    """Change a partner organisation; refused on a stale form. Returns the fields changed."""
    require(actor, Permission.PARTNER_MANAGE, partner)
    check_version(partner, expected_version)
    details = _details(actor, **fields)  # type: ignore[arg-type]
    _unique_name(details["name"], partner.id)  # type: ignore[arg-type]
    changed = []
    for name in ("name", "kind", "contacts", "capacity", "max_stay_days", "services"):
        if getattr(partner, name) != details[name]:
            setattr(partner, name, details[name])
            changed.append(name)
    if active != partner.active:
        partner.active = active
        changed.append("active")
    units = details["units"]
    if {u.id for u in partner.units_served} != {u.id for u in units}:  # type: ignore[attr-defined]
        partner.units_served = units  # type: ignore[assignment]
        changed.append("units_served")
    if changed:
        db.session.flush()
        audit.record(actor, Tag.PARTNER_UPDATE, partner, fields=changed)
    return changed


def managed_partners(actor: User) -> list[Partner]:
    """The partner organisations the admin may manage."""
    from casework.policy import can

    require(actor, Permission.PARTNER_MANAGE)
    rows = db.session.scalars(select(Partner).order_by(Partner.name))
    return [p for p in rows if can(actor, Permission.PARTNER_MANAGE, p)]
