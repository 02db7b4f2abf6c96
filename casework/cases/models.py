"""The case file (DESIGN.md §3): the case, its people, consent, and what is done for the victim.

Identity and narrative fields are encrypted (casework.crypto.fields): a case's narratives under the
case's data key, a person's identity under the person's own key so that one person can be erased.
Statistics fields (sex, age band, ethnicity, disability, types, severity) stay plain. Timeline rows
are append-only: a correction is a new row that supersedes the old one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.accounts.models import Unit, User
from casework.crypto import blindindex
from casework.crypto.fields import EncryptedDate, EncryptedText, is_erased
from casework.db import UTCDateTime, new_uuid, utcnow
from casework.extensions import db

STATUS_VALUES = ("open", "active", "monitoring", "closure_requested", "closed")


def _in(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class CaseCounter(db.Model):
    """The last sequence number used for a code prefix and year (HY-2026-000123)."""

    __tablename__ = "case_counter"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


_LISTED_CODES = "_casework_listed_type_codes"


class Case(db.Model):
    __tablename__ = "case_file"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(STATUS_VALUES)}", name="known_status"),
        CheckConstraint(
            "severity IS NULL OR severity IN ('S1', 'S2', 'S3', 'S4')", name="known_severity"
        ),
        CheckConstraint(
            "risk IS NULL OR risk IN ('low', 'medium', 'high', 'imminent')", name="known_risk"
        ),
        # Keyset pagination of case lists: newest first, id as tie-breaker.
        Index("ix_case_file_handling_received", "handling_unit_id", "received_at", "id"),
        Index("ix_case_file_owning_received", "owning_unit_id", "received_at", "id"),
        # Reports count a subtree's cases classified, or closed, within a period.
        Index("ix_case_file_owning_classified", "owning_unit_id", "classified_at"),
        # The closed ones with their status and outcome: a subtree's closures of a period are
        # counted from the index, without reading the cases.
        Index(
            "ix_case_file_owning_closed",
            "owning_unit_id",
            "closed_at",
            "status",
            "closure_outcome",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(24), default="open")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    source: Mapped[str] = mapped_column(String(32))
    # The unit that opened the case keeps it; the handling unit changes on escalation or take-over.
    owning_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    handling_unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="RESTRICT"), index=True
    )
    place_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    assigned_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    # The case's own key (owner_attr "id": the table is case_file, the key owner kind "case").
    summary = EncryptedText(key_owner="case", owner_attr="id")
    reporter_name = EncryptedText(key_owner="case", owner_attr="id")
    reporter_contact = EncryptedText(key_owner="case", owner_attr="id")
    reporter_relation: Mapped[str | None] = mapped_column(String(32))

    # First safety screen (plain: they drive timers and statistics, and identify nobody).
    immediate_danger: Mapped[bool] = mapped_column(Boolean, default=False)
    child_involved: Mapped[bool] = mapped_column(Boolean, default=False)
    injuries: Mapped[bool] = mapped_column(Boolean, default=False)
    sexual_violence: Mapped[bool] = mapped_column(Boolean, default=False)

    # Classification.
    severity: Mapped[str | None] = mapped_column(String(2), index=True)
    risk: Mapped[str | None] = mapped_column(String(16))
    gbv_type: Mapped[str | None] = mapped_column(String(32))
    classified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its severity first needed a quick report (the 24-hour clock starts there, not at a
    # first classification at a lower severity).
    reportable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closure_outcome: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    owning_unit: Mapped[Unit] = relationship(foreign_keys=[owning_unit_id])
    handling_unit: Mapped[Unit] = relationship(foreign_keys=[handling_unit_id])
    place_unit: Mapped[Unit | None] = relationship(foreign_keys=[place_unit_id])
    received_by: Mapped[User] = relationship(foreign_keys=[received_by_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    types: Mapped[list[CaseType]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseType.code"
    )
    people: Mapped[list[Person]] = relationship(back_populates="case", order_by="Person.created_at")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    @property
    def type_codes(self) -> list[str]:
        listed = self.__dict__.get(_LISTED_CODES)
        if listed is not None:
            return list(listed)
        return sorted(t.code for t in self.types)  # as lists sort them, whatever the collation

    def remember_type_codes(self, codes: list[str]) -> None:
        """The codes as a list read them for many cases in one query (sorted, as `types` is),
        kept until the types change or the case's attributes expire (every commit), so no row of
        a list loads its types one by one. Ignored when the types are loaded already."""
        if "types" not in self.__dict__:
            self.__dict__[_LISTED_CODES] = tuple(codes)


class CaseType(db.Model):
    """One of a case's types, or a sub-type as "main.sub" (domestic_violence.physical)."""

    __tablename__ = "case_type"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)

    case: Mapped[Case] = relationship(back_populates="types")


