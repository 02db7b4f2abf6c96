"""The case's state machine (DESIGN.md §4) and the one function that moves a case along it.

Every status change, whichever service makes it, goes through `move`: it refuses a step the machine
does not allow with a clear message, and records who, when, from, to and why, with its audit event,
in the caller's transaction.
"""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases import vocab
from casework.cases.models import Case
from casework.cases.workflow.models import Transition
from casework.db import utcnow
from casework.errors import InvalidTransition
from casework.extensions import db

# open → active → monitoring → closure_requested → closed; a refused closure and a reopened case
# return to active; a case under monitoring may return to active handling, and an active case may
# ask for closure without a monitoring period.
TRANSITIONS: dict[str, set[str]] = {
    "open": {"active"},
    "active": {"monitoring", "closure_requested"},
    "monitoring": {"active", "closure_requested"},
    "closure_requested": {"closed", "active"},
    "closed": {"active"},
}

# Where escalations and take-overs may happen: not while a closure waits for its decision (the
# decision belongs to the units above the handling unit at the time of the request), nor once closed.
MOVABLE = frozenset({"open", "active", "monitoring"})


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, set())


def move(actor: User, case: Case, to_status: str, reason: str | None = None) -> Transition:
    """Change the case's status if the state machine allows it; record and audit the step."""
    if not allowed(case.status, to_status):
        raise InvalidTransition(
            _l(
                "A case that is %(current)s cannot become %(target)s.",
                current=vocab.STATUSES.get(case.status, case.status),
                target=vocab.STATUSES.get(to_status, to_status),
            )
        )
    step = Transition(
        id=uuid.uuid4(),
        case_id=case.id,
        from_status=case.status,
        to_status=to_status,
        by_id=actor.id,
    )
    step.reason = reason
    db.session.add(step)
    case.status = to_status
    case.updated_at = utcnow()
    db.session.flush()
    audit.record(
        actor, Tag.CASE_TRANSITION, case, from_status=step.from_status, to_status=to_status
    )
    return step
