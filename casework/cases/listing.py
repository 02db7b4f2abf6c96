"""Case lists: one page of the cases the policy's branches yield, newest first, paged by key.

Shared by the web lists (cases/views.py) and the API (api/cases.py): the same grants, the same
filters and the same order, so a list can never show through one door what the other refuses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import abort
from sqlalchemy import Select, and_, exists, false, or_, select, union
from sqlalchemy.orm import selectinload

from casework.accounts.models import User
from casework.cases import vocab
from casework.cases.models import Case, CaseType
from casework.extensions import db

PAGE_SIZE = 25

Where = Callable[[Select[Any]], Select[Any]]


def _cursor(after: str | None) -> tuple[datetime, uuid.UUID] | None:
    """`after` is "<received_at ISO>_<id>" of the last row shown (no personal data)."""
    if not after:
        return None
    try:
        stamp, _, ident = after.partition("_")
        return datetime.fromisoformat(stamp), uuid.UUID(ident)
    except ValueError:
        abort(400)


def _keyset(stmt: Select[Any], after: tuple[datetime, uuid.UUID] | None) -> Select[Any]:
    """Newest first, after the cursor; one row more than a page tells whether another follows."""
    if after is not None:
        moment, last_id = after
        stmt = stmt.where(
            or_(
                Case.received_at < moment,
                and_(Case.received_at == moment, Case.id < last_id),
            )
        )
    return stmt.order_by(Case.received_at.desc(), Case.id.desc()).limit(PAGE_SIZE + 1)


def as_is(stmt: Select[Any]) -> Select[Any]:
    return stmt


def page_query(
    branches: list[Select[Any]], after: str | None = None, where: Where = as_is
) -> Select[Any]:
    """One page of the cases the policy's branches yield: each branch filtered and paged by key
    on its own index, then the few rows merged (a single OR of the grants would read every case)."""
    cursor = _cursor(after)
    if not branches:
        return select(Case).where(false())
    pages = [_keyset(where(b), cursor).with_only_columns(Case.id).subquery() for b in branches]
    ids = union(*(select(p.c.id) for p in pages))
    return _keyset(select(Case).where(Case.id.in_(ids)), None)


def page(
    branches: list[Select[Any]], after: str | None, where: Where = as_is
) -> tuple[list[Case], str | None]:
    """The page's cases and the cursor of the next page (None on the last)."""
    # Types are shown on every row: load them with the page, not one query per case.
    stmt = page_query(branches, after, where).options(selectinload(Case.types))
    rows = list(db.session.scalars(stmt))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    cursor = f"{rows[-1].received_at.isoformat()}_{rows[-1].id}" if more and rows else None
    return rows, cursor


def filters(args: Mapping[str, str], user: User) -> Where:
    """The list filters (status, severity, type, mine); values outside the vocabulary are ignored."""

    def where(stmt: Select[Any]) -> Select[Any]:
        if args.get("status") in vocab.STATUSES:
            stmt = stmt.where(Case.status == args["status"])
        if args.get("severity") in vocab.SEVERITIES:
            stmt = stmt.where(Case.severity == args["severity"])
        if args.get("type") in vocab.CASE_TYPES:
            # Checked per row by key: an IN list would first gather every case of that type.
            stmt = stmt.where(
                exists().where(CaseType.case_id == Case.id, CaseType.code == args["type"])
            )
        if args.get("mine") == "1":
            stmt = stmt.where(Case.assigned_to_id == user.id)
        return stmt

    return where
