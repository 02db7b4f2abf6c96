"""Who is calling the API and may she: the bearer token, its scope, its rate, and one audit event
per request (method, endpoint name, status: never a query value or a body)."""

from __future__ import annotations

import math
from datetime import timedelta

from flask import Response, current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from casework import audit
from casework.accounts.models import LoginFailure, User
from casework.accounts.service import address_blocked_until
from casework.api import bp, registry, tokens
from casework.api.problems import Problem, response
from casework.audit import Tag
from casework.audit.models import AuditEvent
from casework.db import begin_writing, utcnow
from casework.extensions import db

WINDOW = timedelta(minutes=1)
_BLOCKED_DETAIL = _l(
    "Too many requests with a token that is not valid came from this network. Wait before trying again."
)
READ_METHODS = ("GET", "HEAD", "OPTIONS")


def user_from_bearer() -> User | None:
    """Flask-Login's loader on /api/…: the owner of a usable token, or None (a cookie is ignored).

    A token that does not authenticate counts as a failed sign-in from the client's address, under
    the sign-in's own rule (accounts.service.address_blocked_until, SECURITY.md: 30 failures in 10
    minutes block the address for 10): while blocked, no token from there is even looked at."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    address = request.remote_addr or "unknown"
    until = address_blocked_until(address)
    if until is not None:
        g.api_blocked_until = until
        return None
    token = tokens.authenticate(secret.strip())
    if token is None:
        begin_writing(db.session)
        db.session.add(LoginFailure(address=address))  # committed with the request's 401
        g.api_refusal = "bad_token"
        return None
    g.api_token = token
    return token.user


def gate() -> Response | None:
    """The default-deny check for the API: a problem document where the web would redirect."""
    if not current_user.is_authenticated or g.get("api_token") is None:
        until = g.get("api_blocked_until")
        if until is not None:
            g.api_refusal = "address_throttled"
            wait = max(1, math.ceil((until - utcnow()).total_seconds()))
            return response(
                Problem("rate-limited", _BLOCKED_DETAIL, headers={"Retry-After": str(wait)})
            )
        return response(Problem("unauthenticated"))
    if current_user.must_change_password:
        return response(Problem("password-change-required"))
    return None


def _retry_after(token_id: int) -> int | None:
    """Seconds until the token may call again, or None while under its rate. The count is read from
    the audit log through ix_audit_event_object_at (the app keeps no state between requests)."""
    limit = int(current_app.config["API_RATE_PER_MINUTE"])
    now = utcnow()
    recent = list(
        db.session.scalars(
            select(AuditEvent.at)
            .where(
                AuditEvent.object_type == "api_token",
                AuditEvent.object_id == str(token_id),
                AuditEvent.at > now - WINDOW,
                AuditEvent.tag == Tag.API_REQUEST.value,
            )
            .order_by(AuditEvent.at.desc())
            .limit(limit)
        )
    )
    if len(recent) < limit:
        return None
    # The oldest of the last `limit` calls leaves the window first.
    return max(1, math.ceil((recent[-1] + WINDOW - now).total_seconds()))


@bp.before_request
def _guard() -> None:
    request.max_content_length = int(current_app.config["API_MAX_CONTENT_LENGTH"])
    token = g.get("api_token")
    if token is None:  # only reachable if a route were public: there is none
        raise Problem("unauthenticated")
    wait = _retry_after(token.id)
    if wait is not None:
        raise Problem("rate-limited", headers={"Retry-After": str(wait)})
    route = registry.for_endpoint(request.endpoint)
    # Reading never needs more than read; anything else needs what its route declares (write when
    # a route were somehow unregistered: default deny).
    needs_write = request.method not in READ_METHODS and (route is None or route.scope == "write")
    if needs_write and token.scope != "write":
        raise Problem("insufficient-scope")


@bp.after_request
def _record(resp: Response) -> Response:
    """One event per request, refusals and errors included, in the request's transaction."""
    token = g.get("api_token")
    status = resp.status_code
    audit.record(
        token.user if token is not None else None,
        Tag.API_REQUEST,
        outcome="ok" if status < 400 else ("error" if status >= 500 else "refused"),
        object_type="api_token",
        object_id=token.id if token is not None else None,
        method=request.method,
        endpoint=request.endpoint or "",
        status=status,
        # Why a caller was turned away before any token was found; never the token itself.
        **({"reason": g.api_refusal} if g.get("api_refusal") else {}),
    )
    return resp
