"""The access policy: role grants, separation of duties, object rules, the generated matrix."""

from __future__ import annotations

from casework.policy import CASE_CONTENT, ROLE_GRANTS, Permission, Role, can, permission_matrix
from tests.conftest import current_code, make_partner, make_tree, make_unit, make_user


def test_admins_and_auditors_hold_no_permission_that_reaches_case_content():
    for role in (Role.ADMIN, Role.AUDITOR):
        assert not (ROLE_GRANTS[role] & CASE_CONTENT), role


def test_partners_hold_only_referral_work_and_their_own_account():
    assert ROLE_GRANTS[Role.PARTNER] == {Permission.REFERRAL_WORK, Permission.ACCOUNT_SELF}


def test_reviewer_may_do_all_an_officer_may():
    assert ROLE_GRANTS[Role.OFFICER] < ROLE_GRANTS[Role.REVIEWER]


def test_admin_cannot_read_or_open_cases(ctx):
    tree = make_tree()
    admin = make_user("root", "admin", tree["TW"])
    for permission in (
        Permission.CASE_READ,
        Permission.CASE_CREATE,
        Permission.CASE_EDIT,
        Permission.CASE_BREAK_GLASS,
    ):
        assert not can(admin, permission)


def test_admin_manages_only_her_own_subtree(ctx):
    tree = make_tree()
    other_province = make_unit("HN", "province", tree["TW"])
    admin = make_user("hy.admin", "admin", tree["HY"])
    assert can(admin, Permission.UNIT_MANAGE, tree["C1"])
    assert can(admin, Permission.UNIT_MANAGE, tree["HY"])
    assert not can(admin, Permission.UNIT_MANAGE, other_province)
    assert not can(admin, Permission.UNIT_MANAGE, tree["TW"])
    outsider = make_user("hn.officer", "officer", other_province)
    insider = make_user("c1.officer", "officer", tree["C1"])
    assert can(admin, Permission.USER_MANAGE, insider)
    assert not can(admin, Permission.USER_MANAGE, outsider)


def test_partner_users_are_managed_by_admins_of_a_unit_the_partner_serves(ctx):
    tree = make_tree()
    shelter = make_partner("Shelter HY", "shelter", [tree["HY"]])
    hn = make_unit("HN", "province", tree["TW"])
    hy_admin = make_user("hy.admin", "admin", tree["HY"])
    hn_admin = make_user("hn.admin", "admin", hn)
    assert can(hy_admin, Permission.PARTNER_MANAGE, shelter)
    assert not can(hn_admin, Permission.PARTNER_MANAGE, shelter)


def test_a_deactivated_user_can_do_nothing(ctx):
    from casework.accounts import users as user_admin

    tree = make_tree()
    admin = make_user("root", "admin", tree["TW"])
    user_admin.deactivate_user(None, admin)
    assert not can(admin, Permission.UNIT_MANAGE, tree["C1"])


def test_an_object_without_a_rule_is_refused(ctx):
    tree = make_tree()
    admin = make_user("root", "admin", tree["TW"])
    assert not can(admin, Permission.UNIT_MANAGE, object())


def test_permission_page_is_generated_from_the_policy(app, browser):
    with app.app_context():
        admin = make_user("root", "admin", make_tree()["TW"])
        code = current_code(admin)
    browser.login("root", code=code)
    page = browser.get("/admin/permissions").get_data(as_text=True)
    for permission, _grants in permission_matrix():
        assert permission.value in page
    # One row per permission, one "yes" per grant.
    yes_count = sum(sum(grants.values()) for _, grants in permission_matrix())
    assert page.count('class="yes"') == yes_count


def test_officer_cannot_see_the_permission_page_and_the_refusal_is_audited(app, browser):
    from sqlalchemy import select

    from casework.audit.models import AuditEvent
    from casework.extensions import db

    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    browser.login("thu")
    assert browser.get("/admin/permissions").status_code == 403
    with app.app_context():
        refused = db.session.scalars(
            select(AuditEvent).where(AuditEvent.outcome == "refused")
        ).all()
        assert any(e.tag == "access:request:refused" for e in refused)


def test_officers_report_on_their_own_unit_and_reviewers_on_their_subtree(ctx):
    tree = make_tree()
    officer = make_user("c1.officer", "officer", tree["C1"])
    reviewer = make_user("d1.reviewer", "reviewer", tree["D1"])
    assert can(officer, Permission.REPORT_VIEW, tree["C1"])
    assert not can(officer, Permission.REPORT_VIEW, tree["D1"])
    assert can(reviewer, Permission.REPORT_VIEW, tree["D1"])
    assert can(reviewer, Permission.REPORT_VIEW, tree["C1"])
    assert not can(reviewer, Permission.REPORT_VIEW, tree["C2"])
    assert not can(reviewer, Permission.REPORT_VIEW, tree["HY"])
    auditor = make_user("tw.auditor", "auditor", tree["TW"])
    assert not can(auditor, Permission.REPORT_VIEW, tree["TW"])


def test_only_province_and_central_reviewers_export_national_statistics(ctx):
    tree = make_tree()
    assert can(
        make_user("tw.reviewer", "reviewer", tree["TW"]), Permission.REPORT_NATIONAL, tree["TW"]
    )
    hy_reviewer = make_user("hy.reviewer", "reviewer", tree["HY"])
    assert can(hy_reviewer, Permission.REPORT_NATIONAL, tree["HY"])
    # Asked of her own unit only: another unit's level lends her nothing.
    assert not can(hy_reviewer, Permission.REPORT_NATIONAL, tree["TW"])
    d1_reviewer = make_user("d1.reviewer", "reviewer", tree["D1"])
    assert not can(d1_reviewer, Permission.REPORT_NATIONAL, tree["D1"])
    hy_officer = make_user("hy.officer", "officer", tree["HY"])
    assert not can(hy_officer, Permission.REPORT_NATIONAL, tree["HY"])
