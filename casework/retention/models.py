"""Retention: legal holds, and the record of each retention run and of each case it erased.

The erasure record holds ids, dates and counts only: it is what the auditor reads to learn what was
shredded and when, and it outlives the shredded data by design.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.accounts.models import User
from casework.cases.models import Case
from casework.crypto.errors import KeyShredded
from casework.crypto.fields import EncryptedText
from casework.db import UTCDateTime, new_uuid, utcnow
from casework.extensions import db


class LegalHold(db.Model):
    """A hold on a case (a court, the police or an inspection needs its file): while it is active,
    retention never erases the case. Lifting keeps the row, so the history stays."""

    __tablename__ = "legal_hold"
    __table_args__ = (
        CheckConstraint(
            "(lifted_at IS NULL) = (lifted_by_id IS NULL)", name="lifted_with_whom_and_when"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    # Free text (a court's file number, an inspector's letter) may name people: the case's key.
    reason = EncryptedText(key_owner="case")
    until: Mapped[date | None] = mapped_column(Date)  # last local day held; None: until lifted
    set_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )

    case: Mapped[Case] = relationship()
    set_by: Mapped[User] = relationship(foreign_keys=[set_by_id])
    lifted_by: Mapped[User | None] = relationship(foreign_keys=[lifted_by_id])

    @property
    def readable_reason(self) -> str | None:
        """The reason, or None once the case's key is shredded (an erasure request may do that)."""
        try:
            return self.reason
        except KeyShredded:
            return None

    def active_on(self, day: date) -> bool:
        return self.lifted_at is None and (self.until is None or day <= self.until)

    def __repr__(self) -> str:
        return f"<LegalHold {self.id} case={self.case_id}>"


class RetentionRun(db.Model):
    """One real run of `casework retention run` (dry runs change nothing and leave no row)."""

    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_day: Mapped[date] = mapped_column(Date)  # the Vietnam date the periods were measured to
    expired: Mapped[int] = mapped_column(Integer, default=0)
    erased: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))

    def __repr__(self) -> str:
        return f"<RetentionRun {self.id}>"


class RetentionErasure(db.Model):
    """A case whose personal data retention crypto-shredded: once per case, never undone."""

    __tablename__ = "retention_erasure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("retention_run.id", ondelete="RESTRICT"), index=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), unique=True
    )
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    years: Mapped[int] = mapped_column(Integer)  # the retention period applied
    expired_on: Mapped[date] = mapped_column(Date)
    people: Mapped[int] = mapped_column(Integer)
    keys: Mapped[int] = mapped_column(Integer)  # data keys destroyed (case and people)
    types: Mapped[str] = mapped_column(String(400), default="")  # type codes, for the report
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()

    def __repr__(self) -> str:
        return f"<RetentionErasure {self.id} case={self.case_id}>"
