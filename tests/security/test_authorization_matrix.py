"""The authorization matrix (SECURITY.md, Reliability): every route of the web app and the API,
for every role at the case's own unit, its parent unit and a sibling unit, for the staff of the
partner the case is referred to and of another partner, and for nobody signed in, answers the
way the access policy decides, with 0 mismatches.

The expected decision of each cell is computed here from casework.policy.can() and the question
each route puts (tests/security/routes.py), never written down by hand. Each request runs in a
transaction that is rolled back when it ends, so every cell meets the same records (a case still
waiting for its escalation answer, a referral still live) whatever the cells before it did.
"""

from __future__ import annotations

import contextvars
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import flask_sqlalchemy.session
import pytest
from flask import Flask

from casework import create_app
from casework.extensions import db
from casework.policy import Permission, can
from tests.conftest import (
    PASSWORD,
    Browser,
    _https_client,
    _reset_schema,
    current_code,
    test_config,
)
from tests.security import world as worlds
from tests.security.routes import DEFAULTS, OWN_UNIT, ROUTES, Check, Gate

ACTORS = worlds.actors()
SELF_PERMISSION = Permission.ACCOUNT_SELF  # every account holds it
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@dataclass
class Matrix:
    app: Flask
    world: worlds.World
    cookies: dict[str, str]  # actor name → session cookie value (web)
    csrf: dict[str, str]  # actor name → CSRF token of that session
    bearer: dict[str, str]  # actor name → API token secret
    expected: dict[tuple[str, str], dict[str, str]]  # route → actor name → outcome


def _flush_only(self: Any) -> None:
    """Stands in for Session.commit during the matrix: the request's work is flushed (so its
    checks and constraints run) and rolled back when its app context ends."""
    self.flush()


def _allows(check: Check, user: Any, world: worlds.World) -> bool:
    permissions = check.permission if isinstance(check.permission, tuple) else (check.permission,)
    if check.obj is None:
        obj = None
    elif check.obj == OWN_UNIT:
        # As the view asks it: a partner's staff have no unit, and are asked the bare question.
        obj = user.unit
    else:
        obj = world.obj(check.obj)
        assert obj is not None, check.obj
    return any(can(user, permission, obj) for permission in permissions)


def expected_outcome(gate: Gate, endpoint: str, user: Any, world: worlds.World) -> str:
    """What the policy says this user meets on this route: allowed, 401, 403, 404 or login."""
    if gate.public:
        return "public"
    if user is None:
        return "401" if endpoint.startswith("api.") else "login"
    if gate.signed_in:
        return "login" if gate.lands_on_login else "allowed"
    for check in gate.checks:
        if not _allows(check, user, world):
            if gate.otherwise is not None and _allows(gate.otherwise, user, world):
                return "allowed"
            return str(check.refusal)
    if gate.rule is not None and not gate.rule(user):
        return "403"
    return "allowed"


def observed_outcome(response: Any) -> str:
    status = response.status_code
    if status in (302, 303) and urlsplit(response.location).path == "/login":
        return "login"
    if status >= 500:
        return f"error {status}"
    if status in (401, 403, 404, 405):
        return str(status)
    return "allowed"


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - IGNORED_METHODS
    }


