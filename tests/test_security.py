"""Default deny, CSRF, same-origin writes, headers, error pages."""

from __future__ import annotations

import re

import pytest

from casework.security import CSP, is_public_endpoint
from tests.conftest import CANARY, make_tree, make_user

# Endpoints that may be reached without signing in, and why.
PUBLIC = {
    "static": "stylesheets",
    "accounts.login": "the sign-in form",
    "accounts.second_factor": "second step of sign-in (needs the first step in the session)",
    "accounts.enrol_second_factor": "second-factor set-up during sign-in (same)",
    "main.language": "language choice on the sign-in page",
    "main.healthz": "load-balancer health check, no data",
}


def _sample_args(rule) -> dict[str, object]:  # type: ignore[no-untyped-def]
    args: dict[str, object] = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        kind = type(converter).__name__ if converter else ""
        args[name] = (
            1
            if kind == "IntegerConverter"
            else ("00000000-0000-4000-8000-000000000000" if kind == "UUIDConverter" else "x")
        )
    return args


def test_every_endpoint_requires_sign_in_unless_listed_as_public(app):
    public = {
        rule.endpoint for rule in app.url_map.iter_rules() if is_public_endpoint(app, rule.endpoint)
    }
    assert public == set(PUBLIC)


def test_signed_out_requests_to_every_protected_route_are_sent_to_sign_in(app, browser):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **_sample_args(rule))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = browser.client.open(url, method=method)
            if rule.endpoint.startswith("api."):
                # The API answers for itself, with a problem document and no redirect.
                assert response.status_code == 401, (rule.endpoint, method)
                assert response.mimetype == "application/problem+json"
            elif method == "GET":
                assert response.status_code == 303, (rule.endpoint, method)
                assert response.location.endswith("/login")
            else:
                # Without a session there is no CSRF token either: refused before anything runs.
                assert response.status_code in (303, 400), (rule.endpoint, method)
            checked += 1
    assert checked > 5


def test_post_without_csrf_token_is_refused(app, browser):
    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    response = browser.client.post("/login", data={"username": "thu", "password": "x" * 12})
    assert response.status_code == 400
    assert browser.get("/").status_code == 303


def test_signed_in_post_without_csrf_token_changes_nothing(app, browser):
    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    browser.login("thu")
    response = browser.client.post("/logout")
    assert response.status_code == 400
    assert browser.get("/").status_code == 200  # still signed in


