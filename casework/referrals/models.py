"""Partner organisations outside the Union (shelters, legal-aid centres and other services), the
referrals sent to them, the frozen packets they read, their notes, and shelter stays.

A referral's packet is the only thing a partner ever reads of a case: a frozen, encrypted JSON text
written when the referral is sent (or re-shared), never recomputed from the case. Notes and packets
are append-only; a referral's status and a stay's dates change in place under a version.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.accounts.models import Unit
from casework.crypto.fields import EncryptedText
from casework.db import UTCDateTime, new_uuid, utcnow
from casework.extensions import db


class PartnerKind(StrEnum):
    SHELTER = "shelter"  # địa chỉ tin cậy / nhà tạm lánh
    LEGAL_AID = "legal_aid"
    HEALTH = "health"
    SOCIAL = "social"  # social support and child protection
    POLICE = "police"
    OTHER = "other"


KIND_VALUES = tuple(k.value for k in PartnerKind)

# The services (casework.cases.vocab.SERVICES codes) a new partner of each kind usually offers:
# a starting point for the admin's form and the demo, never a rule.
DEFAULT_SERVICES: dict[str, tuple[str, ...]] = {
    "shelter": ("shelter", "counselling"),
    "legal_aid": ("legal_advice", "legal_aid"),
    "health": ("medical", "counselling"),
    "social": ("counselling", "economic", "education"),
    "police": ("other",),
    "other": ("other",),
}

partner_unit = Table(
    "partner_unit",
    db.metadata,
    Column("partner_id", ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id", ondelete="RESTRICT"), primary_key=True),
)


class Partner(db.Model):
    __tablename__ = "partner"
    __table_args__ = (
        CheckConstraint(f"kind IN {KIND_VALUES!r}", name="known_kind"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("max_stay_days IS NULL OR max_stay_days > 0", name="max_stay_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int | None] = mapped_column(Integer)
    max_stay_days: Mapped[int | None] = mapped_column(Integer)
    # The organisation's own contact details (a desk phone, an office); never a victim's data.
    contacts: Mapped[str | None] = mapped_column(Text)
    # The services it offers (vocab.SERVICES codes, comma-separated): a referral asks only
    # partners that offer every service she needs.
    services: Mapped[str] = mapped_column(String(200), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    units_served: Mapped[list[Unit]] = relationship(secondary=partner_unit)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    @property
    def service_codes(self) -> list[str]:
        return [s for s in (self.services or "").split(",") if s]

    def lacks(self, services: list[str]) -> list[str]:
        """The services asked for that this partner does not offer."""
        offered = set(self.service_codes)
        return [s for s in services if s not in offered]


REFERRAL_STATUSES = ("sent", "accepted", "declined", "in_service", "completed", "withdrawn")
# While a referral is live the partner reads its packet; after, nothing.
LIVE_STATUSES = ("sent", "accepted", "in_service")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Referral(db.Model):
    """A victim (or a child) of a case referred by the handling unit to a partner for services."""

    __tablename__ = "referral"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(REFERRAL_STATUSES)}", name="known_status"),
        Index("ix_referral_partner_status", "partner_id", "status"),
        # Reports count a period's referrals from here, not from every case of the units.
        Index("ix_referral_sent_at", "sent_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="RESTRICT"))
    # The unit that referred (the handling unit when sent): its staff follow the referral.
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    # The consent purpose that covers it (refer_shelter…), checked at every partner read.
    purpose: Mapped[str] = mapped_column(String(32))
    basis: Mapped[str] = mapped_column(String(16))  # "consent" or "legal_basis", when sent
    services: Mapped[str] = mapped_column(String(200))  # vocab.SERVICES codes, comma-separated
    status: Mapped[str] = mapped_column(String(16), default="sent")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    answer_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    decline_reason = EncryptedText(key_owner="case")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome = EncryptedText(key_owner="case")
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    withdraw_reason = EncryptedText(key_owner="case")
    version: Mapped[int] = mapped_column(Integer, default=1)

    case: Mapped[Case] = relationship()  # noqa: F821 (casework.cases.models)
    person: Mapped[Person] = relationship()  # noqa: F821 (casework.cases.models)
    partner: Mapped[Partner] = relationship()
    from_unit: Mapped[Unit] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    @property
    def service_codes(self) -> list[str]:
        return [s for s in self.services.split(",") if s]

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def reference(self) -> str:
        """A short reference for the partner, unrelated to the case code."""
        return "R-" + self.id.hex[:8].upper()


class ReferralPacket(db.Model):
    """What the partner reads: chosen fields frozen at sending (or re-sharing), encrypted JSON.

    Append-only: a re-share is a new packet with the next number; the partner reads the latest.
    """

    __tablename__ = "referral_packet"
    __table_args__ = (UniqueConstraint("referral_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    referral_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("referral.id", ondelete="RESTRICT"), index=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    # Names of the fields shared (plain, for the audit and the file); their values are in content.
    fields: Mapped[str] = mapped_column(String(300))
    content = EncryptedText(key_owner="case", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))

    referral: Mapped[Referral] = relationship()

    @property
    def field_names(self) -> list[str]:
        return [f for f in self.fields.split(",") if f]


class ReferralNote(db.Model):
    """A note by the partner about the referral, read by the referring unit; append-only."""

    __tablename__ = "referral_note"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    referral_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("referral.id", ondelete="RESTRICT"), index=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"))
    body = EncryptedText(key_owner="case", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))

    referral: Mapped[Referral] = relationship()


class ShelterStay(db.Model):
    """A stay at a shelter on a referral: check-in, and check-out once she leaves."""

    __tablename__ = "shelter_stay"
    __table_args__ = (
        CheckConstraint(
            "checked_out_at IS NULL OR checked_out_at >= checked_in_at", name="out_after_in"
        ),
        # One open stay per referral: the database settles double check-ins.
        Index(
            "uq_shelter_stay_one_open",
            "referral_id",
            unique=True,
            sqlite_where=text("checked_out_at IS NULL"),
            postgresql_where=text("checked_out_at IS NULL"),
        ),
        Index("ix_shelter_stay_partner_open", "partner_id", "checked_out_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referral.id", ondelete="RESTRICT"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="RESTRICT"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    referral: Mapped[Referral] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)


# Links the support rows a referral put on the case file (one per service) to the referral.
referral_support = Table(
    "referral_support",
    db.metadata,
    Column("referral_id", ForeignKey("referral.id", ondelete="RESTRICT"), primary_key=True),
    Column("support_id", ForeignKey("support.id", ondelete="RESTRICT"), primary_key=True),
)
