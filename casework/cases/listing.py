"""Case lists: one page of the cases the policy's branches yield, newest first, paged by key.

Shared by the web lists (cases/views.py) and the API (api/cases.py): the same grants, the same
filters and the same order, so a list can never show through one door what the other refuses.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import abort
from sqlalchemy import Select, and_, bindparam, exists, false, or_, select, union
from sqlalchemy.orm import selectinload

from casework.accounts.models import User
from casework.cases import vocab
from casework.cases.models import Case, CaseType
from casework.extensions import db
from casework.policy.scopes import case_branch_templates

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


def _keyset(
    stmt: Select[Any], after: tuple[Any, Any] | None, size: int | None = None
) -> Select[Any]:
    """Newest first, after the cursor; one row more than a page tells whether another follows."""
    if after is not None:
        moment, last_id = after
        stmt = stmt.where(
            or_(
                Case.received_at < moment,
                and_(Case.received_at == moment, Case.id < last_id),
            )
        )
    return stmt.order_by(Case.received_at.desc(), Case.id.desc()).limit((size or PAGE_SIZE) + 1)


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
    name = getattr(branches, "name", "")
    key = getattr(where, "key", None) if where is not as_is else ()
    if branches and name and key is not None:
        cursor = _cursor(after)
        stmt = _cached_page(name, key, cursor is not None, PAGE_SIZE)
        params = {**branches.params, **getattr(where, "params", {})}  # type: ignore[attr-defined]
        if cursor is not None:
            params.update(after_at=cursor[0], after_id=cursor[1])
        rows = list(db.session.scalars(stmt, params))
    else:
        # Types are shown on every row: load them with the page, not one query per case.
        stmt = page_query(branches, after, where).options(selectinload(Case.types))
        rows = list(db.session.scalars(stmt))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    cursor = f"{rows[-1].received_at.isoformat()}_{rows[-1].id}" if more and rows else None
    return rows, cursor


class Filters:
    """The list filters (status, severity, type, mine) as chosen; values outside the vocabulary
    are ignored. `key` names the filters in use and `params` their values, for the statement
    compiled once per combination (_cached_page)."""

    def __init__(self, args: Mapping[str, str], user: User) -> None:
        chosen: dict[str, Any] = {}
        if args.get("status") in vocab.STATUSES:
            chosen["f_status"] = args["status"]
        if args.get("severity") in vocab.SEVERITIES:
            chosen["f_severity"] = args["severity"]
        if args.get("type") in vocab.CASE_TYPES:
            chosen["f_type"] = args["type"]
        if args.get("mine") == "1":
            chosen["f_mine"] = user.id
        self.params = chosen
        self.key = tuple(sorted(chosen))

    def __call__(self, stmt: Select[Any]) -> Select[Any]:
        return _apply(stmt, self.key, self.params)


def _apply(stmt: Select[Any], key: tuple[str, ...], values: Mapping[str, Any]) -> Select[Any]:
    """The filters named in key, with values or bound parameters alike (one definition)."""
    if "f_status" in key:
        stmt = stmt.where(Case.status == values["f_status"])
    if "f_severity" in key:
        stmt = stmt.where(Case.severity == values["f_severity"])
    if "f_type" in key:
        # Checked per row by key: an IN list would first gather every case of that type.
        stmt = stmt.where(
            exists().where(CaseType.case_id == Case.id, CaseType.code == values["f_type"])
        )
    if "f_mine" in key:
        stmt = stmt.where(Case.assigned_to_id == values["f_mine"])
    return stmt


def filters(args: Mapping[str, str], user: User) -> Filters:
    """The list filters chosen in the query string (see Filters)."""
    return Filters(args, user)


@functools.lru_cache(maxsize=256)
def _cached_page(name: str, key: tuple[str, ...], has_cursor: bool, size: int) -> Select[Any]:
    """page_query over the policy's branch templates, with bound parameters: built and keyed
    once per list, filter combination and first/later page, so SQLAlchemy's compiled cache
    serves every request (building and keying the union anew cost more than running it). The page
    size is part of the key: a statement built for another size must not be served."""
    bound = {k: bindparam(k) for k in key}
    cursor = (bindparam("after_at"), bindparam("after_id")) if has_cursor else None
    templates = case_branch_templates(name)
    pages = [
        _keyset(_apply(b, key, bound), cursor, size).with_only_columns(Case.id).subquery()
        for b in templates
    ]
    ids = union(*(select(p.c.id) for p in pages))
    stmt = _keyset(select(Case).where(Case.id.in_(ids)), None, size)
    return stmt.options(selectinload(Case.types))
