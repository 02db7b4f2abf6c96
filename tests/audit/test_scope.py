"""Whose audit events a reviewer reads: her subtree's staff, and everything about the cases her
subtree holds (reads, changes and refusals by anyone), never another subtree's cases; recusal hides a
case's events from her; officers, partners and admins read none."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.cases import service
from casework.cases.workflow import service as wf
from casework.extensions import db
from casework.policy import NotPermitted
from casework.policy.scopes import visible_audit_events
from tests.cases.conftest import open_case
from tests.conftest import PASSWORD, current_code, get_user, make_partner, make_user


def _visible(user) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    return list(db.session.scalars(visible_audit_events(user).order_by(AuditEvent.seq)))


def _about(events: list[AuditEvent], object_id: object) -> list[AuditEvent]:
    return [e for e in events if e.object_id == str(object_id)]


def _sign_in(browser, username):  # type: ignore[no-untyped-def]
    user = get_user(username)
    code = current_code(user) if user.totp_enabled else None
    assert browser.login(username, code=code).status_code == 303


def _outsiders_touch(org, case):  # type: ignore[no-untyped-def]
    """The province reviewer (outside D1's and D2's subtrees) opens the file by break-glass, reads
    it and takes it over: events about the case and about its escalation record."""
    service.break_glass(org["reviewer_hy"], case, "Checking a serious case", password=PASSWORD)
    service.view_case(org["reviewer_hy"], case)
    escalation = wf.take_over(org["reviewer_hy"], case, "Media attention")
    db.session.commit()
    return escalation


def test_reviewer_sees_everyone_s_events_about_her_subtree_s_cases_and_none_about_others(
    app, org, browser
):
    mine = open_case(org["officer_c1"])  # C1 is under D1
    theirs = open_case(org["officer_c2"])  # C2 is under D2
    take_over = _outsiders_touch(org, mine)
    _outsiders_touch(org, theirs)
    # A refusal: an officer of another commune asks for the D1 case's file.
    _sign_in(browser, "officer.c2")
    assert browser.get(f"/cases/{mine.id}").status_code in (403, 404)

    seen = _visible(org["reviewer_d1"])
    about_mine = _about(seen, mine.id)
    by_province = {e.tag for e in about_mine if e.actor_id == org["reviewer_hy"].id}
    assert {"case:file:break_glass", "case:file:view"} <= by_province
    refusals = [e for e in about_mine if e.outcome == "refused"]
    assert [e.actor_id for e in refusals] == [org["officer_c2"].id]
    assert refusals[0].object_type == "case_file"
    # The take-over names the escalation record, a record of her case.
    assert [e.tag for e in _about(seen, take_over.id)] == ["workflow:case:take_over"]
    # Nothing about the other subtree's case, by anyone, and nothing else by its officer.
    assert _about(seen, theirs.id) == []
    assert not any(e.actor_id == org["officer_c2"].id and e.outcome == "ok" for e in seen)

    other = _visible(org["reviewer_d2"])
    assert _about(other, theirs.id)
    # Of the D1 case she sees only what her own officer tried: the staff rule.
    assert [(e.actor_id, e.outcome) for e in _about(other, mine.id)] == [
        (org["officer_c2"].id, "refused")
    ]

    # The auditor sees all of it.
    everything = _visible(org["auditor"])
    assert len(everything) == db.session.scalar(select(db.func.count()).select_from(AuditEvent))


def test_who_has_seen_the_file_lists_readers_from_outside_the_subtree(app, org, browser):
    mine = open_case(org["officer_c1"])
    theirs = open_case(org["officer_c2"])
    _outsiders_touch(org, mine)
    _outsiders_touch(org, theirs)
    _sign_in(browser, "reviewer.d1")
    page = browser.get(f"/audit/object/case_file/{mine.id}").get_data(as_text=True)
    assert "(reviewer.hy)" in page and "(officer.c1)" in page
    other = browser.get(f"/audit/object/case_file/{theirs.id}").get_data(as_text=True)
    assert "(reviewer.hy)" not in other and "(officer.c2)" not in other


def test_a_recused_reviewer_sees_no_event_about_that_case(app, org):
    mine = open_case(org["officer_c1"])
    kept = open_case(org["officer_c1"])
    escalation = _outsiders_touch(org, mine)
    assert _about(_visible(org["reviewer_d1"]), mine.id)
    service.view_case(org["officer_c1"], mine)
    db.session.commit()
    # Recusal is decided by the handling unit, which is now the province.
    service.recuse(org["reviewer_hy"], mine, org["reviewer_d1"])
    db.session.commit()

    seen = _visible(org["reviewer_d1"])
    assert _about(seen, mine.id) == [] and _about(seen, escalation.id) == []
    # Her subtree's staff's other events stay in view.
    assert _about(seen, kept.id)


@pytest.mark.parametrize("role", ["officer", "partner", "admin"])
def test_officers_partners_and_admins_read_no_audit_event(app, org, role):
    partner = make_partner(units=[org["C1"]]) if role == "partner" else None
    user = make_user(f"someone.{role}", role, None if partner else org["C1"], partner)
    with pytest.raises(NotPermitted):
        visible_audit_events(user)
