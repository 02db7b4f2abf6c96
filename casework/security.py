"""Default-deny sign-in, server-side sessions, security headers and the CSP."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from typing import TypeVar

from flask import (
    Flask,
    Request,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from casework.accounts import service as accounts
from casework.accounts.models import User
from casework.extensions import login_manager

F = TypeVar("F", bound=Callable[..., object])

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

# Endpoints a signed-in user who must change her password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {
    "accounts.change_password",
    "accounts.logout",
    "static",
    "main.language",
}


class InMemoryUploads(Request):
    """Keep uploaded files in memory (MAX_CONTENT_LENGTH bounds them) instead of Werkzeug's
    default of spooling anything over 500 KB to an unencrypted file in the system temp folder:
    an attachment is plaintext until casework.crypto.files has encrypted it."""

    def _get_file_stream(  # type: ignore[override]
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> io.BytesIO:
        return io.BytesIO()


def public(view: F) -> F:
    """Mark a view as reachable without signing in. Everything else requires a session."""
    view._public = True  # type: ignore[attr-defined]
    return view


def is_public_endpoint(app: Flask, endpoint: str | None) -> bool:
    if endpoint is None or endpoint == "static":
        return True
    view = app.view_functions.get(endpoint)
    return bool(getattr(view, "_public", False))


def is_api_request() -> bool:
    """The JSON API (/api/…) knows only bearer tokens: a session cookie is never read there."""
    return request.path.startswith("/api/")


@login_manager.request_loader
def _load_user_from_session(_request: object) -> User | None:
    if is_api_request():
        from casework.api import auth as api_auth

        return api_auth.user_from_bearer()
    token = session.get("sid")
    if not token:
        return None
    state = accounts.resume_session(token)
    if state.session is None:
        session.pop("sid", None)
        if state.expired:
            g.session_expired = True
        return None
    g.user_session = state.session
    return state.session.user


def sign_in(user: User) -> None:
    """Start a fresh browser session: nothing from before sign-in carries over."""
    lang = session.get("lang")
    session.clear()
    session["sid"] = accounts.start_session(user)
    if lang:
        session["lang"] = lang
    session.permanent = False


def sign_out() -> None:
    sess = g.get("user_session")
    if sess is not None:
        accounts.end_session(sess)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


NUL_REFUSED = _l("The text holds a character that cannot be stored. Remove it and try again.")


def init_app(app: Flask) -> None:
    app.request_class = InMemoryUploads
    login_manager.init_app(app)
    login_manager.session_protection = None  # sessions are server-side and checked every request
    login_manager.login_view = "accounts.login"

    @app.before_request
    def _request_id() -> None:
        g.request_id = secrets.token_hex(8)

    @app.before_request
    def _same_origin_writes() -> None:
        """Refuse state changes started by another site (on top of the CSRF token)."""
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            abort(400)
        # Under Referrer-Policy: no-referrer browsers send "Origin: null" even for our own forms.
        origin = request.headers.get("Origin")
        if origin not in (None, "null") and origin != request.host_url.rstrip("/"):
            abort(400)

    @app.before_request
    def _no_nul_characters() -> Response | None:
        """A NUL character can be stored in no text column (PostgreSQL refuses it): refuse a form
        or query string holding one before anything reads it. (JSON bodies: api/jsonforms.py.)"""
        if not (
            any("\x00" in v for values in request.args.listvalues() for v in values)
            or (
                # Only a form's body: reading another would fix its size limit too early (the
                # API sets its own).
                request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
                and any("\x00" in v for values in request.form.listvalues() for v in values)
            )
        ):
            return None
        if is_api_request():
            from casework.api.problems import Problem, response

            return response(Problem("bad-request", NUL_REFUSED))
        from casework.errors_web import error_page

        return error_page(400, NUL_REFUSED)  # type: ignore[no-any-return]

    @app.before_request
    def _default_deny() -> Response | None:
        if is_public_endpoint(current_app, request.endpoint):
            return None
        if is_api_request():
            from casework.api import auth as api_auth

            return api_auth.gate()  # a problem document instead of a redirect to the login page
        if not current_user.is_authenticated:
            if g.get("session_expired"):
                flash(_("Your session has ended. Please sign in again."), "info")
            return redirect(url_for("accounts.login"), code=303)
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            flash(_("Please choose a new password before you continue."), "info")
            return redirect(url_for("accounts.change_password"), code=303)
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Referrer-Policy"] = "no-referrer"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Cross-Origin-Resource-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        if request.is_secure:
            h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if request.endpoint != "static":
            # Nothing a signed-in page shows may stay in a shared phone's cache or history.
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        return response
