"""The registers: data-subject requests and personal-data breaches.

Both are ids, codes and times in plain columns, so that deadlines and statistics need no key; free
text is encrypted (a request's details and decisions under its case's key; a breach's description
sealed under the master keyring, since a breach belongs to no case).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.accounts.models import Unit, User
from casework.cases.models import Case, Person
from casework.crypto.fields import EncryptedText
from casework.db import UTCDateTime, new_uuid, utcnow
from casework.extensions import db

REQUEST_KINDS = ("access", "rectification", "restriction", "withdrawal", "erasure")
REQUESTER_RELATIONS = ("subject", "representative", "authorised", "alleged_perpetrator", "other")
REQUEST_STATUSES = ("received", "acknowledged", "approved", "refused", "completed")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class DataRequest(db.Model):
    """A request by (or for) a person of a case to see, correct, restrict, withdraw or erase.

    received → acknowledged → approved or refused (the safety review) → completed. The person_id
    stays after an erasure: the row shows that the request was met, and her key is gone.
    """

    __tablename__ = "data_request"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(REQUEST_KINDS)}", name="known_kind"),
        CheckConstraint(f"requester_relation IN {_in(REQUESTER_RELATIONS)}", name="known_relation"),
        CheckConstraint(f"status IN {_in(REQUEST_STATUSES)}", name="known_status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    requester_relation: Mapped[str] = mapped_column(String(24))
    # Set by whoever records or reviews it: the request may come from, or for, the alleged
    # perpetrator even when the requester says otherwise.
    safety_concern: Mapped[bool] = mapped_column(Boolean, default=False)
    details = EncryptedText(key_owner="case")  # what is asked, in the requester's words
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    review_note = EncryptedText(key_owner="case")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    outcome_note = EncryptedText(key_owner="case")
    version: Mapped[int] = mapped_column(Integer, default=1)

    case: Mapped[Case] = relationship()
    person: Mapped[Person] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    def __repr__(self) -> str:
        return f"<DataRequest id={self.id} case={self.case_id} {self.kind} {self.status}>"

    @property
    def perpetrator_risk(self) -> bool:
        """It may come from the alleged perpetrator: said so, flagged, or about him."""
        return (
            self.safety_concern
            or self.requester_relation == "alleged_perpetrator"
            or self.person.role == "perpetrator"
        )

    @property
    def open(self) -> bool:
        return self.status in ("received", "acknowledged", "approved")


BREACH_CATEGORIES = (
    "identity",
    "contact",
    "narrative",
    "health",
    "children",
    "shelter",
    "reporter",
    "attachments",
    "staff_accounts",
)
BREACH_STATUSES = ("open", "notified", "closed")


class Breach(db.Model):
    """A suspected personal-data breach: when it was discovered, what it touched, and when the
    authority was told (within 72 hours of discovery)."""

    __tablename__ = "data_breach"
    __table_args__ = (CheckConstraint(f"status IN {_in(BREACH_STATUSES)}", name="known_status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    # Codes from BREACH_CATEGORIES, comma-separated (no personal data in a code).
    categories: Mapped[str] = mapped_column(String(200))
    people_affected: Mapped[int | None] = mapped_column(Integer)  # an estimate, may be unknown
    # Sealed with crypto.secretbox (purpose "breach", bound to the row id): a description of an
    # incident must not name victims, but one written in haste might.
    description_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    units: Mapped[list[BreachUnit]] = relationship(
        back_populates="breach", cascade="all, delete-orphan"
    )
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    def __repr__(self) -> str:
        return f"<Breach id={self.id} {self.status}>"

    @property
    def category_codes(self) -> list[str]:
        return [c for c in self.categories.split(",") if c]


class BreachUnit(db.Model):
    """A unit whose data a breach touched (who must know, and whose admins see it)."""

    __tablename__ = "data_breach_unit"

    breach_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("data_breach.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="RESTRICT"), primary_key=True
    )

    breach: Mapped[Breach] = relationship(back_populates="units")
    unit: Mapped[Unit] = relationship()
