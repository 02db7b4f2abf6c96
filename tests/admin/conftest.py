"""Admin test helpers: a tree with two provinces, an admin at each level, and signing in as one."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from casework.accounts.models import Unit, User
from casework.audit.models import AuditEvent
from casework.extensions import db
from tests.conftest import current_code, get_user, make_tree, make_unit, make_user

VERSION = re.compile(r'name="version" type="hidden" value="(\d+)"')
SECRET = re.compile(r'<code class="secret">([^<]+)</code>')


@pytest.fixture
def world(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """TW → HY (D1 → C1, D2 → C2) and TW → HN (D3 → C3); admins at TW, HY and HN; an officer in
    each province. Returns unit ids by code."""
    with app.app_context():
        tree = make_tree()
        hn = make_unit("HN", "province", tree["TW"], name="Hội LHPN Hà Nội")
        d3 = make_unit("D3", "district", hn)
        tree.update(HN=hn, D3=d3, C3=make_unit("C3", "commune", d3))
        make_user("root", "admin", tree["TW"])
        make_user("hyadmin", "admin", tree["HY"])
        make_user("hnadmin", "admin", hn)
        make_user("thu", "officer", tree["C1"])
        make_user("lan", "officer", tree["C3"])
        return {code: unit.id for code, unit in tree.items()}


def sign_in_as(app, browser, username: str):  # type: ignore[no-untyped-def]
    """Sign in (with the second factor when she has one), with English pages."""
    browser.post("/language", {"lang": "en", "back": "/login"}, page="/login")
    with app.app_context():
        user = get_user(username)
        code = current_code(user) if user.totp_enabled else None
    response = browser.login(username, code=code)
    assert response.status_code == 303 and response.location.endswith("/"), response.location
    return browser


def version_on(page: str) -> int:
    match = VERSION.search(page)
    assert match, "no version field on the page"
    return int(match.group(1))


def unit_row(app, code: str) -> Unit:  # type: ignore[no-untyped-def]
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        assert unit is not None
        db.session.expunge(unit)
        return unit


def user_row(app, username: str) -> User:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = get_user(username)
        db.session.expunge(user)
        return user


def audit_tags(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [
            (e.tag, e.outcome)
            for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]
