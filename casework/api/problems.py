"""Errors as application/problem+json (RFC 9457): a stable `type`, a title and a detail in the
caller's language, `errors` by field for invalid input. Every error rolls the request back first."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from casework import audit
from casework.audit import Tag
from casework.crypto.errors import KeyShredded
from casework.errors import DomainError, InvalidTransition, StaleEdit
from casework.extensions import db
from casework.policy import NotPermitted

MEDIA_TYPE = "application/problem+json"
URN = "urn:casework:problem:"

# status → (type, title, default detail). The types are part of the API's contract: never rename one.
KINDS: dict[str, tuple[int, object, object]] = {
    "bad-request": (400, _l("Bad request"), _l("The request could not be understood.")),
    "bad-json": (400, _l("Malformed JSON"), _l("The body is not valid JSON.")),
    "unauthenticated": (
        401,
        _l("Not authenticated"),
        _l("Send a valid, unexpired access token as Authorization: Bearer <token>."),
    ),
    "forbidden": (
        403,
        _l("Forbidden"),
        _l("Your role or unit does not allow this. The attempt has been recorded."),
    ),
    "insufficient-scope": (
        403,
        _l("Insufficient scope"),
        _l("This token may only read. Create a token with the write scope."),
    ),
    "password-change-required": (
        403,
        _l("Password change required"),
        _l("Sign in on the web and choose a new password first."),
    ),
    "not-found": (404, _l("Not found"), _l("There is nothing at this address.")),
    "method-not-allowed": (
        405,
        _l("Method not allowed"),
        _l("This method is not allowed on this address."),
    ),
    "conflict": (409, _l("Conflict"), _l("The record is not in a state that allows this.")),
    "erased": (
        410,
        _l("Erased"),
        _l("Personal data of this record has been erased for good (crypto-shredded)."),
    ),
    "stale": (
        412,
        _l("Stale version"),
        _l("Someone else saved this record after you read it. Nothing was changed."),
    ),
    "too-large": (413, _l("Body too large"), _l("The request body is too large.")),
    "unsupported-media-type": (
        415,
        _l("Unsupported media type"),
        _l("Send the body as application/json."),
    ),
    "invalid": (422, _l("Invalid input"), _l("Some information is missing or not valid.")),
    "precondition-required": (
        428,
        _l("If-Match required"),
        _l("Send the ETag you read as If-Match: this change needs the version it applies to."),
    ),
    "rate-limited": (
        429,
        _l("Too many requests"),
        _l("This token has made too many requests. Wait before trying again."),
    ),
    "server-error": (
        500,
        _l("Server error"),
        _l("The error has been logged. Nothing was changed; please try again."),
    ),
}

_BY_STATUS = {400: "bad-request", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}
_BY_STATUS |= {409: "conflict", 413: "too-large", 415: "unsupported-media-type", 422: "invalid"}
_BY_STATUS |= {429: "rate-limited"}


class Problem(Exception):
    """Raised by the API to answer with a problem document."""

    def __init__(
        self,
        kind: str,
        detail: object = None,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def response(problem: Problem) -> Response:
    status, title, default = KINDS[problem.kind]
    body: dict[str, object] = {
        "type": URN + problem.kind,
        "title": str(title),
        "status": status,
        "detail": str(problem.detail or default),
    }
    if problem.errors:
        body["errors"] = problem.errors
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = MEDIA_TYPE
    for name, value in problem.headers.items():
        resp.headers[name] = value
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
    return resp


def _actor():  # type: ignore[no-untyped-def]
    return current_user._get_current_object() if current_user.is_authenticated else None


def _allow(exc: HTTPException) -> dict[str, str]:
    return {name: value for name, value in exc.get_headers() if name == "Allow"}


def register_routing(app: Flask) -> None:
    """Unknown API addresses and methods: problem documents too (no blueprint answers those, so
    they are caught by status code, which Flask asks before the web's catch-all handler)."""
    from casework.errors_web import error_page
    from casework.security import is_api_request

    def routing(exc: HTTPException):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if is_api_request():
            return response(Problem(_BY_STATUS[exc.code or 404], headers=_allow(exc)))
        return error_page(exc.code or 404)

    app.register_error_handler(404, routing)
    app.register_error_handler(405, routing)


def register(bp: Blueprint) -> None:
    @bp.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        db.session.rollback()
        return response(exc)

    @bp.errorhandler(NotPermitted)
    def _not_permitted(exc: NotPermitted) -> Response:
        # As the web does: nothing kept, the refusal audited with what was asked for.
        db.session.rollback()
        audit.record(
            _actor(),
            Tag.ACCESS_REFUSED,
            outcome="refused",
            object_type=exc.object_type,
            object_id=exc.object_id,
            permission=exc.permission.value,
            endpoint=request.endpoint or "",
        )
        return response(Problem("not-found" if exc.hide else "forbidden"))

    @bp.errorhandler(StaleEdit)
    def _stale(exc: StaleEdit) -> Response:
        db.session.rollback()
        return response(Problem("stale", exc.message))

    @bp.errorhandler(StaleDataError)
    def _lost_race(exc: StaleDataError) -> Response:
        # Two requests passed the If-Match check at once; the database let one save through.
        db.session.rollback()
        return response(Problem("stale"))

    @bp.errorhandler(InvalidTransition)
    def _transition(exc: InvalidTransition) -> Response:
        db.session.rollback()
        return response(Problem("conflict", exc.message))

    @bp.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        db.session.rollback()
        errors = {name: [str(message)] for name, message in exc.fields.items()} or None
        kind = _BY_STATUS.get(exc.status, "invalid")
        return response(Problem(kind, exc.message, errors=errors))

    @bp.errorhandler(KeyShredded)
    def _erased(exc: KeyShredded) -> Response:
        db.session.rollback()
        return response(Problem("erased"))

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        db.session.rollback()
        kind = _BY_STATUS.get(exc.code or 400, "bad-request")
        return response(Problem(kind, headers=_allow(exc)))

    @bp.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        db.session.rollback()
        # Type and request id only: an exception's message may carry submitted data.
        current_app.logger.error(
            "unhandled %s in %s (request %s)",
            type(exc).__name__,
            request.endpoint,
            g.get("request_id"),
        )
        return response(Problem("server-error"))


def _wire() -> None:
    from casework.api import bp

    register(bp)


_wire()
