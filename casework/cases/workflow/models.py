"""Workflow records of Decision 2605: quick reports, escalations, closure requests, transitions,
and the in-app notifications they raise. Each has its own lifecycle and timestamps; none holds a
person's data in plain text."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.accounts.models import Unit, User
from casework.crypto.fields import EncryptedText
from casework.db import UTCDateTime, new_uuid, utcnow
from casework.extensions import db


class Transition(db.Model):
    """One change of a case's status: who, when, from, to, and why."""

    __tablename__ = "case_transition"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    reason = EncryptedText(key_owner="case")

    by: Mapped[User] = relationship()


class QuickReport(db.Model):
    """A de-identified snapshot sent up the levels; immutable once sent, corrected by a new version."""

    __tablename__ = "quick_report"
    __table_args__ = (Index("ix_quick_report_case_number", "case_id", "number", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("quick_report.id", ondelete="RESTRICT")
    )
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    # The snapshot: codes, counts and flags as canonical JSON, never names or narratives.
    snapshot: Mapped[str] = mapped_column(Text)
    # What happened and what is being done, written for the level above, without names (encrypted).
    situation = EncryptedText(key_owner="case")

    from_unit: Mapped[Unit] = relationship()
    sent_by: Mapped[User] = relationship()
    deliveries: Mapped[list[QuickReportDelivery]] = relationship(back_populates="report")


class QuickReportDelivery(db.Model):
    """A quick report reaching one unit (the parent; central for S4; each forward adds one)."""

    __tablename__ = "quick_report_delivery"
    __table_args__ = (Index("ix_qr_delivery_report_unit", "report_id", "unit_id", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quick_report.id", ondelete="RESTRICT"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    forwarded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )

    report: Mapped[QuickReport] = relationship(back_populates="deliveries")
    unit: Mapped[Unit] = relationship()


ESCALATION_STATUSES = ("pending", "accepted", "returned", "withdrawn")


class Escalation(db.Model):
    """A request to move a case's handling up one level, or a take-over from above."""

    __tablename__ = "escalation"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'accepted', 'returned', 'withdrawn')", name="known_status"
        ),
        CheckConstraint("kind IN ('request', 'take_over')", name="known_kind"),
        CheckConstraint("from_unit_id <> to_unit_id", name="moves"),
        # The lists of cases a lower unit handed up (policy.scopes.visible_cases).
        Index("ix_escalation_from_unit_status", "from_unit_id", "status"),
        # Reports count a period's escalations from here, not from every case of the units.
        Index("ix_escalation_requested_at", "requested_at"),
        # At most one open escalation per case: the database settles races.
        Index(
            "uq_escalation_one_pending",
            "case_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="request")
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason = EncryptedText(key_owner="case")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    guidance = EncryptedText(key_owner="case")
    version: Mapped[int] = mapped_column(Integer, default=1)

    from_unit: Mapped[Unit] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[Unit] = relationship(foreign_keys=[to_unit_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)


CLOSURE_REASONS = (
    "resolved",
    "needs_met",
    "victim_withdrew",
    "no_contact",
    "transferred_concluded",
    "duplicate",
    "out_of_scope",
)


class ClosureRequest(db.Model):
    """An officer's request to close, and a higher reviewer's decision on it."""

    __tablename__ = "closure_request"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'refused')", name="known_status"),
        Index(
            "uq_closure_one_pending",
            "case_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    reason: Mapped[str] = mapped_column(String(32))
    outcome = EncryptedText(key_owner="case")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    handling_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    comment = EncryptedText(key_owner="case")
    version: Mapped[int] = mapped_column(Integer, default=1)

    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)


ACTION_REQUEST_STATUSES = ("open", "done", "withdrawn")


class ActionRequest(db.Model):
    """The handling unit asks a unit that handled the case before (below it) to do something: a
    visit, a talk with the family, a notification to the local police. The lower unit answers by
    recording what it did in the case's actions."""

    __tablename__ = "action_request"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done', 'withdrawn')", name="known_status"),
        CheckConstraint("from_unit_id <> to_unit_id", name="another_unit"),
        # A unit's open requests (its board and inbox).
        Index("ix_action_request_to_unit_status", "to_unit_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT"), index=True
    )
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    what = EncryptedText(key_owner="case")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    # The entry in the case's actions that answers the request.
    action_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_action.id", ondelete="RESTRICT")
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    from_unit: Mapped[Unit] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[Unit] = relationship(foreign_keys=[to_unit_id])
    asked_by: Mapped[User] = relationship(foreign_keys=[asked_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)


class Notification(db.Model):
    """An in-app message to one user; its text is built from its kind and the case code only."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_file.id", ondelete="RESTRICT")
    )
    # What the notification points at (a quick report, an escalation…), by id.
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)


class DeadlineAlert(db.Model):
    """An overdue deadline already notified, so the cron job tells the parent's reviewers once."""

    __tablename__ = "deadline_alert"
    __table_args__ = (Index("ix_deadline_alert_key", "case_id", "kind", "subject", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(64), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    alerted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingDeadline(db.Model):
    """A deadline not yet met, of a case not closed: what the boards, the dashboards and the
    overdue alerts read. Derived data, kept by casework.cases.workflow.pending from the same
    computation as the case file's own deadlines (timers.py) whenever a case's records change."""

    __tablename__ = "pending_deadline"
    # The case's units are copied here so that a board reads its unit's deadlines, most urgent
    # first, from one index range (the policy's grants apply to these columns as to the case's).
    __table_args__ = (
        Index("ix_pending_deadline_due", "due_at"),
        # Covering: a board counts and orders a province's items without reading the table.
        Index(
            "ix_pending_deadline_owning_due",
            "owning_unit_id",
            "due_at",
            "case_id",
            "kind",
            "subject",
        ),
        Index(
            "ix_pending_deadline_handling_due",
            "handling_unit_id",
            "due_at",
            "case_id",
            "kind",
            "subject",
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owning_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    handling_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))


class DeadlineBasis(db.Model):
    """The rules and configuration (limits, public holidays, time zone) the pending deadlines were
    computed under: when they change, every open case's deadlines are computed again."""

    __tablename__ = "deadline_basis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    basis: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
