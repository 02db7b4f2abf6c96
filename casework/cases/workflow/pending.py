"""The pending deadlines: every deadline not yet met of every case not closed, kept in a table.

timers.py computes a case's deadlines from its records; the case file does so for its one case.
A board of a province's cases cannot: computing tens of thousands of cases' deadlines per request
is too slow, and reading only some of them would hide deadlines. So the deadlines not yet met are
stored (PendingDeadline), and boards, dashboards and the overdue alerts read them by index.

They are kept by the session, not by each service: every flush notes the cases whose records
changed (the case's own deadline fields, its types, actions, support, assessments, follow-ups,
quick reports, referrals and requests to act), and before the transaction commits those cases'
deadlines are computed again with timers.py and the stored rows brought in line, in the same
transaction. A reader settles the changes of its own session first, so it sees them too.

The limits, the public holidays and the time zone the rows were computed under are kept as a
fingerprint (DeadlineBasis); `casework init` and `casework deadlines check` compute every open
case again when the configuration or RULES_VERSION no longer matches it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from itertools import chain
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, delete, event, exists, insert, inspect, select, update
from sqlalchemy.orm.util import identity_key

from casework.cases.models import Action, Assessment, Case, CaseType, FollowUp, Support
from casework.cases.workflow.models import (
    ActionRequest,
    DeadlineBasis,
    PendingDeadline,
    QuickReport,
)
from casework.db import utcnow
from casework.extensions import db
from casework.referrals.models import Referral

# Raise when timers.py computes deadlines differently: deployed rows are then computed again.
RULES_VERSION = 1

# The records a case's deadlines are computed from (timers._facts), and the case's own fields.
_RECORDS = (CaseType, Action, Support, Assessment, FollowUp, QuickReport, Referral, ActionRequest)
_CASE_FIELDS = (
    "received_at",
    "child_involved",
    "immediate_danger",
    "sexual_violence",
    "gbv_type",
    "classified_at",
    "reportable_since",
    "severity",
    "status",
    "owning_unit_id",
    "handling_unit_id",
)
_CONFIG = (
    "DEADLINE_HOURS",
    "PUBLIC_HOLIDAYS",
    "CHILD_PLAN_WORKING_DAYS",
    "CONTACT_BAN_DAYS",
    "QUICK_REPORT_SEVERITIES",
    "QUICK_REPORT_HOURS",
    "BABEL_DEFAULT_TIMEZONE",
)
_TODO = "casework.pending_deadlines"
_BORN = "casework.cases_created"  # the cases this transaction created: no one else has seen them
BATCH = 500

Key = tuple[uuid.UUID, str, str]


# --- Noting and settling changes ---------------------------------------------------------------


def _changed(case: Case) -> bool:
    state = inspect(case)
    return any(state.attrs[name].history.has_changes() for name in _CASE_FIELDS)


def _note(session: Any, _flush_context: Any) -> None:
    """after_flush: remember the cases whose deadlines may have changed (the session's lists
    still hold what was flushed, with the ids now assigned)."""
    todo: set[uuid.UUID] | None = None
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Case):
            found = (
                obj.id if (obj in session.new or obj in session.deleted or _changed(obj)) else None
            )
        elif isinstance(obj, _RECORDS):
            found = obj.case_id
        else:
            continue
        if found is not None:
            if todo is None:
                todo = session.info.setdefault(_TODO, set())
            todo.add(found)
            if isinstance(obj, Case) and obj in session.new:
                session.info.setdefault(_BORN, set()).add(found)


def _forget_at_end(session: Any, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_TODO, None)
        session.info.pop(_BORN, None)


def settle(session: Any = None) -> None:
    """Bring the stored rows in line with the session's changes so far (flushing them first)."""
    if session is None:
        session = db.session()
    session.flush()
    while todo := session.info.pop(_TODO, None):
        refresh(todo, session)


def install(session_class: Any) -> None:
    """Keep the pending deadlines with every session (idempotent; called from create_app)."""
    for name, hook in (
        ("after_flush", _note),
        ("before_commit", settle),
        # Only when the whole transaction ends: a savepoint rolled back keeps what the outer
        # transaction changed (computing a case again for nothing is harmless).
        ("after_transaction_end", _forget_at_end),
    ):
        if not event.contains(session_class, name, hook):
            event.listen(session_class, name, hook)


# --- Computing and storing ----------------------------------------------------------------------


