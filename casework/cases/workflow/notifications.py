"""In-app notifications: one row per user, its text built from the kind and the case code only."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from casework.accounts.models import User
from casework.cases.models import Case
from casework.cases.workflow.models import Notification
from casework.db import utcnow
from casework.extensions import db
from casework.policy import Permission, Role, require


def reviewers_of(unit_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.unit_id == unit_id, User.role == Role.REVIEWER, User.active.is_(True)
            )
        )
    )


def notify(
    users: list[User],
    kind: str,
    case: Case | None,
    subject_id: uuid.UUID | None = None,
    *,
    urgent: bool = False,
    exclude: User | None = None,
) -> int:
    """One notification per user; the text shown is built from kind and case code only."""
    count = 0
    for user in users:
        if exclude is not None and user.id == exclude.id:
            continue
        db.session.add(
            Notification(
                user_id=user.id,
                kind=kind,
                case_id=case.id if case else None,
                subject_id=subject_id,
                urgent=urgent,
            )
        )
        count += 1
    db.session.flush()
    return count


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def inbox(user: User, limit: int = 50) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.read_at.is_not(None), Notification.created_at.desc())
            .limit(limit)
        )
    )


def mark_read(user: User, notification: Notification) -> None:
    if notification.user_id != user.id:
        require(user, Permission.ACCOUNT_SELF, notification)  # refused: someone else's
    if notification.read_at is None:
        notification.read_at = utcnow()
