"""Per-service delivery (DESIGN.md §3, §5): for each service a referral names, the partner records
whether it was delivered (and on which day) or not (and why).

Each service of an accepted referral is a support entry of the case file provided by the partner
(made by accept_referral, linked through referral_support), so what the partner records here is what
the referring unit reads in the file's support section: delivered with its date, or stopped with the
reason. Only the partner's staff record it, on their own live referral while consent holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases.models import Support
from casework.cases.service import _text, check_version
from casework.cases.support import local_today, local_tz
from casework.errors import InvalidTransition
from casework.extensions import db
from casework.referrals.models import Referral, referral_support
from casework.referrals.service import (
    TEXT_MAX,
    _flush,
    _refuse,
    _start,
    _tell_referrers,
    _work,
)

# The answers a partner gives for one service.
DELIVERED = "delivered"
NOT_DELIVERED = "not_delivered"


@dataclass(frozen=True)
class ServiceRow:
    support: Support

    @property
    def recorded(self) -> bool:
        return self.support.status in ("delivered", "stopped")


def services_of(referral: Referral) -> list[ServiceRow]:
    """The support entries of a referral, in the order the referral names the services."""
    linked = select(referral_support.c.support_id).where(
        referral_support.c.referral_id == referral.id
    )
    rows = list(db.session.scalars(select(Support).where(Support.id.in_(linked))))
    order = {code: i for i, code in enumerate(referral.service_codes)}
    rows.sort(key=lambda s: (order.get(s.service, len(order)), s.created_at))
    return [ServiceRow(s) for s in rows]


def support_of(referral: Referral, support_id: object) -> Support | None:
    """One of the referral's support entries, or None (another referral's, or none at all)."""
    return next((r.support for r in services_of(referral) if r.support.id == support_id), None)


def _check_day(referral: Referral, on: date | None) -> date:
    if on is None:
        raise _refuse("on", _l("Enter the day the service was delivered."))
    if on > local_today():
        raise _refuse("on", _l("This date is in the future."))
    if on < referral.sent_at.astimezone(local_tz()).date():
        raise _refuse("on", _l("This is before the referral was sent."))
    return on


def record_delivery(
    actor: User,
    referral: Referral,
    support: Support,
    *,
    result: str,
    on: date | None,
    reason: str | None,
    expected_version: int | None,
) -> None:
    """The partner records one service as delivered (on a day) or not delivered (with a reason);
    a delivered service puts an accepted referral in service. Refused on a stale form."""
    _work(actor, referral, None)
    if support_of(referral, support.id) is None:
        raise _refuse("result", _l("This service is not part of this referral."))
    if referral.status not in ("accepted", "in_service"):
        raise InvalidTransition(_l("Accept the referral before recording its services."))
    check_version(support, expected_version)
    before = _snapshot(support)
    started = False
    if result == DELIVERED:
        day = _check_day(referral, on)
        was_stopped = support.status == "stopped"
        if referral.status == "accepted":
            _start(actor, referral)  # tells the referring unit the referral is in service
            started = True
        support.status = "delivered"
        support.started_on = min(support.started_on or day, day)
        support.ended_on = day
        if was_stopped:
            support.outcome = None  # the reason it was not delivered no longer holds
    elif result == NOT_DELIVERED:
        if not (reason or "").strip():
            raise _refuse("reason", _l("Say why the service was not delivered."))
        text = _text(reason, TEXT_MAX, "reason")
        today = local_today()
        support.status = "stopped"
        support.ended_on = max(today, support.started_on or today)
        support.outcome = text
    else:
        raise _refuse("result", _l("Choose delivered or not delivered."))
    _flush()
    audit.record(
        actor,
        Tag.SUPPORT_UPDATE,
        referral.case,
        support_id=str(support.id),
        referral_id=str(referral.id),
        service=support.service,
        status=support.status,
        fields=[name for name, old in before.items() if getattr(support, name) != old],
    )
    if not started:
        # The referring unit hears of each service, above all of one the partner could not give.
        kind = "referral_service_delivered" if result == DELIVERED else "referral_service_failed"
        _tell_referrers(referral, kind, actor)


def _snapshot(support: Support) -> dict[str, object]:
    return {
        name: getattr(support, name) for name in ("status", "started_on", "ended_on", "outcome")
    }