class Person(db.Model):
    """Someone in a case. Identity fields under the person's own key; statistics fields plain."""

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint(
            "role IN ('victim', 'child', 'perpetrator', 'representative')", name="known_role"
        ),
        CheckConstraint("sex IN ('female', 'male', 'other', 'unknown')", name="known_sex"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))

    full_name = EncryptedText(key_owner="person", index=blindindex.NAME)
    aliases = EncryptedText(key_owner="person")
    date_of_birth = EncryptedDate(key_owner="person")
    phone = EncryptedText(key_owner="person", index=blindindex.PHONE)
    address = EncryptedText(key_owner="person")
    id_number = EncryptedText(key_owner="person", index=blindindex.ID_NUMBER)
    safe_contact = EncryptedText(key_owner="person")  # how to reach her safely (time, channel)

    sex: Mapped[str] = mapped_column(String(8), default="unknown")
    birth_year: Mapped[int | None] = mapped_column(Integer)  # statistics: age bands, child status
    age_band: Mapped[str | None] = mapped_column(String(8))
    is_child: Mapped[bool | None] = mapped_column(Boolean)
    ethnicity: Mapped[str | None] = mapped_column(String(32))
    disability: Mapped[bool | None] = mapped_column(Boolean)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    case: Mapped[Case] = relationship(back_populates="people")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    @property
    def erased(self) -> bool:
        """Her identity was erased (her data key crypto-shredded); the plain fields remain."""
        return is_erased(self)


class Relationship(db.Model):
    """How one person of a case relates to another (the perpetrator is the victim's husband)."""

    __tablename__ = "person_relationship"
    __table_args__ = (
        UniqueConstraint("person_id", "other_id"),
        CheckConstraint("person_id <> other_id", name="not_self"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    other_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))  # person is other's <kind>: vocab.RELATIONSHIPS

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    other: Mapped[Person] = relationship(foreign_keys=[other_id])


class Consent(db.Model):
    """Consent for one purpose, given by someone for a person of the case; withdrawable."""

    __tablename__ = "consent"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    purpose: Mapped[str] = mapped_column(String(32))
    given_by: Mapped[str] = mapped_column(String(32))
    substitute_reason = EncryptedText(key_owner="case")
    method: Mapped[str] = mapped_column(String(16))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    # The subject's legal representative when recorded as a person of the case: a perpetrator here
    # is why a substitute gave the consent (DOMAIN.md "Personal data protection").
    representative_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT")
    )

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    representative: Mapped[Person | None] = relationship(foreign_keys=[representative_id])

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class LegalBasis(db.Model):
    """A ground for processing or sharing without consent (protection of life, legal duty)."""

    __tablename__ = "legal_basis"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    basis: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32))
    note = EncryptedText(key_owner="case")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    # Ended when the ground no longer holds (danger over, duty fulfilled): it then stops counting
    # as a basis for sharing (consent.has_basis), and stays in the file's history.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    end_reason = EncryptedText(key_owner="case")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    @property
    def active(self) -> bool:
        return self.ended_at is None


class Assessment(db.Model):
    """A safety/risk or needs assessment with the safety plan; each save is a new version."""

    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("case_id", "kind", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[int] = mapped_column(Integer)
    risk: Mapped[str | None] = mapped_column(String(16))
    findings = EncryptedText(key_owner="case")
    safety_plan = EncryptedText(key_owner="case")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))

    created_by: Mapped[User] = relationship()


class Action(db.Model):
    """One entry of the actions timeline; append-only, corrected by a superseding entry."""

    __tablename__ = "case_action"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    authority: Mapped[str | None] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    description = EncryptedText(key_owner="case")
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_action.id", ondelete="RESTRICT"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))

    created_by: Mapped[User] = relationship()


class Support(db.Model):
    """A service to a victim: who provides it, its status, dates and outcome."""

    __tablename__ = "support"
    # Reports count the services delivered in a period from here, not from every case of the units.
    __table_args__ = (Index("ix_support_ended_on", "ended_on"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    service: Mapped[str] = mapped_column(String(24))
    provider_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    provider_partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(String(16), default="planned")
    started_on: Mapped[date | None] = mapped_column()
    ended_on: Mapped[date | None] = mapped_column()
    outcome = EncryptedText(key_owner="case")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    person: Mapped[Person] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)


class FollowUp(db.Model):
    """A scheduled contact with the victim; due date from the risk level; done or missed."""

    __tablename__ = "follow_up"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(8), default="due")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note = EncryptedText(key_owner="case")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)


class Attachment(db.Model):
    """An encrypted file of a case (petition, medical certificate, decision)."""

    __tablename__ = "attachment"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    filename = EncryptedText(key_owner="case")
    description = EncryptedText(key_owner="case")
    content_type: Mapped[str] = mapped_column(String(128))  # OOXML types exceed 64
    size: Mapped[int] = mapped_column(Integer)
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))

    uploaded_by: Mapped[User] = relationship()


class BreakGlass(db.Model):
    """A reviewer's time-limited opening of a subtree case her unit is not part of."""

    __tablename__ = "break_glass"
    __table_args__ = (Index("ix_break_glass_user_case", "user_id", "case_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    reason = EncryptedText(key_owner="case")
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Recusal(db.Model):
    """A user kept away from a case (conflict of interest); wins over every grant."""

    __tablename__ = "recusal"
    __table_args__ = (UniqueConstraint("user_id", "case_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))


def _forget_listed_codes(case: Case | None, *_args: object) -> None:
    if case is not None:  # None: an expired object no longer referenced anywhere
        case.__dict__.pop(_LISTED_CODES, None)


for _name in ("append", "remove", "set"):
    event.listen(Case.types, _name, _forget_listed_codes)
for _name in ("expire", "refresh"):
    event.listen(Case, _name, _forget_listed_codes)