def _sign_in_everyone(app: Flask, matrix: Matrix) -> None:
    from casework.api import tokens

    cookie_name = app.config["SESSION_COOKIE_NAME"]
    for actor in ACTORS:
        browser = Browser(_https_client(app, "en"))
        with app.app_context():
            user = matrix.world.user(actor)
            code = current_code(user) if user is not None and user.totp_enabled else None
            if user is not None:
                _token, secret = tokens.create_token(
                    user, name="matrix", scope="write", days=1, current_password=PASSWORD
                )
                db.session.commit()
                matrix.bearer[actor.name] = secret
            db.session.remove()
        if actor.username is not None:
            response = browser.login(actor.username, code=code)
            assert response.status_code == 303 and "/login" not in response.location, actor
        matrix.csrf[actor.name] = browser.token("/account" if actor.username else "/login")
        cookie = browser.client.get_cookie(cookie_name)
        assert cookie is not None, actor
        matrix.cookies[actor.name] = cookie.value


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    tmp = tempfile.mkdtemp(prefix="casework-matrix-")
    app = create_app(test_config(tmp))
    with app.app_context():
        _reset_schema()
        world = worlds.build(app)
        db.session.remove()
    result = Matrix(app, world, {}, {}, {}, {})
    _sign_in_everyone(app, result)
    with app.app_context():
        users = {actor.name: world.user(actor) for actor in ACTORS}
        for (endpoint, method), gate in ROUTES.items():
            result.expected[(endpoint, method)] = {
                name: expected_outcome(gate, endpoint, user, world) for name, user in users.items()
            }
        db.session.remove()
    patch = pytest.MonkeyPatch()
    patch.setattr(flask_sqlalchemy.session.Session, "commit", _flush_only)
    yield result
    patch.undo()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _url(app: Flask, endpoint: str, method: str, gate: Gate, world: worlds.World) -> str:
    names = dict(DEFAULTS) | dict(gate.params)
    rule = next(
        r
        for r in app.url_map.iter_rules()
        if r.endpoint == endpoint and method in (r.methods or ())
    )
    values = {}
    for argument in rule.arguments:
        name = names[argument]
        values[argument] = name[1:] if name.startswith("=") else world.ids[name]
    adapter = app.url_map.bind("localhost", url_scheme="https")
    return adapter.build(endpoint, values, method=method)


def _send(matrix: Matrix, actor: worlds.Actor, method: str, url: str) -> Any:
    client = matrix.app.test_client(use_cookies=False)
    client.environ_base["wsgi.url_scheme"] = "https"
    headers = {"Accept-Language": "en"}
    kw: dict[str, Any] = {}
    if url.startswith("/api/"):
        if actor.name in matrix.bearer:
            headers["Authorization"] = f"Bearer {matrix.bearer[actor.name]}"
        if method != "GET":
            kw = {"data": json.dumps({}), "content_type": "application/json"}
    else:
        name = matrix.app.config["SESSION_COOKIE_NAME"]
        headers["Cookie"] = f"{name}={matrix.cookies[actor.name]}"
        if method != "GET":
            kw = {"data": {"csrf_token": matrix.csrf[actor.name]}}

    def run() -> Any:
        response = client.open(url, method=method, headers=headers, **kw)
        response.get_data()
        response.close()  # a file sent from disk (static) is closed now
        return response

    return contextvars.Context().run(run)


def test_every_route_of_the_app_is_in_the_matrix(matrix: Matrix) -> None:
    """A new route fails the build until routes.py says which policy question it puts."""
    served = _routes(matrix.app)
    missing = sorted(served - ROUTES.keys())
    stale = sorted(ROUTES.keys() - served)
    assert not missing, f"routes missing from tests/security/routes.py: {missing}"
    assert not stale, f"routes.py names routes the app no longer serves: {stale}"


def test_every_guarded_route_lets_someone_in_and_keeps_someone_out(matrix: Matrix) -> None:
    """A gate nobody passes (or everybody passes) would make its row of the matrix prove little."""
    for route, row in matrix.expected.items():
        gate = ROUTES[route]
        if gate.public:
            continue
        signed_in = [row[a.name] for a in ACTORS if a.username is not None]
        assert {"allowed", "login"} & set(signed_in), f"{route}: nobody may use it"
        if not gate.signed_in and any(c.permission != SELF_PERMISSION for c in gate.checks):
            assert any(o != "allowed" for o in signed_in), f"{route}: everybody may use it"


@pytest.mark.parametrize(
    ("endpoint", "method"), sorted(ROUTES), ids=[f"{m} {e}" for e, m in sorted(ROUTES)]
)
def test_each_role_and_relation_meets_the_policy_decision(
    matrix: Matrix, endpoint: str, method: str
) -> None:
    gate = ROUTES[(endpoint, method)]
    url = _url(matrix.app, endpoint, method, gate, matrix.world)
    mismatches = []
    for actor in ACTORS:
        want = matrix.expected[(endpoint, method)][actor.name]
        response = _send(matrix, actor, method, url)
        got = observed_outcome(response)
        ok = got in ("allowed", "login") if want == "public" else got == want
        if not ok:
            mismatches.append(f"{actor.name}: policy says {want}, got {response.status_code}")
    assert not mismatches, f"{method} {endpoint}: " + "; ".join(mismatches)
