"""The breach register: a suspected personal-data breach is recorded when it is discovered, and
the authority must be notified within 72 hours of discovery (Law 91/2025; DOMAIN.md).

Anyone on the staff can record one (the officer who lost a phone is the first to know); the admins
and auditors (the data-protection officer) of a top unit see every breach, those below the breaches
touching their subtree, and mark them notified. The description is sealed under the master keyring:
it should name no victim, but one written in haste might.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework import audit
from casework.accounts.models import Unit, User
from casework.audit import Tag
from casework.cases.service import check_version
from casework.crypto import datakeys, secretbox
from casework.dataprotection.models import BREACH_CATEGORIES, Breach, BreachUnit
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition
from casework.extensions import db
from casework.policy import Permission, can, in_subtree, require

PURPOSE = "breach"
DESCRIPTION_MAX = 2000
NOTIFY_HOURS = 72


def notify_due(breach: Breach) -> datetime:
    """72 hours after discovery (configurable as BREACH_NOTIFY_HOURS)."""
    hours = current_app.config.get("BREACH_NOTIFY_HOURS", NOTIFY_HOURS)
    return breach.discovered_at + timedelta(hours=hours)


def record_breach(
    actor: User,
    *,
    discovered_at: datetime,
    categories: list[str],
    units: list[Unit],
    description: str,
    people_affected: int | None = None,
) -> Breach:
    """Register a suspected breach; its notification deadline runs from the discovery."""
    require(actor, Permission.BREACH_REPORT)
    if discovered_at > utcnow() + timedelta(minutes=5):
        message = _l("The time of discovery is in the future.")
        raise Invalid(message, discovered_at=message)
    chosen = [c for c in BREACH_CATEGORIES if c in set(categories)]
    if not chosen or len(chosen) != len(set(categories)):
        message = _l("Choose the kinds of data affected.")
        raise Invalid(message, categories=message)
    if not units:
        message = _l("Choose the units whose data is affected.")
        raise Invalid(message, units=message)
    if any(not in_subtree(u, actor.unit_id) for u in units):
        message = _l("Choose your own unit or units below it.")
        raise Invalid(message, units=message)
    text = " ".join((description or "").split())
    if not text or len(text) > DESCRIPTION_MAX:
        message = _l("Describe what happened in at most %(n)d characters.", n=DESCRIPTION_MAX)
        raise Invalid(message, description=message)
    if people_affected is not None and people_affected < 0:
        message = _l("Enter a number of people, or leave it empty if unknown.")
        raise Invalid(message, people_affected=message)
    breach = Breach(
        id=uuid.uuid4(),
        discovered_at=discovered_at,
        recorded_by_id=actor.id,
        categories=",".join(chosen),
        people_affected=people_affected,
        status="open",
    )
    breach.description_sealed = secretbox.seal(
        datakeys.current_keyring(), PURPOSE, str(breach.id), text.encode("utf-8")
    )
    breach.units = [BreachUnit(unit_id=u.id) for u in {u.id: u for u in units}.values()]
    db.session.add(breach)
    db.session.flush()
    audit.record(
        actor,
        Tag.BREACH_RECORD,
        breach,
        categories=chosen,
        units=sorted(u.id for u in units),
        people_affected=people_affected,
    )
    return breach


def description(actor: User, breach: Breach) -> str:
    """The description, for those who manage the breach; each reading is audited."""
    require(actor, Permission.BREACH_MANAGE, breach)
    audit.record(actor, Tag.BREACH_VIEW, breach)
    raw = secretbox.unseal(
        datakeys.current_keyring(), PURPOSE, str(breach.id), breach.description_sealed
    )
    return raw.decode("utf-8")


def mark_notified(
    actor: User, breach: Breach, *, notified_at: datetime, expected_version: int
) -> None:
    """Record that the authority was notified (at a time no earlier than the discovery)."""
    require(actor, Permission.BREACH_MANAGE, breach)
    check_version(breach, expected_version)
    if breach.status != "open":
        raise InvalidTransition(_l("This breach is already marked notified."))
    if notified_at < breach.discovered_at or notified_at > utcnow() + timedelta(minutes=5):
        message = _l("The notification time must be between the discovery and now.")
        raise Invalid(message, notified_at=message)
    breach.status = "notified"
    breach.notified_at = notified_at
    breach.notified_by_id = actor.id
    db.session.flush()
    audit.record(
        actor,
        Tag.BREACH_NOTIFY,
        breach,
        late=notified_at > notify_due(breach),
    )


def visible_breaches(user: User, *, open_only: bool = False) -> list[Breach]:
    """The breaches the user manages: all for a top unit's admins and auditors, else those
    touching her subtree."""
    if not can(user, Permission.BREACH_MANAGE) or user.unit is None:
        return []
    stmt = select(Breach)
    if open_only:
        stmt = stmt.where(Breach.status == "open")
    if user.unit.parent_id is not None:
        from casework.accounts.units import subtree_select

        touching = select(BreachUnit.breach_id).where(
            BreachUnit.unit_id.in_(subtree_select(user.unit_id))
        )
        stmt = stmt.where(Breach.id.in_(touching))
    return list(db.session.scalars(stmt.order_by(Breach.discovered_at.desc()).limit(500)))


@dataclass(frozen=True)
class BreachDeadline:
    """A breach not yet notified, for the deadlines board."""

    breach: Breach
    due_at: datetime

    def overdue(self, now: datetime | None = None) -> bool:
        return self.due_at < (now or utcnow())


def deadline_items(user: User) -> list[BreachDeadline]:
    """Every breach still to notify, soonest first: 72 hours is short enough to show them all."""
    items = [BreachDeadline(b, notify_due(b)) for b in visible_breaches(user, open_only=True)]
    return sorted(items, key=lambda d: d.due_at)
