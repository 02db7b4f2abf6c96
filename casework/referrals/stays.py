"""Shelter stays (DESIGN.md §5): check-in and check-out on a referral, occupancy against capacity,
stays past the shelter's maximum flagged. A shelter's location and its guests are secret: the stays
carry ids and times only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases.service import check_version
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition
from casework.extensions import db
from casework.referrals.models import Partner, Referral, ShelterStay
from casework.referrals.service import _flush, _open_stay, _refuse, _start, _work

CLOCK_SKEW = timedelta(minutes=5)


def _check_moment(moment: datetime, referral: Referral, field: str) -> None:
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused: use an aware UTC time")
    if moment > utcnow() + CLOCK_SKEW:
        raise _refuse(field, _l("This time is in the future."))
    if moment < referral.sent_at - CLOCK_SKEW:
        raise _refuse(field, _l("This is before the referral was sent."))


def check_in(actor: User, referral: Referral, *, at: datetime) -> ShelterStay:
    """A shelter records her arrival; an accepted referral is then in service."""
    _work(actor, referral, None)
    if referral.partner.kind != "shelter":
        raise Invalid(_l("Only a shelter records stays."))
    if referral.status not in ("accepted", "in_service"):
        raise InvalidTransition(_l("Accept the referral before checking her in."))
    _check_moment(at, referral, "at")
    if _open_stay(referral) is not None:
        raise _refuse("at", _l("She is already checked in."))
    stay = ShelterStay(
        id=uuid.uuid4(),
        referral_id=referral.id,
        partner_id=referral.partner_id,
        case_id=referral.case_id,
        checked_in_at=at,
        recorded_by_id=actor.id,
    )
    db.session.add(stay)
    try:
        _flush()
    except IntegrityError as exc:  # a check-in from another tab won the race
        raise _refuse("at", _l("She is already checked in.")) from exc
    audit.record(
        actor,
        Tag.SHELTER_CHECK_IN,
        referral.case,
        referral_id=str(referral.id),
        stay_id=str(stay.id),
    )
    if referral.status == "accepted":
        _start(actor, referral)
    return stay


def check_out(
    actor: User, stay: ShelterStay, *, at: datetime, expected_version: int | None
) -> None:
    """A shelter records her departure."""
    referral = stay.referral
    _work(actor, referral, None)
    check_version(stay, expected_version)
    if stay.checked_out_at is not None:
        raise InvalidTransition(_l("She has already been checked out."))
    _check_moment(at, referral, "at")
    if at < stay.checked_in_at:
        raise _refuse("at", _l("This is before her check-in."))
    stay.checked_out_at = at
    _flush()
    audit.record(
        actor,
        Tag.SHELTER_CHECK_OUT,
        referral.case,
        referral_id=str(referral.id),
        stay_id=str(stay.id),
    )


@dataclass(frozen=True)
class StayRow:
    stay: ShelterStay
    reference: str
    days: int
    past_maximum: bool


@dataclass(frozen=True)
class Occupancy:
    partner: Partner
    current: int
    capacity: int | None
    stays: list[StayRow]

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.current >= self.capacity

    @property
    def past_maximum(self) -> int:
        return sum(1 for s in self.stays if s.past_maximum)


def occupancy(partner: Partner, now: datetime | None = None) -> Occupancy:
    """A shelter's open stays against its capacity; stays longer than its maximum flagged."""
    now = now or utcnow()
    stays = list(
        db.session.scalars(
            select(ShelterStay)
            .where(ShelterStay.partner_id == partner.id, ShelterStay.checked_out_at.is_(None))
            .order_by(ShelterStay.checked_in_at)
        )
    )
    rows = []
    for stay in stays:
        days = (now - stay.checked_in_at).days
        over = partner.max_stay_days is not None and now - stay.checked_in_at > timedelta(
            days=partner.max_stay_days
        )
        rows.append(StayRow(stay, stay.referral.reference, days, over))
    return Occupancy(partner, len(stays), partner.capacity, rows)