def test_cross_site_post_is_refused_even_with_a_token(app, browser):
    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    token = browser.token()
    response = browser.client.post(
        "/login",
        data={"username": "thu", "password": "correct horse battery staple", "csrf_token": token},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 400
    assert browser.get("/").status_code == 303


def test_pages_carry_strict_security_headers(app, browser):
    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    browser.login("thu")
    for url in ("/login", "/"):
        response = browser.get(url, follow_redirects=True)
        h = response.headers
        assert h["Content-Security-Policy"] == CSP
        assert "default-src 'none'" in CSP and "frame-ancestors 'none'" in CSP
        assert "unsafe-inline" not in CSP
        # Images (the icon) come from the app itself; no data: URL can smuggle one in.
        assert "img-src 'self';" in CSP and "data:" not in CSP
        assert h["Cache-Control"] == "no-store"
        assert h["Referrer-Policy"] == "no-referrer"
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Strict-Transport-Security"].startswith("max-age=")


def test_no_inline_script_or_external_origin_in_pages(app, browser):
    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    html = browser.get("/login").get_data(as_text=True)
    assert "<script>" not in html and " on" + "click=" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_the_icon_is_a_static_file_of_the_app_and_no_page_uses_a_data_url(app, browser):
    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    login = browser.get("/login").get_data(as_text=True)
    browser.login("thu")
    home = browser.get("/").get_data(as_text=True)
    for html in (login, home):
        assert "data:" not in html
        icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', html)
        assert icon and icon.group(1).startswith("/static/favicon.svg?v=")
    response = browser.get(icon.group(1))
    svg = response.get_data(as_text=True)
    response.close()  # Werkzeug streams a static file from disk until closed
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert svg.startswith("<svg ")
    # Asked once, kept for a year like the stylesheet: later pages cost no request for it.
    assert "immutable" in response.headers["Cache-Control"]


def test_session_cookie_is_secure_httponly_strict(app, browser):
    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    response = browser.login("thu")
    cookie = [
        v
        for k, v in response.headers.items()
        if k == "Set-Cookie" and v.startswith("casework_session=")
    ][-1]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


@pytest.mark.parametrize("status", [404, 405])
def test_error_pages_reveal_nothing_internal(app, browser, status):
    response = browser.get("/no-such-page") if status == 404 else browser.client.put("/login")
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "werkzeug" not in body.lower()


# What no refusal page may show: a traceback, SQL, the app's class or permission names, or the
# name of a victim (the canary).
INTERNALS = (
    "Traceback",
    'File "',
    "sqlalchemy",
    "sqlite3",
    "psycopg",
    "werkzeug",
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    " WHERE ",
    "NotPermitted",
    "StaleEdit",
    "InvalidTransition",
    "Invalid",
    "Throttled",
    "DomainError",
    "case:read",
    CANARY,
)


def _refusal_world(app) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Two communes with an officer each, a case of C1 (victim: the canary) whose phone consent
    has already been withdrawn."""
    from datetime import timedelta

    from sqlalchemy import select

    from casework.cases import consent
    from casework.cases.models import Person
    from casework.db import utcnow
    from casework.extensions import db
    from tests.cases.conftest import open_case

    with app.app_context():
        tree = make_tree()
        officer = make_user("officer.c1", "officer", tree["C1"])
        make_user("officer.c2", "officer", tree["C2"])
        case = open_case(officer, summary="Beaten by her husband last night.")
        victim = db.session.scalar(
            select(Person).where(Person.case_id == case.id, Person.role == "victim")
        )
        (given,) = consent.give_consent(
            officer,
            case,
            subject=victim,
            purposes=["contact_phone"],
            given_by="victim",
            method="verbal",
            given_at=utcnow() - timedelta(minutes=5),
        )
        consent.withdraw_consent(officer, case, given)
        db.session.commit()
        return {"case": case.id, "version": case.version, "consent": given.id}


def _other_units_case(app, browser, world):  # type: ignore[no-untyped-def]
    browser.login("officer.c2")
    return browser.get(f"/cases/{world['case']}")


def _withdrawn_twice(app, browser, world):  # type: ignore[no-untyped-def]
    browser.login("officer.c1")
    url = f"/cases/{world['case']}/consent/{world['consent']}/withdraw"
    return browser.post(url, {}, page=f"/cases/{world['case']}")


def _intake_form(browser, world, **fields: str):  # type: ignore[no-untyped-def]
    browser.login("officer.c1")
    page = f"/cases/{world['case']}/intake"
    form = {
        "version": str(world["version"]),
        "received_at": "2026-11-28T20:15",
        "source": "victim",
        "summary": "Beaten by her husband two nights ago.",
        **fields,
    }
    return browser.post(page, form, page=page)


def _stale_edit(app, browser, world):  # type: ignore[no-untyped-def]
    return _intake_form(browser, world, version=str(int(world["version"]) - 1))


def _bad_form(app, browser, world):  # type: ignore[no-untyped-def]
    return _intake_form(browser, world, received_at="2099-01-01T10:00")


def _throttled_sign_in(app, browser, world):  # type: ignore[no-untyped-def]
    app.config["ADDRESS_THROTTLE_FAILURES"] = 3
    for i in range(3):
        assert browser.login(f"nobody{i}", "wrong password here").status_code == 401
    return browser.login("officer.c1")


# (how the refusal is reached, its status, what the page says in Vietnamese, the generic page?)
# A bad form or a stale edit comes back as the form itself, the message beside it; the other
# refusals show the generic error page.
REFUSALS = {
    "another unit's case": (
        _other_units_case,
        403,
        ["Bạn không có quyền truy cập trang này", "Lần truy"],
        True,
    ),
    "consent withdrawn twice": (
        _withdrawn_twice,
        409,
        ["Dữ liệu đã bị thay đổi", "Sự đồng ý này đã được rút lại."],
        True,
    ),
    "stale edit": (
        _stale_edit,
        409,
        ["Người khác đã lưu dữ liệu này sau khi bạn mở."],
        False,
    ),
    "bad form": (_bad_form, 422, ["Thời điểm này nằm trong tương lai."], False),
    "throttled sign-in": (
        _throttled_sign_in,
        429,
        ["Quá nhiều lần thử", "Có quá nhiều lần đăng nhập không thành công từ mạng này."],
        True,
    ),
}


@pytest.mark.parametrize("refusal", REFUSALS)
def test_refusal_pages_speak_vietnamese_and_reveal_nothing_internal(app, new_browser, refusal):
    reach, status, says, generic = REFUSALS[refusal]
    world = _refusal_world(app)
    response = reach(app, new_browser(lang=None), world)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert 'lang="vi"' in body
    for text in says:
        assert text in body
    # The generic page: its title and the way home, nothing of the request.
    assert ("Quay lại trang chủ" in body) is generic
    leaked = [marker for marker in INTERNALS if marker in body]
    assert leaked == []


def test_unexpected_error_shows_a_plain_500_page(app, browser, caplog):
    @app.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail Nguyễn Thị Hoa")

    boom._public = True  # type: ignore[attr-defined]
    response = browser.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret detail" not in body and "RuntimeError" not in body
    assert "Nguyễn Thị Hoa" not in caplog.text


def test_a_database_too_busy_to_write_answers_503_to_try_again_not_500(app, browser):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    @app.get("/busy")
    def busy():  # type: ignore[no-untyped-def]
        raise OperationalError("INSERT …", {}, sqlite3.OperationalError("database is locked"))

    busy._public = True  # type: ignore[attr-defined]
    response = browser.get("/busy")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "Wait a moment" in response.get_data(as_text=True)


def test_vietnamese_is_the_default_language_and_english_can_be_chosen(app, new_browser):
    browser = new_browser(lang=None)
    page = browser.get("/login").get_data(as_text=True)
    assert 'lang="vi"' in page and "Đăng nhập" in page
    browser.post("/language", {"lang": "en", "back": "/login"}, page="/login")
    page = browser.get("/login").get_data(as_text=True)
    assert 'lang="en"' in page and "Sign in" in page


def test_language_switch_never_redirects_off_site(app, browser):
    response = browser.post("/language", {"lang": "en", "back": "//evil.example/x"}, page="/login")
    assert response.status_code == 303
    assert response.location in ("/", "https://localhost/")


def test_form_fields_carry_no_stray_attributes(app, browser):
    html = browser.get("/login").get_data(as_text=True)
    assert '="None"' not in html
    assert html.count("autofocus") == 1  # the username only


def test_own_form_posted_by_a_browser_under_no_referrer_is_accepted(app, browser):
    # Chromium sends "Origin: null" for same-origin form posts when the page says no-referrer.
    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    token = browser.token()
    response = browser.client.post(
        "/login",
        data={"username": "thu", "password": "correct horse battery staple", "csrf_token": token},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303


def test_a_nul_character_is_refused_with_its_reason_and_changes_nothing(app, browser):
    from sqlalchemy import select

    from casework.accounts.models import Unit
    from casework.extensions import db
    from tests.conftest import current_code, get_user

    with app.app_context():
        tree = make_tree()
        make_user("root", "admin", tree["TW"])
        unit_id, name = tree["C1"].id, tree["C1"].name
        code = current_code(get_user("root"))
    assert browser.login("root", code=code).status_code == 303
    page = f"/admin/units/{unit_id}/rename"
    response = browser.post(page, {"name": "Xã\x00 Mới", "version": "1"}, page=page)
    assert response.status_code == 400
    assert "cannot be stored" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Unit.name).where(Unit.id == unit_id)) == name
    assert browser.get("/admin/units?q=x%00").status_code == 400


def test_the_api_refuses_a_nul_character_with_a_problem_document(app, browser):
    from sqlalchemy import func, select

    from casework.cases.models import Case
    from casework.extensions import db
    from tests.api.conftest import make_token

    with app.app_context():
        token = make_token(make_user("thu", "officer", make_tree()["C1"]))
    response = browser.client.post(
        "/api/v1/cases",
        data='{"summary": "a\\u0000b"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "không thể lưu" in response.get_json()["detail"]  # Vietnamese, the default language
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0
