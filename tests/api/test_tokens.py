"""Personal access tokens: made on the account page after the password, shown once, kept as a hash,
listed with their last use; revoked, expired or deactivated → 401; cookies never open the API."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import select, text

from casework.accounts import service as accounts
from casework.accounts import users as user_admin
from casework.api.models import ApiToken
from casework.extensions import db
from tests.api.conftest import is_problem, make_token
from tests.conftest import PASSWORD, age_rows, audit_text

SECRET = re.compile(r"cwp_[A-Za-z0-9_-]{40,}")


def _create_on_page(browser, password: str = PASSWORD, **fields):  # type: ignore[no-untyped-def]
    form = {"name": "Hotline 111", "scope": "write", "days": "30", "current_password": password}
    form.update(fields)
    return browser.post("/account/tokens", form, page="/account/tokens")


def test_a_token_is_made_after_the_password_shown_once_and_only_its_hash_is_kept(org, browser, api):  # type: ignore[no-untyped-def]
    browser.login("officer.c1")
    refused = _create_on_page(browser, password="not my password")
    assert refused.status_code == 422
    assert "The current password is not correct." in refused.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken)) is None

    created = _create_on_page(browser)
    assert created.status_code == 200
    secret = SECRET.search(created.get_data(as_text=True)).group(0)
    listing = browser.get("/account/tokens").get_data(as_text=True)
    assert secret not in listing
    assert secret[:12] in listing and "Hotline 111" in listing
    assert "never" in listing.split("Hotline 111")[1].split("</tr>")[0]

    row = db.session.scalar(select(ApiToken))
    assert row.secret_hash == hashlib.sha256(secret.encode()).digest()
    stored = repr(db.session.execute(text("SELECT * FROM api_token")).all())
    assert secret not in stored and secret[12:] not in stored
    assert secret not in audit_text()

    me = api.get("/me", secret)
    assert me.status_code == 200
    assert me.get_json()["username"] == "officer.c1"
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at is not None
    row_html = browser.get("/account/tokens").get_data(as_text=True).split("Hotline 111")[1]
    assert "never" not in row_html.split("</tr>")[0]  # the last use is shown


def test_a_token_lasts_at_most_the_configured_days(org, browser):  # type: ignore[no-untyped-def]
    browser.login("officer.c1")
    response = _create_on_page(browser, days="91")
    assert response.status_code == 422
    assert "A token lasts from 1 to 90 days." in response.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken)) is None


def test_a_revoked_token_is_refused(org, browser, api):  # type: ignore[no-untyped-def]
    secret = make_token(org["officer_c1"])
    assert api.get("/me", secret).status_code == 200
    browser.login("officer.c1")
    token_id = db.session.scalar(select(ApiToken.id))
    response = browser.post(f"/account/tokens/{token_id}/revoke", {}, page="/account/tokens")
    assert response.status_code == 303
    assert is_problem(api.get("/me", secret), 401, "unauthenticated")
    assert "api:token:revoke" in audit_text()


def test_nobody_revokes_another_users_token(org, browser, api):  # type: ignore[no-untyped-def]
    secret = make_token(org["officer_c1"])
    token_id = db.session.scalar(select(ApiToken.id))
    browser.login("officer.c2")
    response = browser.post(f"/account/tokens/{token_id}/revoke", {}, page="/account/tokens")
    assert response.status_code == 404
    assert api.get("/me", secret).status_code == 200
    assert "access:request:refused" in audit_text()


def test_an_expired_token_is_refused(org, api):  # type: ignore[no-untyped-def]
    secret = make_token(org["officer_c1"], days=1)
    age_rows(ApiToken, "expires_at", timedelta(days=2))
    assert is_problem(api.get("/me", secret), 401, "unauthenticated")


def test_deactivation_ends_the_users_tokens(org, api):  # type: ignore[no-untyped-def]
    secret = make_token(org["officer_c1"])
    user_admin.deactivate_user(org["admin"], org["officer_c1"])
    db.session.commit()
    assert is_problem(api.get("/me", secret), 401, "unauthenticated")
    user_admin.reactivate_user(org["admin"], org["officer_c1"])
    db.session.commit()
    # Reactivation does not bring old tokens back: she makes a new one.
    assert is_problem(api.get("/me", secret), 401, "unauthenticated")


def test_a_password_change_ends_the_users_tokens(org, api):  # type: ignore[no-untyped-def]
    secret = make_token(org["officer_c1"])
    accounts.change_password(org["officer_c1"], PASSWORD, "a new sentence I can remember")
    db.session.commit()
    assert is_problem(api.get("/me", secret), 401, "unauthenticated")


def test_unknown_or_malformed_tokens_are_refused(org, api):  # type: ignore[no-untyped-def]
    make_token(org["officer_c1"])
    assert is_problem(api.get("/me"), 401, "unauthenticated")
    assert api.get("/me").headers["WWW-Authenticate"].startswith("Bearer")
    assert is_problem(api.get("/me", "cwp_" + "A" * 43), 401, "unauthenticated")
    basic = api.get("/me", headers={"Authorization": "Basic b2ZmaWNlci5jMTpwdw=="})
    assert is_problem(basic, 401, "unauthenticated")


def test_a_signed_in_browser_gets_401_from_the_api(org, browser):  # type: ignore[no-untyped-def]
    browser.login("officer.c1")
    assert browser.get("/cases/").status_code == 200  # the session works on the web
    response = browser.get("/api/v1/me")
    assert is_problem(response, 401, "unauthenticated")
    posted = browser.raw_post(
        "/api/v1/cases", data="{}", content_type="application/json"
    )  # no CSRF token: the API refuses for want of a bearer token, not for CSRF
    assert is_problem(posted, 401, "unauthenticated")
