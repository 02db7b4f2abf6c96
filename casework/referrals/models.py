"""Partner organisations outside the Union: shelters, legal-aid centres and other services."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.accounts.models import Unit
from casework.db import UTCDateTime, utcnow
from casework.extensions import db


class PartnerKind(StrEnum):
    SHELTER = "shelter"  # địa chỉ tin cậy / nhà tạm lánh
    LEGAL_AID = "legal_aid"
    HEALTH = "health"
    SOCIAL = "social"  # social support and child protection
    POLICE = "police"
    OTHER = "other"


KIND_VALUES = tuple(k.value for k in PartnerKind)

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
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    units_served: Mapped[list[Unit]] = relationship(secondary=partner_unit)
