"""The home page's dashboard, one per role: counts only, cheap queries, nothing identifying.

Officers see what falls due today and what is overdue for the cases of their unit (the deadlines
board's own computation); reviewers see their subtree at a glance (open cases by severity, overdue
items, what waits for their answer, quick reports received); partners see their referral queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import and_, func, select

from casework.accounts.models import User
from casework.accounts.units import subtree_select
from casework.cases.models import Case
from casework.cases.workflow import boards
from casework.cases.workflow.models import (
    ClosureRequest,
    Escalation,
    QuickReportDelivery,
)
from casework.db import utcnow
from casework.extensions import db
from casework.policy import Permission, can
from casework.policy.scopes import (
    pending_deadline_branches,
    supervised_cases_counted,
    visible_referrals,
)
from casework.reports.periods import report_tz

RECENT_DAYS = 7


@dataclass
class Dashboard:
    role: str
    counts: dict[str, int | str] = field(default_factory=dict)
    by_severity: dict[str | None, int] = field(default_factory=dict)
    items: list = field(default_factory=list)  # type: ignore[type-arg]


def _end_of_today() -> datetime:
    tz = report_tz()
    today = datetime.now(tz).date()
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)


def officer(user: User) -> Dashboard:
    """Due today and overdue, for the open cases the officer's unit works on."""
    now = utcnow()
    branches = pending_deadline_branches(user)
    items, _ = boards.pending_items(branches, _end_of_today(), limit=5)
    _, overdue = boards.pending_items(branches, now, limit=0)
    _, due_today = boards.pending_items(branches, _end_of_today(), limit=0, since=now)
    return Dashboard(
        "officer",
        counts={
            "overdue": boards.shown_count(overdue),
            "due_today": boards.shown_count(due_today),
        },
        items=items,
    )


def _subtree_cases(user: User) -> object:
    return supervised_cases_counted(user).where(Case.status != "closed").subquery()


def reviewer(user: User) -> Dashboard:
    """The subtree at a glance: its open cases by severity, overdue items (from the stored
    pending deadlines), and what waits for her answer."""
    now = utcnow()
    open_cases = _subtree_cases(user)
    by_severity = dict(
        db.session.execute(
            select(open_cases.c.severity, func.count()).group_by(open_cases.c.severity)
        ).all()
    )
    # Overdue items from the stored pending deadlines (by index), not by reading every case.
    overdue, capped = boards.overdue_by_kind(pending_deadline_branches(user), now)

    def shown(kind: str) -> int | str:
        return f"{overdue[kind]}+" if capped else overdue[kind]

    counts = {
        "overdue_follow_ups": shown("follow_up"),
        "overdue_referrals": shown("referral_answer"),
        "overdue_quick_reports": shown("quick_report"),
        "pending_escalations": _count(
            select(func.count(Escalation.id)).where(
                Escalation.status == "pending", Escalation.to_unit_id == user.unit_id
            )
        ),
        "pending_closures": _pending_closures(user),
        "quick_reports_recent": _count(
            select(func.count(QuickReportDelivery.id)).where(
                QuickReportDelivery.unit_id == user.unit_id,
                QuickReportDelivery.delivered_at >= now - timedelta(days=RECENT_DAYS),
            )
        ),
    }
    return Dashboard("reviewer", counts=counts, by_severity=by_severity)


def _pending_closures(user: User) -> int:
    """Closure requests a reviewer of this unit may decide: from units below it (a root unit's
    own requests are decided by its other reviewers)."""
    below = and_(
        ClosureRequest.handling_unit_id.in_(subtree_select(user.unit_id)),  # type: ignore[arg-type]
        ClosureRequest.handling_unit_id != user.unit_id,
    )
    if user.unit is not None and user.unit.parent_id is None:
        below = ClosureRequest.handling_unit_id.in_(subtree_select(user.unit_id))  # type: ignore[arg-type, assignment]
    return _count(
        select(func.count(ClosureRequest.id)).where(
            ClosureRequest.status == "pending",
            below,
            ClosureRequest.requested_by_id != user.id,
        )
    )


def partner(user: User) -> Dashboard:
    queue = visible_referrals(user).subquery()
    counts = dict(
        db.session.execute(select(queue.c.status, func.count()).group_by(queue.c.status)).all()
    )
    overdue = _count(
        select(func.count()).where(queue.c.status == "sent", queue.c.answer_due_at < utcnow())
    )
    return Dashboard(
        "partner",
        counts={
            "waiting": counts.get("sent", 0),
            "accepted": counts.get("accepted", 0),
            "in_service": counts.get("in_service", 0),
            "overdue": overdue,
        },
    )


def _count(stmt: object) -> int:
    return int(db.session.scalar(stmt) or 0)  # type: ignore[call-overload]


def for_user(user: User) -> Dashboard | None:
    """The dashboard of the user's role, or None (admins and auditors have their own pages)."""
    if can(user, Permission.CASE_SUPERVISE):  # reviewers
        return reviewer(user)
    if can(user, Permission.CASE_READ):  # officers
        return officer(user)
    if can(user, Permission.REFERRAL_WORK):  # partners' staff
        return partner(user)
    return None
