"""The operator's commands: users, init, demo."""

from __future__ import annotations

from sqlalchemy import func, select

from casework.accounts.models import User, UserSession
from casework.cases.models import Case
from casework.cases.workflow import service as workflow
from casework.cases.workflow.models import ActionRequest
from casework.demo import DEMO_PASSWORD
from casework.extensions import db
from casework.referrals.models import Referral
from tests.conftest import get_user, make_tree, make_user


def test_users_create_prints_a_temporary_password_that_must_be_changed(app, browser):
    with app.app_context():
        make_tree()
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "hoa",
            "--name",
            "Trần Thị Hoa",
            "--role",
            "officer",
            "--unit",
            "C1",
        ]
    )
    assert result.exit_code == 0, result.output
    temporary = result.output.strip().rsplit(" ", 1)[-1]
    assert browser.login("hoa", temporary).status_code == 303
    assert browser.get("/").location.endswith("/account/password")


def test_users_create_refuses_an_unknown_unit_and_creates_nothing(app):
    with app.app_context():
        make_tree()
    result = app.test_cli_runner().invoke(
        args=["users", "create", "hoa", "--name", "Hoa", "--role", "officer", "--unit", "NOPE"]
    )
    assert result.exit_code == 1 and "NOPE" in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "hoa")) is None


def test_users_create_refuses_a_partner_user_without_an_organisation(app):
    with app.app_context():
        make_tree()
    result = app.test_cli_runner().invoke(
        args=["users", "create", "p1", "--name", "P", "--role", "partner"]
    )
    assert result.exit_code == 1


def test_users_deactivate_ends_sessions(app, browser):
    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    browser.login("thu")
    result = app.test_cli_runner().invoke(args=["users", "deactivate", "thu"])
    assert result.exit_code == 0, result.output
    assert browser.get("/").status_code == 303
    with app.app_context():
        assert not get_user("thu").active
        assert all(s.ended_at is not None for s in db.session.scalars(select(UserSession)))


def test_users_reset_2fa_makes_the_user_set_it_up_again(app, browser):
    with app.app_context():
        make_user("lan", "reviewer", make_tree()["D1"])
    result = app.test_cli_runner().invoke(args=["users", "reset-2fa", "lan"])
    assert result.exit_code == 0, result.output
    response = browser.login("lan")
    assert response.location.endswith("/login/second-factor-setup")


def test_demo_loads_every_role_and_prints_the_logins(app):
    app.config["ENV_NAME"] = "development"
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for username in (
        "admin",
        "auditor",
        "reviewer.hy",
        "officer.lh",
        "partner.shelter",
        "partner.legal",
    ):
        assert username in result.output
    with app.app_context():
        roles = set(db.session.scalars(select(User.role)))
        assert roles == {"officer", "reviewer", "partner", "auditor", "admin"}
        assert get_user("reviewer.vl").totp_enabled
    # Loading twice creates nothing new and prints the same logins.
    again = app.test_cli_runner().invoke(args=["demo"])
    assert again.exit_code == 0
    assert again.output == result.output.replace("Đã ghi 6 vụ việc mẫu (nhân vật hư cấu).\n", "")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 6


def test_demo_cases_stand_at_every_stage_of_the_workflow(app, browser):
    app.config["ENV_NAME"] = "development"
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        statuses = sorted(db.session.scalars(select(Case.status)))
        assert statuses == ["active", "active", "active", "closed", "closure_requested", "open"]
        district = get_user("reviewer.vl")
        assert len(workflow.received_quick_reports(district)) == 1
        pending = [c for c in db.session.scalars(select(Case)) if workflow.pending_escalation(c)]
        assert len(pending) == 1
        # One case moved up to the district, which asked the commune to visit.
        (asked,) = db.session.scalars(select(ActionRequest)).all()
        assert (asked.status, asked.to_unit_id) == ("open", get_user("officer.lh").unit_id)
        referred = db.session.scalars(select(Referral)).all()
        assert [r.status for r in referred] == ["sent"]
        lh_unit = get_user("officer.lh").unit_id
        lh_codes = set(db.session.scalars(select(Case.code).where(Case.owning_unit_id == lh_unit)))
        other_codes = set(db.session.scalars(select(Case.code))) - lh_codes
    # The commune officer finds her unit's three cases on her list, and no other unit's.
    assert browser.login("officer.lh", DEMO_PASSWORD).status_code == 303
    listing = browser.get("/cases/").get_data(as_text=True)
    assert len(lh_codes) == 3 and all(code in listing for code in lh_codes)
    assert len(other_codes) == 3 and not any(code in listing for code in other_codes)


def test_demo_is_refused_in_production(app):
    app.config["ENV_NAME"] = "production"
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1


def _unit_count() -> int:
    from casework.accounts.models import Unit

    return db.session.scalar(select(func.count()).select_from(Unit)) or 0


def test_units_import_of_a_bad_file_says_so_in_vietnamese_and_imports_nothing(app, tmp_path):
    with app.app_context():
        make_tree()
        before = _unit_count()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,level,parent_code\n"
        "X1,Xã Một,commune,C1\n"  # a commune under a commune: refused
        "C2,Xã Hai,commune,D1\n"  # the code is taken
        "X3,,commune,D1\n",  # no name
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["units", "import", str(bad)])
    assert result.exit_code == 1
    assert "dòng 3: mã C2 đã tồn tại" in result.output
    assert "dòng 4: tên để trống hoặc dài quá 200 ký tự" in result.output
    assert "Lỗi: 3 lỗi; không nhập đơn vị nào" in result.output
    assert "Error" not in result.output and "problem" not in result.output
    with app.app_context():
        assert _unit_count() == before


def test_units_import_without_a_file_or_official_explains_the_choice_in_vietnamese(app):
    result = app.test_cli_runner().invoke(args=["units", "import"])
    assert result.exit_code == 1
    assert "Lỗi: Hãy chọn --official hoặc một tệp CSV" in result.output
