"""The stored pending deadlines, read: the deadlines board, the dashboards' counts and the overdue
alerts.

timers.py computes a case's deadlines; pending.py keeps the unmet ones of every open case in a table
(PendingDeadline) at every commit. Everything here reads that table by index, one query per grant
of the policy (policy.scopes.pending_deadline_branches), so a province's board costs the same at a
thousand cases as at a million.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from casework.accounts.models import User
from casework.cases.models import Case
from casework.cases.workflow.models import PendingDeadline
from casework.cases.workflow.timers import Deadline
from casework.db import utcnow
from casework.extensions import db

BOARD_HORIZON = timedelta(days=1)
COUNT_MAX = 1000  # a board counts its items up to this; past it, it says "more than"


@dataclass
class Board:
    """The most urgent unmet deadlines a user's board lists (at most the limit asked), and how
    many there are in all (counted up to COUNT_MAX: `more` says there are more than that)."""

    items: list[tuple[Case, Deadline]]
    total: int
    more: bool = False
    # Where the next page starts (None: nothing after these), and whether this is a later page.
    next_after: Cursor | None = None
    later: bool = False


Cursor = tuple[datetime, uuid.UUID, str, str]  # (due, case, kind, subject) of the last item shown


def pending_items(
    branches: list[Any],
    until: datetime,
    limit: int | None = None,
    since: datetime | None = None,
    after: Cursor | None = None,
) -> tuple[list[tuple[Case, Deadline]], int]:
    """The unmet deadlines due by `until` (overdue ones included) of the cases the policy's
    branches grant (scopes.pending_deadline_branches), earliest first, at most `limit`; and how
    many there are, counted up to COUNT_MAX + 1 (shown_count writes it). `since`: only those not
    due before it. `after`: only those that come after this item in the board's order (the
    count is still of them all). Each branch reads its own index range, most urgent first, from
    the stored pending deadlines."""
    from sqlalchemy import and_, literal, or_, type_coerce, union, union_all
    from sqlalchemy.types import NullType

    from casework.cases.workflow import pending

    pending.settle()
    if not branches:
        return [], 0
    key = (PendingDeadline.case_id, PendingDeadline.kind, PendingDeadline.subject)
    due = [b.where(PendingDeadline.due_at <= until) for b in branches]
    if since is not None:  # not yet overdue
        due = [b.where(PendingDeadline.due_at >= since) for b in due]
    # Counted up to the limit per grant (each from its own index, without reading the table),
    # then merged here: a deadline two grants yield counts once; a grant past the limit means
    # more than the limit in all. A UNION would read every row of every grant before counting.
    # (The ids are compared as the driver gives them: no conversion of thousands of UUIDs.)
    raw = (type_coerce(PendingDeadline.case_id, NullType()).label("case_id"), *key[1:])
    capped = [b.with_only_columns(*raw).limit(COUNT_MAX + 1).subquery() for b in due]
    rows = db.session.execute(
        union_all(*(select(literal(i).label("grant"), c) for i, c in enumerate(capped)))
    ).all()
    per_grant = Counter(r[0] for r in rows)
    total = len({tuple(r[1:]) for r in rows})
    if max(per_grant.values(), default=0) > COUNT_MAX:
        total = COUNT_MAX + 1
    if limit == 0:
        return [], total
    if after is not None:
        d, c, k, s = after
        P = PendingDeadline
        beyond = or_(
            P.due_at > d,
            and_(
                P.due_at == d,
                or_(
                    P.case_id > c,
                    and_(P.case_id == c, or_(P.kind > k, and_(P.kind == k, P.subject > s))),
                ),
            ),
        )
        due = [b.where(P.due_at >= d, beyond) for b in due]
    cols = (*key, PendingDeadline.due_at)
    order = (*(PendingDeadline.due_at, PendingDeadline.case_id), *key[1:])
    firsts = [b.with_only_columns(*cols).order_by(*order).limit(limit).subquery() for b in due]
    merged = union(*(select(f) for f in firsts)).subquery()
    stmt = select(merged).order_by(
        merged.c.due_at, merged.c.case_id, merged.c.kind, merged.c.subject
    )
    rows = db.session.execute(stmt.limit(limit)).all()
    wanted = {r.case_id for r in rows}
    found = select(Case).where(Case.id.in_(wanted)).options(joinedload(Case.handling_unit))
    cases = {c.id: c for c in db.session.scalars(found)} if wanted else {}
    items = [
        (cases[r.case_id], Deadline(r.case_id, r.kind, r.due_at, None, r.subject)) for r in rows
    ]
    return items, total


def overdue_by_kind(branches: list[Any], now: datetime) -> tuple[Counter[str], bool]:
    """How many deadlines of each kind the branches' cases have overdue (counted up to COUNT_MAX
    per grant), and whether a grant had more than that (the counts are then lower bounds)."""
    from sqlalchemy import literal, type_coerce, union_all
    from sqlalchemy.types import NullType

    from casework.cases.workflow import pending

    pending.settle()
    if not branches:
        return Counter(), False
    raw = (
        type_coerce(PendingDeadline.case_id, NullType()).label("case_id"),
        PendingDeadline.kind,
        PendingDeadline.subject,
    )
    capped = [
        b.where(PendingDeadline.due_at < now)
        .with_only_columns(*raw)
        .limit(COUNT_MAX + 1)
        .subquery()
        for b in branches
    ]
    rows = db.session.execute(
        union_all(*(select(literal(i).label("grant"), c) for i, c in enumerate(capped)))
    ).all()
    per_grant = Counter(r[0] for r in rows)
    kinds = Counter(kind for _case, kind, _subject in {tuple(r[1:]) for r in rows})
    return kinds, max(per_grant.values(), default=0) > COUNT_MAX


def shown_count(n: int) -> int | str:
    """A count as a page shows it: past COUNT_MAX, "1000+"."""
    return f"{COUNT_MAX}+" if n > COUNT_MAX else n


def board(user: User, limit: int | None = None, after: Cursor | None = None) -> Board:
    """The deadlines board: unmet deadlines overdue or due within a day, of the unit's cases; for
    reviewers, of the whole subtree (the web page and the API both show this). Every case counts,
    however many: the deadlines are read from the stored pending deadlines by index. A page shows
    at most `limit` of them, from `after` on (the page before's next_after); the data-subject
    requests' deadlines, few, are all on the first page."""
    from casework.dataprotection import service as data_requests
    from casework.policy import Permission, require
    from casework.policy.scopes import pending_deadline_branches

    require(user, Permission.CASE_READ)
    wanted = None if limit is None else limit + 1  # one more tells whether a page follows
    items, total = pending_items(
        pending_deadline_branches(user), utcnow() + BOARD_HORIZON, wanted, after=after
    )
    next_after = None
    if limit is not None and len(items) > limit:
        items = items[:limit]
        case, last = items[-1]
        next_after = (last.due_at, case.id, last.kind, last.subject)
    # Data-subject requests run on closed cases too (erasure is often asked after closure).
    asked = [] if after is not None else data_requests.deadline_items(user)
    more = total > COUNT_MAX
    return Board(
        sorted(items + asked, key=lambda pair: pair[1].due_at),
        COUNT_MAX if more else total + len(asked),
        more=more,
        next_after=next_after,
        later=after is not None,
    )


def notify_overdue(now: datetime | None = None, batch: int = 500) -> int:
    """Tell the parent unit's reviewers, once, of every deadline that has passed unmet.

    Run by `casework deadlines check` from cron; reads the same pending deadlines as the boards.
    """
    from casework import audit
    from casework.audit import Tag
    from casework.cases.workflow import pending
    from casework.cases.workflow.models import DeadlineAlert
    from casework.cases.workflow.notifications import notify, reviewers_of

    now = now or utcnow()
    pending.settle()
    told = exists().where(
        DeadlineAlert.case_id == PendingDeadline.case_id,
        DeadlineAlert.kind == PendingDeadline.kind,
        DeadlineAlert.subject == PendingDeadline.subject,
    )
    stmt = (
        select(PendingDeadline, Case)
        .join(Case, Case.id == PendingDeadline.case_id)
        .where(PendingDeadline.due_at < now, Case.status != "closed", ~told)
        .order_by(PendingDeadline.due_at, PendingDeadline.case_id, PendingDeadline.kind)
        .limit(batch)
    )
    alerted = 0
    while rows := db.session.execute(stmt).all():
        for row, case in rows:
            db.session.add(
                DeadlineAlert(
                    case_id=case.id, kind=row.kind, subject=row.subject, due_at=row.due_at
                )
            )
            unit = case.handling_unit
            targets = (
                reviewers_of(unit.parent_id)
                if unit.parent_id is not None
                else reviewers_of(unit.id)
            )
            notify(targets, f"overdue:{row.kind}", case, urgent=True)
            audit.record(None, Tag.DEADLINE_OVERDUE, case, kind=row.kind)
            alerted += 1
        db.session.flush()
    return alerted
