"""A case moved up to the district; the district asks the commune that knows the family to act."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.cases import service as cases
from casework.cases import timeline
from casework.cases.models import Action
from casework.cases.workflow import requests, timers
from casework.cases.workflow import service as wf
from casework.cases.workflow.models import ActionRequest, Notification
from casework.db import utcnow
from casework.errors import Invalid, StaleEdit
from casework.extensions import db
from casework.policy import NotPermitted, Permission, can
from tests.cases.conftest import classified_case, open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, audit_text, make_user

WHAT = f"Visit {CANARY} at home today and tell us how she is"


def _moved_up(org):  # type: ignore[no-untyped-def]
    """A serious case of commune C1, escalated to and accepted by district D1."""
    case = classified_case(org["officer_c1"])
    escalation = wf.request_escalation(org["officer_c1"], case, "Needs the district")
    wf.accept_escalation(org["reviewer_d1"], escalation)
    db.session.commit()
    return case


def _ask(org, case, hours=6):  # type: ignore[no-untyped-def]
    asked = requests.ask(
        org["reviewer_d1"],
        case,
        unit_id=org["C1"].id,
        what=WHAT,
        due_at=utcnow() + timedelta(hours=hours),
    )
    db.session.commit()
    return asked


def _answer(org, asked, who="officer_c1", version=None):  # type: ignore[no-untyped-def]
    requests.answer(
        org[who],
        asked,
        expected_version=asked.version if version is None else version,
        kind="visit",
        authority=None,
        occurred_at=utcnow() - timedelta(minutes=5),
        description="Visited; she is safe at her mother's",
    )
    db.session.commit()


def _notes(user, kind):  # type: ignore[no-untyped-def]
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.kind == kind
        )
    )


def test_the_handling_district_asks_the_commune_and_the_commune_answers_in_the_actions(org):
    case = _moved_up(org)
    assert [u.id for u in requests.units_to_ask(case)] == [org["C1"].id]
    asked = _ask(org, case)
    assert _notes(org["officer_c1"], "action_requested") == 1
    (deadline,) = [d for d in timers.deadlines_for(case) if d.kind == "action_request"]
    assert (deadline.due_at, deadline.done_at) == (asked.due_at, None)
    # The commune still may not edit the file, only answer the request.
    assert not can(org["officer_c1"], Permission.CASE_EDIT, case)
    assert can(org["officer_c1"], Permission.ACTION_REQUEST_ANSWER, asked)
    _answer(org, asked)
    assert asked.status == "done" and asked.answered_by_id == org["officer_c1"].id
    action = db.session.get(Action, asked.action_id)
    assert (action.kind, action.created_by_id) == ("visit", org["officer_c1"].id)
    assert action.description == "Visited; she is safe at her mother's"
    assert _notes(org["reviewer_d1"], "action_done") == 1
    (deadline,) = [d for d in timers.deadlines_for(case) if d.kind == "action_request"]
    assert deadline.done_at == asked.answered_at and not deadline.overdue()
    # What was asked and answered is in the file, never in the audit log's text.
    assert CANARY not in audit_text() and "mother" not in audit_text()


def test_only_the_unit_asked_answers_and_only_once(org):
    case = _moved_up(org)
    asked = _ask(org, case)
    for who in ("officer_c2", "reviewer_d2", "reviewer_hy"):
        with pytest.raises(NotPermitted):
            _answer(org, asked, who)
    _answer(org, asked)
    with pytest.raises(NotPermitted):
        _answer(org, asked)
    assert db.session.scalar(select(func.count(Action.id)).where(Action.case_id == case.id)) == 1


def test_a_stale_answer_is_refused_and_records_nothing(org):
    case = _moved_up(org)
    asked = _ask(org, case)
    with pytest.raises(StaleEdit):
        _answer(org, asked, version=asked.version + 1)
    db.session.rollback()
    assert asked.status == "open"
    assert db.session.scalar(select(func.count(Action.id)).where(Action.case_id == case.id)) == 0


def test_a_recused_officer_cannot_answer(org):
    case = _moved_up(org)
    asked = _ask(org, case)
    cases.recuse(org["reviewer_d1"], case, org["officer_c1"])
    db.session.commit()
    assert not can(org["officer_c1"], Permission.ACTION_REQUEST_ANSWER, asked)


@pytest.mark.parametrize(
    ("who", "unit", "hours", "refusal"),
    [
        ("officer_c1", "C1", 6, NotPermitted),  # not the handling unit
        ("reviewer_d1", "C2", 6, Invalid),  # never handled the case
        ("reviewer_d1", "D1", 6, Invalid),  # the handling unit itself
        ("reviewer_d1", "C1", -1, Invalid),  # in the past
        ("reviewer_d1", "C1", 24 * 61, Invalid),  # too far ahead
    ],
)
def test_asking_is_refused_with_its_reason_and_changes_nothing(org, who, unit, hours, refusal):
    case = _moved_up(org)
    with pytest.raises(refusal):
        requests.ask(
            org[who],
            case,
            unit_id=org[unit].id,
            what=WHAT,
            due_at=utcnow() + timedelta(hours=hours),
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count(ActionRequest.id))) == 0
    assert _notes(org["officer_c1"], "action_requested") == 0


def test_a_case_that_never_moved_has_no_unit_below_to_ask(org):
    case = open_case(org["officer_c1"])
    assert requests.units_to_ask(case) == []
    # Once the province takes it over, the commune that handled it may be asked.
    wf.take_over(org["reviewer_hy"], case, "Media attention")
    db.session.commit()
    assert [u.id for u in requests.units_to_ask(case)] == [org["C1"].id]


def test_a_withdrawn_request_can_no_longer_be_answered(org):
    case = _moved_up(org)
    asked = _ask(org, case)
    with pytest.raises(NotPermitted):
        requests.withdraw(org["officer_c1"], asked, expected_version=asked.version)
    requests.withdraw(org["reviewer_d1"], asked, expected_version=asked.version)
    db.session.commit()
    assert asked.status == "withdrawn"
    assert _notes(org["officer_c1"], "action_withdrawn") == 1
    with pytest.raises(NotPermitted):
        _answer(org, asked)
    (deadline,) = [d for d in timers.deadlines_for(case) if d.kind == "action_request"]
    assert deadline.done_at is not None


def test_an_answer_goes_through_the_actions_rules(org):
    """A reconciliation is refused in a sexual-violence case, even when a unit below records it."""
    case = _moved_up(org)
    case.sexual_violence = True
    db.session.commit()
    asked = _ask(org, case)
    with pytest.raises(Invalid):
        requests.answer(
            org["officer_c1"],
            asked,
            expected_version=asked.version,
            kind="reconciliation",
            authority=None,
            occurred_at=utcnow(),
            description="Talked with both",
        )
    db.session.rollback()
    assert asked.status == "open"


def test_the_action_entry_point_refuses_anyone_without_a_request(org):
    case = _moved_up(org)
    other = make_user("officer.c1.b", "officer", org["C1"])
    with pytest.raises(NotPermitted):
        timeline.add_action(
            other,
            case,
            kind="visit",
            occurred_at=utcnow(),
            description="Visited without being asked",
        )


def test_asked_answered_and_seen_in_the_browser(app, org, new_browser):
    case = _moved_up(org)
    district, commune, other = new_browser(), new_browser(), new_browser()
    _sign_in(district, "reviewer.d1")
    page = district.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Ask a unit below to act" in page
    form = district.get(f"/cases/{case.id}/action-requests/new").get_data(as_text=True)
    assert f'value="{org["C1"].id}"' in form and f'value="{org["C2"].id}"' not in form
    due = (utcnow() + timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M")
    bad = district.post(
        f"/cases/{case.id}/action-requests/new",
        {"unit": org["C2"].id, "what": WHAT, "due_at": due},
    )
    assert bad.status_code == 422
    assert db.session.scalar(select(func.count(ActionRequest.id))) == 0
    sent = district.post(
        f"/cases/{case.id}/action-requests/new",
        {"unit": org["C1"].id, "what": WHAT, "due_at": due},
    )
    assert sent.status_code == 303
    asked = db.session.scalar(select(ActionRequest))

    _sign_in(commune, "officer.c1")
    inbox = commune.get("/inbox").get_data(as_text=True)
    assert "asks your unit to act" in inbox and CANARY not in inbox
    file_page = commune.get(f"/cases/{case.id}").get_data(as_text=True)
    assert WHAT in file_page and f"/action-requests/{asked.id}/answer" in file_page
    url = f"/action-requests/{asked.id}/answer"
    answer_page = commune.get(url).get_data(as_text=True)
    assert WHAT in answer_page
    empty = commune.post(url, {"kind": "visit", "version": asked.version})
    assert empty.status_code == 422
    when = (utcnow() + timedelta(hours=7) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    done = commune.post(
        url,
        {
            "kind": "visit",
            "occurred_at": when,
            "description": "Visited; she is safe",
            "version": asked.version,
        },
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(ActionRequest, asked.id).status == "done"

    _sign_in(other, "officer.c2")
    assert other.get(url).status_code == 403  # as for the file itself
    after = district.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Visited; she is safe" in after


def test_closing_the_case_ends_its_open_requests(org):
    case = _moved_up(org)
    asked = _ask(org, case)
    closure = wf.request_closure(org["reviewer_d1"], case, "resolved", "She is safe")
    wf.approve_closure(org["reviewer_hy"], closure)
    db.session.commit()
    db.session.refresh(asked)
    assert asked.status == "withdrawn"
    # The commune is told, and the withdrawal is audited as the closure's consequence.
    assert _notes(org["officer_c1"], "action_withdrawn") == 1
    withdrawn = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.tag == "workflow:action_request:withdraw",
            AuditEvent.object_id == str(asked.id),
        )
    ).all()
    assert [(e.actor_id, json.loads(e.details)["reason"]) for e in withdrawn] == [
        (org["reviewer_hy"].id, "case_closed")
    ]
    assert not can(org["officer_c1"], Permission.ACTION_REQUEST_ANSWER, asked)
    (deadline,) = [d for d in timers.deadlines_for(case) if d.kind == "action_request"]
    assert deadline.done_at is not None


def test_the_requests_audit_events_are_seen_by_the_reviewers_above_and_no_other(org):
    from casework.audit.models import AuditEvent
    from casework.policy.scopes import visible_audit_events

    # The province takes over a commune's case and asks that commune to act: the district between
    # them sees the request's event though its actor is none of the district's staff.
    case = open_case(org["officer_c1"])
    wf.take_over(org["reviewer_hy"], case, "Media attention")
    asked = requests.ask(
        org["reviewer_hy"],
        case,
        unit_id=org["C1"].id,
        what=WHAT,
        due_at=utcnow() + timedelta(hours=6),
    )
    db.session.commit()

    def tags(user):  # type: ignore[no-untyped-def]
        seen = visible_audit_events(user).where(AuditEvent.object_id == str(asked.id))
        return [e.tag for e in db.session.scalars(seen)]

    sent = ["workflow:action_request:send"]
    assert tags(org["reviewer_d1"]) == tags(org["reviewer_hy"]) == sent
    assert tags(org["reviewer_d2"]) == []