def _batches(ids: Iterable[uuid.UUID], size: int = BATCH) -> Iterable[list[uuid.UUID]]:
    chunk: list[uuid.UUID] = []
    for case_id in ids:
        chunk.append(case_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# What a batch of cases has at all is asked in one query first: the records timers.py reads by
# case, and the stored rows. A case with few kinds of record is then not read once per kind, and a
# new case (none of them) only once.
_PROBED = (
    Action,
    Support,
    Assessment,
    FollowUp,
    QuickReport,
    Referral,
    ActionRequest,
    PendingDeadline,
)


_PROBE = select(*(exists().where(m.case_id.in_(bindparam("ids", expanding=True))) for m in _PROBED))


def _empty(session: Any, case_ids: list[uuid.UUID]) -> frozenset[type]:
    """The probed models with no row of these cases."""
    found = session.execute(_PROBE, {"ids": case_ids}).one()
    return frozenset(model for model, has in zip(_PROBED, found, strict=True) if not has)


def _unmet(cases: list[Case], empty: frozenset[type]) -> dict[Key, tuple[Any, int, int]]:
    """(due, owning unit, handling unit) of each unmet deadline of the cases."""
    from casework.cases.workflow import timers

    units = {c.id: (c.owning_unit_id, c.handling_unit_id) for c in cases}
    return {
        (case_id, d.kind, d.subject): (d.due_at, *units[case_id])
        for case_id, deadlines in timers.deadlines_for_cases(cases, empty).items()
        for d in deadlines
        if d.done_at is None
    }


_TABLE = PendingDeadline.__table__  # Core statements: many rows in one executemany
_KEY = (
    _TABLE.c.case_id == bindparam("c"),
    _TABLE.c.kind == bindparam("k"),
    _TABLE.c.subject == bindparam("s"),
)
_DELETE = delete(_TABLE).where(*_KEY)
_MOVE = (
    update(_TABLE)
    .where(*_KEY)
    .values(due_at=bindparam("d"), owning_unit_id=bindparam("o"), handling_unit_id=bindparam("h"))
)


_STORED = select(
    _TABLE.c.case_id,
    _TABLE.c.kind,
    _TABLE.c.subject,
    _TABLE.c.due_at,
    _TABLE.c.owning_unit_id,
    _TABLE.c.handling_unit_id,
).where(_TABLE.c.case_id.in_(bindparam("ids", expanding=True)))


def _created_here(session: Any, chunk: list[uuid.UUID]) -> list[Case] | None:
    """The cases as this session holds them, when this transaction created every one of them (an
    intake): no other transaction can have seen, let alone changed, them, so there is nothing to
    lock or read again. None when one is no longer held as it was flushed.

    This relies on every change to a case going through the ORM (the service layer): nothing
    updates case_file with a Core or text statement, which would leave the object stale."""
    cases = []
    for case_id in chunk:
        case = session.identity_map.get(identity_key(Case, case_id))
        if case is None or inspect(case).expired or case in session.deleted:
            return None
        if case.status != "closed":
            cases.append(case)
    return cases


def refresh(case_ids: Iterable[uuid.UUID], session: Any = None) -> int:
    """Compute the cases' deadlines again and store the unmet ones of the cases not closed;
    returns how many stored rows changed."""
    if session is None:
        session = db.session()
    changed = 0
    born = session.info.get(_BORN, set())
    for chunk in _batches(sorted(set(case_ids))):
        cases = _created_here(session, chunk) if born.issuperset(chunk) else None
        if cases is None:
            # The cases locked (PostgreSQL; SQLite's writers already take turns) and every record
            # read afresh: a request that loaded the case before another one moved it must not
            # write the old units or deadlines back. The session has flushed: nothing is lost.
            session.expire_all()
            cases = list(
                session.scalars(
                    select(Case)
                    .where(Case.id.in_(chunk), Case.status != "closed")
                    .order_by(Case.id)
                    .with_for_update()
                )
            )
        empty = _empty(session, chunk)
        wanted = _unmet(cases, empty) if cases else {}
        stored: dict[Key, tuple[Any, int, int]] = {
            (r.case_id, r.kind, r.subject): (r.due_at, r.owning_unit_id, r.handling_unit_id)
            for r in ([] if PendingDeadline in empty else session.execute(_STORED, {"ids": chunk}))
        }
        gone = [{"c": k[0], "k": k[1], "s": k[2]} for k in stored.keys() - wanted.keys()]
        moved = [
            {"c": k[0], "k": k[1], "s": k[2], "d": v[0], "o": v[1], "h": v[2]}
            for k, v in wanted.items()
            if k in stored and stored[k] != v
        ]
        new = [
            {
                "case_id": k[0],
                "kind": k[1],
                "subject": k[2],
                "due_at": v[0],
                "owning_unit_id": v[1],
                "handling_unit_id": v[2],
            }
            for k, v in wanted.items()
            if k not in stored
        ]
        if gone:
            session.execute(_DELETE, gone)
        if moved:
            session.execute(_MOVE, moved)
        if new:
            session.execute(insert(_TABLE), new)
        changed += len(gone) + len(moved) + len(new)
    return changed


def basis() -> str:
    """The fingerprint of the rules and configuration the deadlines are computed under."""
    config = current_app.config
    values = {name: config[name] for name in _CONFIG}
    values["PUBLIC_HOLIDAYS"] = sorted(values["PUBLIC_HOLIDAYS"])
    text = json.dumps({"rules": RULES_VERSION, **values}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def rebuild(progress: Any = None) -> int:
    """Compute every open case's deadlines again (one committed transaction per batch, so the
    boards keep their rows meanwhile), drop those of closed cases, and record the basis."""
    session = db.session()
    settle(session)
    changed = 0
    last: uuid.UUID | None = None
    while True:
        stmt = select(Case.id).where(Case.status != "closed").order_by(Case.id).limit(BATCH)
        if last is not None:
            stmt = stmt.where(Case.id > last)
        ids = list(session.scalars(stmt))
        if not ids:
            break
        last = ids[-1]
        changed += refresh(ids, session)
        session.commit()  # the session's identity map is weak: the batch's cases go with it
        if progress is not None:
            progress(len(ids))
    closed = select(Case.id).where(Case.status == "closed")
    changed += session.execute(
        delete(PendingDeadline).where(PendingDeadline.case_id.in_(closed))
    ).rowcount
    record_basis()
    session.commit()
    return changed


def record_basis() -> None:
    """Note that the stored rows follow today's rules and configuration."""
    row = db.session.get(DeadlineBasis, 1)
    if row is None:
        db.session.add(DeadlineBasis(id=1, basis=basis()))
    else:
        row.basis, row.built_at = basis(), utcnow()


def current() -> bool:
    """Whether the stored rows were computed under today's rules and configuration."""
    row = db.session.get(DeadlineBasis, 1)
    return row is not None and row.basis == basis()


def ensure_current() -> int | None:
    """Rebuild when the basis changed (returns the rows changed), else None."""
    if current():
        return None
    return rebuild()
