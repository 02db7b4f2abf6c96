"""The access policy remembers a user's membership of a case only while nothing has changed: a page
asking a dozen times costs one query, and a recusal or escalation counts at once."""

from __future__ import annotations

import uuid

from casework.cases import service
from casework.cases.models import Recusal
from casework.cases.workflow import service as wf
from casework.extensions import db
from casework.policy import Permission, can
from tests.cases.conftest import open_case
from tests.cases.test_lists import _classified
from tests.conftest import make_user, sql_sent


def _queries(run) -> int:  # type: ignore[no-untyped-def]
    with sql_sent() as sent:
        run()
    return len(sent)


def test_asking_many_times_about_one_case_reads_the_database_once(org):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    officer = org["officer_c1"]
    _ = case.handling_unit_id, officer.unit_id, officer.active  # loaded again after the commit
    asked = (Permission.CASE_READ, Permission.CASE_EDIT) * 7
    answers: list[bool] = []
    sent = _queries(lambda: answers.extend(can(officer, p, case) for p in asked))
    assert sent == 1  # the recusal and the escalations, in one statement, once
    assert all(answers)  # she reads and edits her own commune's case


def test_a_recusal_counts_at_once_even_before_it_is_flushed(org):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    colleague = make_user("officer.c1b", "officer", org["C1"])
    assert can(colleague, Permission.CASE_READ, case)
    db.session.add(
        Recusal(id=uuid.uuid4(), case_id=case.id, user_id=colleague.id, created_by_id=colleague.id)
    )  # pending, not flushed: the policy must still see it
    assert not can(colleague, Permission.CASE_READ, case)
    db.session.rollback()
    assert can(colleague, Permission.CASE_READ, case)
    service.recuse(make_user("reviewer.c1", "reviewer", org["C1"]), case, colleague)
    assert not can(colleague, Permission.CASE_READ, case)


def test_an_accepted_escalation_changes_the_answer_in_the_same_transaction(org):  # type: ignore[no-untyped-def]
    case = _classified(org)
    reviewer = org["reviewer_d1"]
    assert not can(reviewer, Permission.CASE_READ, case)  # supervision only, not a file unit
    wf.accept_escalation(reviewer, wf.request_escalation(org["officer_c1"], case, "up"))
    assert can(reviewer, Permission.CASE_READ, case)
    # The commune that handed it up still reads it, and no longer works it.
    assert can(org["officer_c1"], Permission.CASE_READ, case)
    assert not can(org["officer_c1"], Permission.CASE_EDIT, case)
