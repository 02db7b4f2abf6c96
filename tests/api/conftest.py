"""API fixtures: the case organisation, tokens made through the service, and a client that sends a
bearer token (and no cookie) the way an integration would."""

from __future__ import annotations

import contextvars
import json
from typing import Any

import pytest
from flask import Flask

from casework.api import tokens
from casework.extensions import db
from tests.cases.conftest import org  # noqa: F401 (fixture)
from tests.conftest import PASSWORD
from tests.referrals.conftest import partners  # noqa: F401 (fixture)


def make_token(user, scope: str = "write", days: int = 30) -> str:  # type: ignore[no-untyped-def]
    _token, secret = tokens.create_token(
        user, name=f"{user.username} {scope}", scope=scope, days=days, current_password=PASSWORD
    )
    db.session.commit()
    return secret


class Api:
    """Requests with `Authorization: Bearer`, each in its own context after the test's commit."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()
        self.client.environ_base["wsgi.url_scheme"] = "https"

    def call(  # type: ignore[no-untyped-def]
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ):
        from flask import has_app_context

        if has_app_context():
            db.session.commit()
        sent = {"Accept-Language": "en", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None:
            kw.setdefault("data", json.dumps(body))
            kw.setdefault("content_type", "application/json")

        def run():  # type: ignore[no-untyped-def]
            response = self.client.open("/api/v1" + path, method=method, headers=sent, **kw)
            response.get_data()
            return response

        return contextvars.Context().run(run)

    def get(self, path: str, token: str | None = None, **kw: Any):  # type: ignore[no-untyped-def]
        return self.call("GET", path, token, **kw)

    def post(self, path: str, token: str | None, body: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
        return self.call("POST", path, token, body, **kw)

    def patch(self, path: str, token: str | None, body: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
        return self.call("PATCH", path, token, body, **kw)


@pytest.fixture
def api(app: Flask) -> Api:
    return Api(app)


def intake_body(**overrides: Any) -> dict[str, Any]:
    from tests.conftest import CANARY

    body: dict[str, Any] = {
        "received_at": "2026-01-05T08:30:00+07:00",
        "source": "victim",
        "types": ["domestic_violence"],
        "summary": f"{CANARY} was beaten by her husband last night.",
        "victim_name": CANARY,
        "victim_phone": "0912 345 678",
        "immediate_danger": True,
    }
    body.update(overrides)
    return body


def answers_for(body: object, ok: int) -> tuple[int, ...]:
    """What a fuzzed body may get: done, or refused as invalid; a NUL character anywhere (which no
    text column can hold) is refused before the fields are read, as a bad request."""
    return (ok, 422, 400) if "\\u0000" in json.dumps(body) else (ok, 422)


def is_problem(response, status: int, kind: str) -> bool:  # type: ignore[no-untyped-def]
    doc = response.get_json(force=True, silent=True) or {}
    return (
        response.status_code == status
        and response.mimetype == "application/problem+json"
        and doc.get("type") == f"urn:casework:problem:{kind}"
        and doc.get("status") == status
        and bool(doc.get("title"))
        and bool(doc.get("detail"))
    )
