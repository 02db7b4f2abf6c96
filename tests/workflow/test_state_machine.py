"""Random sequences of workflow actions by random people never break the rules of DESIGN.md §4."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.cases import service as cases
from casework.cases.workflow import service as wf
from casework.cases.workflow.models import Transition
from casework.cases.workflow.states import allowed
from casework.errors import DomainError
from casework.extensions import db
from casework.policy import NotPermitted
from tests.cases.conftest import open_case
from tests.conftest import make_user

ACTIONS = (
    "classify",
    "request_escalation",
    "accept",
    "return",
    "take_over",
    "monitor",
    "resume",
    "request_closure",
    "approve",
    "refuse",
    "reopen",
)
ACTORS = (
    "officer_c1",
    "officer_c2",
    "reviewer_d1",
    "reviewer_d2",
    "reviewer_hy",
    "reviewer_tw",
    "reviewer_tw_b",
    "admin",
    "auditor",
)


def _do(action, actor, case):  # type: ignore[no-untyped-def]
    """Run one action; return what it changed for the invariants ("handling", "closed", None)."""
    if action == "classify":
        cases.classify(
            actor,
            case,
            expected_version=case.version,
            types=["other"],
            severity="S3",
            risk=None,
            gbv_type=None,
        )
    elif action == "request_escalation":
        wf.request_escalation(actor, case, "reason")
    elif action == "accept":
        pending = wf.pending_escalation(case)
        if pending is None:
            return None
        wf.accept_escalation(actor, pending)
        return "handling"
    elif action == "return":
        pending = wf.pending_escalation(case)
        if pending is None:
            return None
        wf.return_escalation(actor, pending, "guidance")
    elif action == "take_over":
        wf.take_over(actor, case, "reason")
        return "handling"
    elif action == "monitor":
        wf.start_monitoring(actor, case)
    elif action == "resume":
        wf.resume_handling(actor, case)
    elif action == "request_closure":
        wf.request_closure(actor, case, "resolved", "outcome")
    elif action == "approve":
        pending = wf.pending_closure(case)
        if pending is None:
            return None
        wf.approve_closure(actor, pending)
        return "closed"
    elif action == "refuse":
        pending = wf.pending_closure(case)
        if pending is None:
            return None
        wf.refuse_closure(actor, pending, "not yet")
    elif action == "reopen":
        wf.reopen(actor, case, "reason")
    return None


# The organisation is built once per test by the `org` fixture; each example opens a new case in it.
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(ACTORS)), max_size=16))
def test_random_workflows_keep_the_rules(org, steps):
    if "reviewer_tw" not in org:
        org["reviewer_tw"] = make_user("reviewer.tw", "reviewer", org["TW"])
        org["reviewer_tw_b"] = make_user("reviewer.tw.b", "reviewer", org["TW"])
    case = open_case(org["officer_c1"])
    handling = case.handling_unit_id
    for action, who in steps:
        actor = org[who]
        before_unit = case.handling_unit
        asked_by_unit = None
        if action == "approve" and (pending := wf.pending_closure(case)) is not None:
            asked_by_unit = db.session.get(type(before_unit), pending.handling_unit_id)
        savepoint = db.session.begin_nested()
        try:
            changed = _do(action, actor, case)
        except (DomainError, NotPermitted):
            savepoint.rollback()
            db.session.refresh(case)
            changed = None
        else:
            savepoint.commit()
        if changed == "handling":
            # Only an accepted escalation or a take-over moves the case, and only upwards.
            assert case.handling_unit_id in {u.id for u in before_unit.ancestors()}
            handling = case.handling_unit_id
        if changed == "closed":
            # Approved by a reviewer above the handling unit (or another reviewer at the top).
            # The unit that asked for closure and the unit handling the case now both count.
            assert actor.role == "reviewer"
            for unit in (before_unit, asked_by_unit):
                above = {u.id for u in unit.ancestors()}
                assert actor.unit_id in above or (not above and actor.unit_id == unit.id)
        assert case.handling_unit_id == handling
    db.session.commit()
    events = db.session.scalars(
        select(AuditEvent.details)
        .where(AuditEvent.tag == "case:status:change", AuditEvent.object_id == str(case.id))
        .order_by(AuditEvent.seq)
    ).all()
    status = "open"
    for details in map(json.loads, events):
        # Each step, in the log's order, starts where the last one ended and is allowed.
        step = (details["from_status"], details["to_status"])
        assert (step[0], allowed(*step)) == (status, True)
        status = step[1]
    assert status == case.status
    transitions = db.session.scalar(
        select(func.count(Transition.id)).where(Transition.case_id == case.id)
    )
    audited = db.session.scalar(
        select(func.count(AuditEvent.seq)).where(
            AuditEvent.tag == "case:status:change", AuditEvent.object_id == str(case.id)
        )
    )
    assert transitions == audited
    closes = db.session.scalar(
        select(func.count(Transition.id)).where(
            Transition.case_id == case.id, Transition.to_status == "closed"
        )
    )
    approvals = db.session.scalar(
        select(func.count(AuditEvent.seq)).where(
            AuditEvent.tag == "workflow:closure:approve", AuditEvent.details.contains(str(case.id))
        )
    )
    assert closes == approvals
