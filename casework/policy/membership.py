"""The policy's memory of who belongs to a case's file, per database session.

A page asks can() of one case a dozen times; the memberships it needs (recusal, and the units whose
staff read the file) are read from the database once per session state and forgotten at every flush
and at the end of every transaction, so no decision outlives a change that could alter it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casework.accounts.models import User
    from casework.cases.models import Case

_KEY = "casework.policy.membership"


def file_membership(user: User, case: Case) -> tuple[bool, frozenset[int]]:
    """(recused, file units) of a user and a case. File units are those whose staff read the full
    file: the owning unit, the handling unit, and every unit that handled it before an escalation
    or take-over moved it up (they can be asked to act). From the database once per state: a
    page asks can() of one case a dozen times. Forgotten at every flush and at the end of every
    transaction (see forget_membership), so no decision outlives a change that could alter it."""
    from casework.extensions import db

    session = db.session()
    memo: dict[tuple[Any, ...], tuple[bool, frozenset[int]]] = session.info.setdefault(_KEY, {})
    key = (user.id, case.id, case.owning_unit_id, case.handling_unit_id)
    # Unflushed changes (a recusal just added) are seen only by a query, which flushes them first.
    known = None if session.new or session.dirty or session.deleted else memo.get(key)
    if known is None:
        rows = session.execute(_statement(), {"user_id": user.id, "case_id": case.id}).all()
        known = memo[key] = (
            any(kind == "recusal" for kind, _unit in rows),
            frozenset(
                {
                    case.owning_unit_id,
                    case.handling_unit_id,
                    *(unit for kind, unit in rows if kind == "escalation"),
                }
            ),
        )
    return known


@functools.cache
def _statement() -> Any:
    """The user's recusal from a case and the case's accepted escalations, in one statement built
    once (with bound parameters): every view of a file asks, and building the statement cost
    more than running it."""
    from sqlalchemy import Integer, bindparam, literal, null, select, union_all

    from casework.cases.models import Recusal
    from casework.cases.workflow.models import Escalation

    recusal = select(literal("recusal").label("kind"), null().cast(Integer).label("unit")).where(
        Recusal.user_id == bindparam("user_id"), Recusal.case_id == bindparam("case_id")
    )
    escalations = select(literal("escalation"), Escalation.from_unit_id).where(
        Escalation.case_id == bindparam("case_id"), Escalation.status == "accepted"
    )
    return union_all(recusal, escalations)


def forget_membership(session: Any, *_args: Any) -> None:
    """Session hook (after_flush, after_transaction_end): drop the remembered memberships."""
    session.info.pop(_KEY, None)


def install(session_class: Any) -> None:
    """Attach forget_membership to every session (idempotent; called from create_app)."""
    from sqlalchemy import event

    for name in ("after_flush", "after_transaction_end", "after_soft_rollback"):
        if not event.contains(session_class, name, forget_membership):
            event.listen(session_class, name, forget_membership)
