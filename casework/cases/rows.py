"""A case's records of one kind, read from the database once per page.

The case file shows the same records in several places (the timeline and the deadlines both read
the actions; the referral list, the timeline and the deadlines all read the referrals), so a page
asks for them here: the first call queries, later ones reuse the rows. What is remembered is
forgotten at every flush and at the end of every transaction, and unflushed changes are always
read afresh, so no page shows rows older than its own changes.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, select

from casework.extensions import db

_ROWS = "casework.case_rows"


def of_case(model: type, case_id: uuid.UUID) -> list[Any]:
    """Every row of the model that belongs to the case, in no particular order (callers sort)."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
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
