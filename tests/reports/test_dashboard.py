"""The home page's dashboard for each role: counts a user would act on, nothing identifying."""

from __future__ import annotations

from datetime import timedelta

from casework.cases.workflow import service as workflow
from casework.db import utcnow
from casework.extensions import db
from casework.reports import dashboard
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY
from tests.referrals.conftest import give, partners, refer  # noqa: F401 (fixture)
from tests.reports.conftest import case_at


def test_officer_sees_what_is_overdue_for_her_unit(app, org, browser):  # type: ignore[no-untyped-def]
    # A domestic-violence case received three hours ago: the commune chair was due to be told
    # within the hour.
    case = case_at(org["officer_c1"], utcnow() - timedelta(hours=3))
    case_at(org["officer_c2"], utcnow() - timedelta(hours=3))
    board = dashboard.for_user(org["officer_c1"])
    assert board.counts["overdue"] == 1
    _sign_in(browser, "officer.c1")
    page = browser.get("/").get_data(as_text=True)
    assert case.code in page and "OVERDUE" in page and CANARY not in page


def test_reviewer_sees_her_subtree_by_severity_and_what_waits_for_her(app, org, browser):  # type: ignore[no-untyped-def]
    officer = org["officer_c1"]
    serious = case_at(officer, utcnow() - timedelta(hours=30), severity="S3")
    routine = case_at(officer, utcnow() - timedelta(hours=2), severity="S1")
    case_at(org["officer_c2"], utcnow() - timedelta(hours=2), severity="S2")
    workflow.request_escalation(officer, serious, "Beyond the commune's means")
    workflow.request_closure(officer, routine, "resolved", "Mediated; safe now")
    db.session.commit()

    d1 = dashboard.for_user(org["reviewer_d1"])
    assert d1.by_severity == {"S3": 1, "S1": 1}
    assert d1.counts["pending_escalations"] == 1
    assert d1.counts["pending_closures"] == 1
    # Classified 30 hours ago at S3 and never quick-reported: 24 hours have passed.
    assert d1.counts["overdue_quick_reports"] == 1

    hy = dashboard.for_user(org["reviewer_hy"])
    assert hy.by_severity == {"S3": 1, "S1": 1, "S2": 1}
    assert hy.counts["pending_escalations"] == 0  # asked of D1, not of the province
    assert hy.counts["pending_closures"] == 1

    d2 = dashboard.for_user(org["reviewer_d2"])
    assert d2.by_severity == {"S2": 1}
    assert d2.counts["pending_closures"] == 0

    _sign_in(browser, "reviewer.d1")
    page = browser.get("/").get_data(as_text=True)
    assert "escalations to answer" in page and CANARY not in page and serious.code not in page


def test_partner_sees_her_referral_queue(app, org, partners, browser):  # type: ignore[no-untyped-def]  # noqa: F811
    case = case_at(org["officer_c1"], utcnow() - timedelta(hours=2))
    give(org["officer_c1"], case, "refer_shelter")
    refer(org["officer_c1"], case, partners["shelter_a"])
    board = dashboard.for_user(partners["staff_a"])
    assert board.counts == {"waiting": 1, "accepted": 0, "in_service": 0, "overdue": 0}
    other = dashboard.for_user(partners["staff_b"])
    assert other.counts["waiting"] == 0
    _sign_in(browser, "staff.a")
    page = browser.get("/").get_data(as_text=True)
    assert "waiting for your answer" in page and CANARY not in page


def test_admins_and_auditors_have_no_case_dashboard(app, org):  # type: ignore[no-untyped-def]
    assert dashboard.for_user(org["admin"]) is None
    assert dashboard.for_user(org["auditor"]) is None


def test_the_dashboards_count_covers_exactly_the_supervised_cases(app, org):  # type: ignore[no-untyped-def]
    """One statement for counting, the policy's branches for lists: the same cases either way,
    recusals left out, other subtrees never in."""
    from casework.cases import service as cases
    from casework.cases.models import Case
    from casework.cases.workflow import service as wf
    from casework.policy.scopes import supervised_cases, supervised_cases_counted
    from tests.cases.conftest import classified_case, open_case

    at_c1, at_c2 = classified_case(org["officer_c1"]), open_case(org["officer_c2"])
    recused = open_case(org["officer_c1"])
    from tests.conftest import make_user

    cases.recuse(make_user("reviewer.c1", "reviewer", org["C1"]), recused, org["reviewer_hy"])
    # Handled by D1 now, still owned by C1.
    wf.accept_escalation(
        org["reviewer_d1"], wf.request_escalation(org["officer_c1"], at_c1, "Help")
    )
    db.session.commit()
    for user in (org["reviewer_hy"], org["reviewer_d1"], org["reviewer_d2"], org["officer_c1"]):
        listed = set(db.session.scalars(supervised_cases(user).with_only_columns(Case.id)))
        counted = set(db.session.scalars(supervised_cases_counted(user).with_only_columns(Case.id)))
        assert counted == listed, user.username
    hy = set(
        db.session.scalars(supervised_cases_counted(org["reviewer_hy"]).with_only_columns(Case.id))
    )
    assert {at_c1.id, at_c2.id} <= hy and recused.id not in hy
    d2 = set(
        db.session.scalars(supervised_cases_counted(org["reviewer_d2"]).with_only_columns(Case.id))
    )
    assert at_c1.id not in d2 and recused.id not in d2
    assert not set(
        db.session.scalars(supervised_cases_counted(org["officer_c1"]).with_only_columns(Case.id))
    )
