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
from sqlalchemy import Select, and_, bindparam, exists, false, func, or_, select, union
from sqlalchemy.orm import load_only

from casework.accounts.models import Unit, User
from casework.accounts.units import subtree_select
from casework.cases import vocab
from casework.cases.models import Case, CaseType, FollowUp
from casework.db import utcnow
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
    stmt: Select[Any],
    after: tuple[Any, Any] | None,
    size: int | None = None,
    oldest_first: bool = False,
) -> Select[Any]:
    """Newest first (or oldest first), after the cursor; one row more than a page tells whether
    another follows."""
    if after is not None:
        moment, last_id = after
        if oldest_first:
            beyond = or_(
                Case.received_at > moment, and_(Case.received_at == moment, Case.id > last_id)
            )
        else:
            beyond = or_(
                Case.received_at < moment, and_(Case.received_at == moment, Case.id < last_id)
            )
        stmt = stmt.where(beyond)
    order = (
        (Case.received_at.asc(), Case.id.asc())
        if oldest_first
        else (Case.received_at.desc(), Case.id.desc())
    )
    return stmt.order_by(*order).limit((size or PAGE_SIZE) + 1)


def as_is(stmt: Select[Any]) -> Select[Any]:
    return stmt


# What a list row shows (web and API: code, status, received, severity, risk, units, version):
# the rest of the case (its encrypted summary, times of later steps) is neither read nor
# converted for 25 rows that do not show it.
_ROW_COLUMNS = (
    Case.id,
    Case.code,
    Case.status,
    Case.received_at,
    Case.severity,
    Case.risk,
    Case.owning_unit_id,
    Case.handling_unit_id,
    Case.version,
)


# Every row shows its types: read with the row (sorted when remembered), not by a second query.
_TYPE_CODES = (
    select(func.aggregate_strings(CaseType.code, ","))
    .where(CaseType.case_id == Case.id)
    .correlate(Case)
    .scalar_subquery()
)


def _listed() -> Select[Any]:
    return select(Case, _TYPE_CODES).options(load_only(*_ROW_COLUMNS))


def page_query(
    branches: list[Select[Any]], after: str | None = None, where: Where = as_is
) -> Select[Any]:
    """One page of the cases the policy's branches yield: each branch filtered and paged by key
    on its own index, then the few rows merged (a single OR of the grants would read every case)."""
    cursor = _cursor(after)
    if not branches:
        return _listed().where(false())
    oldest = getattr(where, "oldest_first", False)
    pages = [
        _keyset(where(b), cursor, None, oldest).with_only_columns(Case.id).subquery()
        for b in branches
    ]
    ids = union(*(select(p.c.id) for p in pages))
    return _keyset(_listed().where(Case.id.in_(ids)), None, None, oldest)


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
        found = db.session.execute(stmt, params).all()
    else:
        found = db.session.execute(page_query(branches, after, where)).all()
    more = len(found) > PAGE_SIZE
    rows = []
    for case, codes in found[:PAGE_SIZE]:
        case.remember_type_codes(sorted(codes.split(",")) if codes else [])
        rows.append(case)
    cursor = f"{rows[-1].received_at.isoformat()}_{rows[-1].id}" if more and rows else None
    return rows, cursor


class Filters:
    """The list filters (status, severity, type, unit, overdue follow-ups, mine) and the order, as
    chosen; values outside the vocabulary are ignored. Filters only narrow what the policy's
    branches already allow, so no value can widen a list. `key` names the filters in use (and the
    order) and `params` their values, for the statement compiled once per combination
    (_cached_page)."""

    def __init__(self, args: Mapping[str, str], user: User) -> None:
        chosen: dict[str, Any] = {}
        if args.get("status") in vocab.STATUSES:
            chosen["f_status"] = args["status"]
        if args.get("severity") in vocab.SEVERITIES:
            chosen["f_severity"] = args["severity"]
        if args.get("type") in vocab.CASE_TYPES:
            chosen["f_type"] = args["type"]
        unit = args.get("unit", "")
        if unit.isascii() and unit.isdigit() and 0 < len(unit) < 10:
            chosen["f_unit"] = int(unit)
        if args.get("overdue") == "1":
            chosen["f_overdue"] = utcnow()
        if args.get("mine") == "1":
            chosen["f_mine"] = user.id
        self.oldest_first = args.get("order") == "oldest"
        self.params = chosen
        self.key = tuple(sorted(chosen)) + (("o_oldest",) if self.oldest_first else ())

        # One subtree query shared by every branch: a statement may name a CTE only once.
        self.units = _units_of(chosen)

    def __call__(self, stmt: Select[Any]) -> Select[Any]:
        return _apply(stmt, self.key, self.params, self.units)


def _units_of(values: Mapping[str, Any]) -> Select[Any] | None:
    """The unit filter's subtree (the unit and everything below it), when it is in use."""
    if "f_unit" not in values:
        return None
    return subtree_select(values["f_unit"], name="filter_units")


def _apply(
    stmt: Select[Any],
    key: tuple[str, ...],
    values: Mapping[str, Any],
    units: Select[Any] | None = None,
) -> Select[Any]:
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
    if units is not None:
        # Cases owned or handled in the unit's subtree.
        stmt = stmt.where(or_(Case.owning_unit_id.in_(units), Case.handling_unit_id.in_(units)))
    if "f_overdue" in key:
        stmt = stmt.where(
            exists().where(
                FollowUp.case_id == Case.id,
                FollowUp.status == "due",
                FollowUp.due_at < values["f_overdue"],
            )
        )
    if "f_mine" in key:
        stmt = stmt.where(Case.assigned_to_id == values["f_mine"])
    return stmt


def filter_units(user: User) -> list[Unit]:
    """The units a list can be narrowed to: those just below the user's own (none for a unit
    with nothing below it), current ones first by name."""
    if user.unit_id is None:
        return []
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.parent_id == user.unit_id, Unit.retired_at.is_(None))
            .order_by(Unit.name)
        )
    )


def filters(args: Mapping[str, str], user: User) -> Filters:
    """The list filters chosen in the query string (see Filters)."""
    return Filters(args, user)


@functools.lru_cache(maxsize=256)
def _cached_page(name: str, key: tuple[str, ...], has_cursor: bool, size: int) -> Select[Any]:
    """page_query over the policy's branch templates, with bound parameters: built and keyed
    once per list, filter combination and first/later page, so SQLAlchemy's compiled cache
    serves every request (building and keying the union anew cost more than running it). The page
    size is part of the key: a statement built for another size must not be served."""
    bound = {k: bindparam(k) for k in key if k.startswith("f_")}
    cursor = (bindparam("after_at"), bindparam("after_id")) if has_cursor else None
    templates = case_branch_templates(name)
    oldest = "o_oldest" in key
    units = _units_of(bound)
    pages = [
        _keyset(_apply(b, key, bound, units), cursor, size, oldest)
        .with_only_columns(Case.id)
        .subquery()
        for b in templates
    ]
    ids = union(*(select(p.c.id) for p in pages))
    return _keyset(_listed().where(Case.id.in_(ids)), None, size, oldest)
