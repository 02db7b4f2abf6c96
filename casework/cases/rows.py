"""A case's records of one kind, read from the database once per page.

The case file shows the same records in several places (the timeline and the deadlines both read
the actions; the referral list, the timeline and the deadlines all read the referrals), so a page
asks for them here: the first call queries, later ones reuse the rows. What is remembered is
forgotten at every flush and at the end of every transaction, and unflushed changes are always
read afresh, so no page shows rows older than its own changes.

A page that shows many kinds of record probes first (`probe`): one query says which kinds the case
has no row of, and those are then answered without a query (`of_case` returns nothing, `none_of`
says so to sections that read with their own query). Most cases have none of most kinds: no
attachment, escalation or legal hold, so the file reads what the case has, not every table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, event, exists, select

from casework.extensions import db

_ROWS = "casework.case_rows"


def _unsettled(session: Any) -> bool:
    return bool(session.new or session.dirty or session.deleted)


@lru_cache(maxsize=16)
def _probe_statement(models: tuple[type, ...]) -> Any:
    return select(*(exists().where(m.case_id == bindparam("case_id")) for m in models))  # type: ignore[attr-defined]


def probe(case_id: uuid.UUID, models: Sequence[type]) -> None:
    """Find out in one query which of the models (each with an indexed case_id) have no row of
    the case, and remember it as rows are remembered."""
    session = db.session()
    if _unsettled(session):
        return
    models = tuple(models)
    found = session.execute(_probe_statement(models), {"case_id": case_id}).one()
    memo: dict[tuple[type, uuid.UUID], list[Any]] = session.info.setdefault(_ROWS, {})
    for model, has in zip(models, found, strict=True):
        if not has:
            memo.setdefault((model, case_id), [])


def none_of(model: type, case_id: uuid.UUID) -> bool:
    """Whether the case is known (by a probe or an earlier read) to have no row of the model;
    False when it is not known."""
    session = db.session()
    if _unsettled(session):
        return False
    memo = session.info.get(_ROWS)
    return memo is not None and memo.get((model, case_id)) == []


def of_case(model: type, case_id: uuid.UUID) -> list[Any]:
    """Every row of the model that belongs to the case, in no particular order (callers sort)."""
    session = db.session()
    if _unsettled(session):
        return list(session.scalars(select(model).where(model.case_id == case_id)))  # type: ignore[attr-defined]
    memo: dict[tuple[type, uuid.UUID], list[Any]] = session.info.setdefault(_ROWS, {})
    key = (model, case_id)
    if key not in memo:
        memo[key] = list(session.scalars(select(model).where(model.case_id == case_id)))  # type: ignore[attr-defined]
    return list(memo[key])


def forget(session: Any, *_args: Any) -> None:
    """Session hook (after_flush, after_transaction_end): drop the remembered rows."""
    session.info.pop(_ROWS, None)


def install(session_class: Any) -> None:
    """Attach forget to every session (idempotent; called from create_app)."""
    for name in ("after_flush", "after_transaction_end", "after_soft_rollback"):
        if not event.contains(session_class, name, forget):
            event.listen(session_class, name, forget)
