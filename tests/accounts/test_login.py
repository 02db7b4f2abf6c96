"""Sign-in: password, second factor, lockout, throttling, sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from casework.accounts.models import User, UserSession
from casework.audit.models import AuditEvent
from casework.db import utcnow
from casework.extensions import db
from tests.conftest import PASSWORD, age_rows, current_code, get_user, make_tree, make_user

GENERIC = "Sign-in failed"


def _officer(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        tree = make_tree()
        make_user("thu", "officer", tree["C1"])


def test_officer_signs_in_with_password_and_reaches_home(app, browser):
    _officer(app)
    response = browser.login("thu")
    assert response.status_code == 303
    assert response.location.endswith("/")
    home = browser.get("/")
    assert home.status_code == 200
    assert "Staff thu" in home.get_data(as_text=True)


def test_username_is_case_insensitive(app, browser):
    _officer(app)
    assert browser.login("THU ").status_code == 303


def test_wrong_password_gives_the_generic_message(app, browser):
    _officer(app)
    response = browser.login("thu", "wrong password here")
    assert response.status_code == 401
    assert GENERIC in response.get_data(as_text=True)
    assert browser.get("/").status_code == 303  # still signed out


def test_unknown_user_gets_the_same_message_as_a_wrong_password(app, browser):
    _officer(app)
    unknown = browser.login("nobody", "wrong password here").get_data(as_text=True)
    wrong = browser.login("thu", "wrong password here").get_data(as_text=True)
    assert GENERIC in unknown and GENERIC in wrong


def test_five_failures_lock_the_account_for_fifteen_minutes(app, browser):
    _officer(app)
    for _ in range(5):
        assert browser.login("thu", "wrong password here").status_code == 401
    # The right password is refused while locked, with the same generic message.
    response = browser.login("thu")
    assert response.status_code == 401
    assert GENERIC in response.get_data(as_text=True)
    with app.app_context():
        user = get_user("thu")
        assert user.locked_until is not None
        # Fifteen minutes later the lock has passed.
        user.locked_until = user.locked_until - timedelta(minutes=15, seconds=1)
        db.session.commit()
    assert browser.login("thu").status_code == 303


def test_failures_from_one_address_are_throttled_with_429(app, new_browser):
    app.config["ADDRESS_THROTTLE_FAILURES"] = 6  # the rule, with a smaller number
    _officer(app)
    b = new_browser()
    for i in range(6):
        assert b.login(f"nobody{i}", "wrong password here").status_code == 401
    assert b.login("thu").status_code == 429
    # The block is per address: the account itself is not locked.
    with app.app_context():
        assert get_user("thu").locked_until is None


def test_address_block_ends_after_ten_minutes(app, new_browser):
    app.config["ADDRESS_THROTTLE_FAILURES"] = 3
    _officer(app)
    b = new_browser()
    for i in range(3):
        b.login(f"nobody{i}", "wrong password here")
    assert b.login("thu").status_code == 429
    with app.app_context():
        from casework.accounts.models import LoginFailure

        age_rows(LoginFailure, "at", timedelta(minutes=11))
    assert b.login("thu").status_code == 303


def test_reviewer_needs_the_second_factor(app, browser):
    with app.app_context():
        tree = make_tree()
        make_user("lan", "reviewer", tree["D1"])
    response = browser.login("lan")
    assert response.status_code == 303 and response.location.endswith("/login/code")
    assert browser.get("/").status_code == 303  # not signed in yet
    with app.app_context():
        code = current_code(get_user("lan"))
    assert browser.post("/login/code", {"code": code}).status_code == 303
    assert browser.get("/").status_code == 200


def test_wrong_code_is_refused(app, browser):
    with app.app_context():
        tree = make_tree()
        make_user("lan", "reviewer", tree["D1"])
        good = current_code(get_user("lan"))
    browser.login("lan")
    wrong = "000000" if good != "000000" else "111111"
    response = browser.post("/login/code", {"code": wrong})
    assert response.status_code == 401
    assert browser.get("/").status_code == 303


def test_a_used_code_cannot_be_replayed(app, new_browser):
    with app.app_context():
        tree = make_tree()
        make_user("lan", "reviewer", tree["D1"])
        code = current_code(get_user("lan"))
    first = new_browser()
    first.login("lan")
    assert first.post("/login/code", {"code": code}).status_code == 303
    second = new_browser()
    second.login("lan")
    assert second.post("/login/code", {"code": code}).status_code == 401
    assert second.get("/").status_code == 303


def test_recovery_code_signs_in_once(app, new_browser):
    from casework.accounts import service

    with app.app_context():
        tree = make_tree()
        user = make_user("lan", "reviewer", tree["D1"])
        codes = service.new_recovery_codes(user, PASSWORD)
        db.session.commit()
    b = new_browser()
    b.login("lan")
    assert b.post("/login/code", {"code": codes[0]}).status_code == 303
    again = new_browser()
    again.login("lan")
    assert again.post("/login/code", {"code": codes[0]}).status_code == 401


def test_reviewer_without_second_factor_must_set_one_up(app, browser):
    from casework.accounts import totp

    with app.app_context():
        tree = make_tree()
        make_user("lan", "reviewer", tree["D1"], with_totp=False)
    response = browser.login("lan")
    assert response.location.endswith("/login/second-factor-setup")
    page = browser.get("/login/second-factor-setup").get_data(as_text=True)
    assert "<svg" in page  # the QR code, inline
    with app.app_context():
        from casework.accounts import service

        seed = service.pending_seed(get_user("lan"))
    assert seed is not None
    assert totp.seed_text(seed) in page
    done = browser.post(
        "/login/second-factor-setup", {"code": totp.code_at_step(seed, totp.current_step())}
    )
    assert done.status_code == 200
    assert "recovery" in done.get_data(as_text=True).lower()
    assert browser.get("/").status_code == 200


def test_sign_in_issues_a_new_session_and_sign_out_ends_it(app, browser):
    _officer(app)
    browser.login("thu")
    cookie = browser.client.get_cookie("casework_session").value
    browser.post("/logout", page="/")
    assert browser.get("/").status_code == 303
    # Replaying the old cookie does not bring the session back.
    browser.client.set_cookie("casework_session", cookie, domain="localhost")
    assert browser.get("/").status_code == 303


def test_changing_password_ends_every_other_session(app, new_browser):
    _officer(app)
    phone, desk = new_browser(), new_browser()
    phone.login("thu")
    desk.login("thu")
    response = desk.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "a brand new long passphrase",
            "confirm": "a brand new long passphrase",
        },
    )
    assert response.status_code == 303
    assert desk.get("/").status_code == 200  # the person who changed it stays signed in
    assert phone.get("/").status_code == 303  # every other session has ended
    assert new_browser().login("thu", "a brand new long passphrase").status_code == 303


def test_weak_new_password_is_refused_and_nothing_changes(app, browser):
    _officer(app)
    browser.login("thu")
    response = browser.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "short", "confirm": "short"},
    )
    assert response.status_code == 422
    assert "12" in response.get_data(as_text=True)
    common = browser.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "password1234", "confirm": "password1234"},
    )
    assert common.status_code == 422
    browser.post("/logout", page="/")
    assert browser.login("thu").status_code == 303


def test_deactivation_ends_sessions_at_once(app, browser):
    from casework.accounts import users as user_admin

    _officer(app)
    browser.login("thu")
    assert browser.get("/").status_code == 200
    with app.app_context():
        user_admin.deactivate_user(None, get_user("thu"))
        db.session.commit()
    assert browser.get("/").status_code == 303
    assert browser.login("thu").status_code == 401


def test_idle_session_expires(app, browser):
    _officer(app)
    browser.login("thu")
    with app.app_context():
        age_rows(UserSession, "last_seen_at", timedelta(minutes=31))
    response = browser.get("/")
    assert response.status_code == 303 and "/login" in response.location


def test_admin_idle_limit_is_fifteen_minutes(app, browser):
    with app.app_context():
        tree = make_tree()
        admin = make_user("root", "admin", tree["TW"])
        code = current_code(admin)
    browser.login("root", code=code)
    assert browser.get("/").status_code == 200
    with app.app_context():
        age_rows(UserSession, "last_seen_at", timedelta(minutes=16))
    assert browser.get("/").status_code == 303


def test_session_ends_after_twelve_hours_even_when_active(app, browser):
    _officer(app)
    browser.login("thu")
    with app.app_context():
        age_rows(UserSession, "created_at", timedelta(hours=12, minutes=1))
    assert browser.get("/").status_code == 303


def test_password_reset_by_admin_forces_a_new_password(app, browser):
    from casework.accounts import users as user_admin

    _officer(app)
    with app.app_context():
        temporary = user_admin.reset_password(None, get_user("thu"))
        db.session.commit()
    assert browser.login("thu", temporary).status_code == 303
    response = browser.get("/")
    assert response.status_code == 303 and response.location.endswith("/account/password")


def test_logins_are_audited_without_usernames_or_passwords(app, browser):
    _officer(app)
    browser.login("thu", "wrong password here")
    browser.login("thu")
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        tags = [(e.tag, e.outcome) for e in events]
        assert ("account:login:password", "refused") in tags
        assert ("account:login:password", "ok") in tags
        for event in events:
            blob = f"{event.details}{event.object_id}"
            assert "thu" not in blob and "wrong password" not in blob


def test_rehash_on_login_when_parameters_change(app, browser):
    _officer(app)
    app.config["ARGON2_TIME_COST"] = 2
    browser.login("thu")
    with app.app_context():
        assert "t=2" in db.session.scalar(select(User.password_hash).where(User.username == "thu"))


def test_a_sign_in_whose_password_changed_meanwhile_starts_no_session(app):  # type: ignore[no-untyped-def]
    """Changing or resetting a password ends every session: a sign-in that checked the old
    password before the change committed must not start one after it (nor after a deactivation)."""
    from sqlalchemy import func, update

    from casework.accounts import passwords
    from casework.accounts import service as accounts
    from casework.errors import SignInFailed

    _officer(app)
    with app.test_request_context("/login"):
        changes = (
            {"password_hash": passwords.hash_password("Another-Password-2026")},
            {"active": False},
        )
        for change in changes:
            user = accounts.check_password("thu", PASSWORD, "203.0.113.9")
            # Another request's change, committed while this sign-in was checking the password.
            db.session.execute(
                update(User)
                .where(User.id == user.id)
                .values(**change)
                .execution_options(synchronize_session=False)
            )
            with pytest.raises(SignInFailed):
                accounts.start_session(user)
            assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0
            db.session.rollback()
        # Nothing changed meanwhile: the session starts.
        user = accounts.check_password("thu", PASSWORD, "203.0.113.9")
        assert accounts.start_session(user)
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1


def test_a_password_changed_between_the_two_steps_sends_her_back_to_the_first(app, browser):
    """The password step proved the old password: once it is changed or reset, the code alone
    signs no one in."""
    from sqlalchemy import update

    with app.app_context():
        tree = make_tree()
        make_user("lan", "reviewer", tree["D1"])
    assert browser.login("lan").location.endswith("/login/code")
    with app.app_context():
        code = current_code(get_user("lan"))
        db.session.execute(
            update(User).where(User.username == "lan").values(password_changed_at=utcnow())
        )
        db.session.commit()
    response = browser.post("/login/code", {"code": code})
    assert response.status_code == 303 and response.location.endswith("/login")
    assert browser.get("/").status_code == 303  # not signed in
