"""Reading referrals: the partner portal (her organisation's live referrals, by stage), the packet
she opens (every read audited on the case, so it shows in "who has seen this file"), and the
referring unit's view of a referral and the file's referrals section."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases import rows as case_rows
from casework.cases.models import Case
from casework.db import utcnow
from casework.extensions import db
from casework.policy import Permission, can, require
from casework.policy.scopes import finished_referrals, visible_referrals
from casework.referrals import packets
from casework.referrals.delivery import ServiceRow, services_of
from casework.referrals.models import (
    LIVE_STATUSES,
    Partner,
    Referral,
    ReferralNote,
    ReferralPacket,
    ShelterStay,
)
from casework.referrals.stays import Occupancy, occupancy

# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PacketView:
    referral: Referral
    packet: ReferralPacket
    data: dict[str, Any]
    notes: list[ReferralNote]
    stays: list[ShelterStay]
    services: list[ServiceRow]

    @property
    def completable(self) -> bool:
        """In service, or accepted with every service recorded (delivered or not)."""
        status = self.referral.status
        recorded = bool(self.services) and all(row.recorded for row in self.services)
        return status == "in_service" or (status == "accepted" and recorded)


def latest_packet(referral: Referral) -> ReferralPacket:
    packet = db.session.scalar(
        select(ReferralPacket)
        .where(ReferralPacket.referral_id == referral.id)
        .order_by(ReferralPacket.number.desc())
        .limit(1)
    )
    assert packet is not None  # noqa: S101 (a referral is sent with its packet)  # nosec B101
    return packet


def _notes(referral: Referral) -> list[ReferralNote]:
    return list(
        db.session.scalars(
            select(ReferralNote)
            .where(ReferralNote.referral_id == referral.id)
            .order_by(ReferralNote.created_at, ReferralNote.id)
        )
    )


def _stays(referral: Referral) -> list[ShelterStay]:
    return list(
        db.session.scalars(
            select(ShelterStay)
            .where(ShelterStay.referral_id == referral.id)
            .order_by(ShelterStay.checked_in_at)
        )
    )


def read_packet(actor: User, referral: Referral) -> PacketView:
    """A partner opens a referral: the packet only, while she may; every read audited on the case
    (so it shows in "who has seen this file")."""
    require(actor, Permission.REFERRAL_WORK, referral, hide=True)
    packet = latest_packet(referral)
    audit.record(
        actor,
        Tag.REFERRAL_VIEW,
        referral.case,
        referral_id=str(referral.id),
        packet_id=str(packet.id),
    )
    return PacketView(
        referral,
        packet,
        packets.read(packet.content or "{}"),
        _notes(referral),
        _stays(referral),
        services_of(referral),
    )


@dataclass(frozen=True)
class PortalRow:
    referral: Referral
    first_name: str | None
    overdue: bool


@dataclass(frozen=True)
class Portal:
    new: list[PortalRow]
    accepted: list[PortalRow]
    in_service: list[PortalRow]
    done: list[Referral]
    occupancy: Occupancy | None


def portal(actor: User, done_limit: int = 50) -> Portal:
    """The partner's list of her organisation's referrals, by stage; audited as a read."""

    require(actor, Permission.REFERRAL_WORK)
    live = list(
        db.session.scalars(
            visible_referrals(actor).order_by(Referral.answer_due_at, Referral.id).limit(500)
        )
    )
    done = list(
        db.session.scalars(
            finished_referrals(actor)
            .order_by(Referral.sent_at.desc(), Referral.id)
            .limit(done_limit)
        )
    )
    now = utcnow()
    rows: dict[str, list[PortalRow]] = {s: [] for s in LIVE_STATUSES}
    for referral in live:
        data = packets.read(latest_packet(referral).content or "{}")
        fields = data.get("fields", {})
        name = fields.get("first_name") or fields.get("alias")
        overdue = referral.status == "sent" and referral.answer_due_at < now
        rows[referral.status].append(PortalRow(referral, name, overdue))
    partner = db.session.get(Partner, actor.partner_id)
    audit.record(
        actor,
        Tag.REFERRAL_LIST,
        object_type="partner",
        object_id=actor.partner_id,
        referral_ids=[str(r.id) for r in live],
    )
    return Portal(
        rows["sent"],
        rows["accepted"],
        rows["in_service"],
        done,
        occupancy(partner) if partner is not None and partner.kind == "shelter" else None,
    )


@dataclass(frozen=True)
class CaseReferral:
    referral: Referral
    packet: ReferralPacket
    data: dict[str, Any]
    notes: list[ReferralNote]
    stays: list[ShelterStay]
    overdue: bool
    services: list[ServiceRow]


def case_referral(actor: User, referral: Referral) -> CaseReferral:
    """The referring side's view of one referral: what was sent, the partner's notes and stays."""
    require(actor, Permission.CASE_READ, referral)
    packet = latest_packet(referral)
    audit.record(
        actor,
        Tag.REFERRAL_VIEW,
        referral.case,
        referral_id=str(referral.id),
        packet_id=str(packet.id),
    )
    return CaseReferral(
        referral,
        packet,
        packets.read(packet.content or "{}"),
        _notes(referral),
        _stays(referral),
        referral.status == "sent" and referral.answer_due_at < utcnow(),
        services_of(referral),
    )


def referrals_of(case: Case) -> list[Referral]:
    """Newest first (ties by id)."""
    rows = sorted(case_rows.of_case(Referral, case.id), key=lambda r: r.id)
    return sorted(rows, key=lambda r: r.sent_at, reverse=True)


def get_referral(case: Case, referral_id: uuid.UUID) -> Referral | None:
    referral = db.session.get(Referral, referral_id)
    return referral if referral is not None and referral.case_id == case.id else None


def for_file(actor: User, case: Case) -> dict[str, Any]:
    """The referrals part of the case file page."""

    now = utcnow()
    rows = referrals_of(case)
    notes = (
        dict(
            db.session.execute(
                select(ReferralNote.referral_id, func.count(ReferralNote.id))
                .where(ReferralNote.case_id == case.id)
                .group_by(ReferralNote.referral_id)
            ).all()
        )
        if rows
        else {}
    )
    return {
        "rows": [
            (r, r.status == "sent" and r.answer_due_at < now, notes.get(r.id, 0)) for r in rows
        ],
        "can_send": can(actor, Permission.REFERRAL_SEND, case) and case.status != "closed",
    }


# --- The case's actions timeline ---------------------------------------------------------------


EVENT_LABELS = {
    "sent": _l("Referral sent"),
    "accepted": _l("Referral accepted"),
    "declined": _l("Referral declined"),
    "completed": _l("Referral completed"),
    "withdrawn": _l("Referral withdrawn"),
}


@dataclass(frozen=True)
class ReferralEvent:
    """A step of a referral in the case's actions timeline: what the file's referrals section
    shows already (partner, services, when), never the packet, reasons or outcome."""

    at: datetime
    kind: str  # sent, accepted, declined, completed, withdrawn
    referral: Referral
    is_referral: ClassVar[bool] = True  # tells the timeline template it is not an action


def referral_events(case: Case) -> list[ReferralEvent]:
    """Each referral's sending, answer, completion and withdrawal, newest first."""
    events = []
    for referral in referrals_of(case):
        steps = [("sent", referral.sent_at)]
        if referral.answered_at is not None:
            answer = "declined" if referral.status == "declined" else "accepted"
            steps.append((answer, referral.answered_at))
        steps += [("completed", referral.completed_at), ("withdrawn", referral.withdrawn_at)]
        events += [ReferralEvent(at, kind, referral) for kind, at in steps if at is not None]
    return sorted(events, key=lambda e: e.at, reverse=True)
