"""The one place that turns errors into pages: no internals, no personal data, audited refusals."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from casework import audit
from casework.audit import Tag
from casework.crypto.errors import KeyShredded
from casework.errors import DomainError
from casework.extensions import db
from casework.policy import NotPermitted

TITLES = {
    400: _l("The request could not be understood"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    409: _l("This record has changed"),
    410: _l("This information has been erased"),
    413: _l("The file or form is too large"),
    422: _l("Please check what you entered"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
    503: _l("The system is busy"),
    507: _l("The server has run out of storage space"),
}

MESSAGES = {
    400: _l("The form may have expired. Go back, reload the page and try again."),
    403: _l("Your role or unit does not allow this. The attempt has been recorded."),
    404: _l("The address may be mistyped, or the page no longer exists."),
    405: _l("Go back and use the buttons on the page."),
    409: _l("Someone else saved a change meanwhile. Reload the page to see it, then try again."),
    410: _l(
        "Personal data on this page has been erased for good (crypto-shredded), so it cannot be "
        "shown. The de-identified record remains for statistics."
    ),
    413: _l("Files may be at most 20 MB."),
    422: _l("Some information is missing or not valid."),
    429: _l("Wait a few minutes before trying again."),
    500: _l("The error has been logged. Nothing you entered has been saved; please try again."),
    503: _l("Nothing you entered has been saved. Wait a moment, then send it again."),
    507: _l(
        "Nothing you entered has been saved. Keep your notes and tell your administrator that "
        "the database storage is full; try again once it has been freed."
    ),
}

SQLITE_FULL = 13  # sqlite3's SQLITE_FULL: "database or disk is full"
SQLITE_BUSY = 5  # "database is locked": the write lock stayed taken past the busy timeout
LOCK_NOT_AVAILABLE_SQLSTATE = "55P03"  # PostgreSQL's lock_not_available (lock_timeout)
DISK_FULL_SQLSTATE = "53100"  # PostgreSQL's disk_full


ERASED_FILE = _l(
    "This file has been erased for good: the case's data was crypto-shredded. "
    "It can no longer be downloaded."
)


def error_page(status: int, message: object = None):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=TITLES.get(status, TITLES[500]),
            message=message or MESSAGES.get(status, MESSAGES[500]),
        ),
        status,
    )


def storage_full(exc: BaseException | None) -> bool:
    """True when the database refused a write because its disk (or page limit) is full; also when
    that error reached the handler wrapped in a 500 (raised by the request's closing commit)."""
    from sqlalchemy.exc import OperationalError

    while exc is not None:
        if isinstance(exc, OperationalError):
            orig = exc.orig
            if getattr(orig, "sqlite_errorcode", None) == SQLITE_FULL:
                return True
            if getattr(orig, "sqlstate", None) == DISK_FULL_SQLSTATE:
                return True
            return "database or disk is full" in str(orig)
        exc = getattr(exc, "original_exception", None)
    return False


def busy(exc: BaseException | None) -> bool:
    """True when the database could not take a lock in time (an overloaded server): the request
    did nothing and may be sent again."""
    from sqlalchemy.exc import OperationalError

    while exc is not None:
        if isinstance(exc, OperationalError):
            orig = exc.orig
            if getattr(orig, "sqlite_errorcode", None) == SQLITE_BUSY:
                return True
            if getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE_SQLSTATE:
                return True
            return "database is locked" in str(orig)
        exc = getattr(exc, "original_exception", None)
    return False


def _busy_page():  # type: ignore[no-untyped-def]
    db.session.rollback()
    from flask import g

    current_app.logger.warning(
        "database busy in %s (request %s)", request.endpoint, g.get("request_id")
    )
    page, status = error_page(503)
    return page, status, {"Retry-After": "5"}


# A save that lost a race in the database itself (its UPDATE found a newer version, as happens
# on PostgreSQL when two requests passed the form's version check at once): a stale edit.
STALE_SAVE = _l("Someone else saved this record after you opened it. Your changes were not saved.")


def lost_race(exc: BaseException | None) -> bool:
    from sqlalchemy.orm.exc import StaleDataError

    while exc is not None:
        if isinstance(exc, StaleDataError):
            return True
        exc = getattr(exc, "original_exception", None)
    return False


def _storage_full_page():  # type: ignore[no-untyped-def]
    db.session.rollback()
    from flask import g

    # Logged for the operator (no submitted data in it); the user is told nothing was saved.
    current_app.logger.error(
        "database storage full in %s (request %s)", request.endpoint, g.get("request_id")
    )
    return error_page(507)


def _actor():  # type: ignore[no-untyped-def]
    return current_user if current_user.is_authenticated else None


def init_app(app: Flask) -> None:
    @app.errorhandler(NotPermitted)
    def _not_permitted(exc: NotPermitted):  # type: ignore[no-untyped-def]
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
        return error_page(404 if exc.hide else 403)

    @app.errorhandler(KeyShredded)
    def _erased(exc: KeyShredded):  # type: ignore[no-untyped-def]
        """Data of an erased case or person: 410 Gone, and the attempt audited (ids only)."""
        db.session.rollback()
        args = request.view_args or {}
        attachment_id = args.get("attachment_id")
        audit.record(
            _actor(),
            Tag.ATTACHMENT_DOWNLOAD if attachment_id else Tag.CASE_VIEW,
            outcome="refused",
            object_type="attachment" if attachment_id else "case_file",
            object_id=attachment_id or args.get("case_id"),
            reason="erased",
            case_id=str(args["case_id"]) if "case_id" in args else None,
            endpoint=request.endpoint or "",
        )
        if attachment_id:
            return error_page(410, ERASED_FILE)
        return error_page(410)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return error_page(exc.status, exc.message)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return error_page(400)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        if storage_full(exc):  # a full disk met by the request's closing commit
            return _storage_full_page()
        if busy(exc):
            return _busy_page()
        db.session.rollback()
        if lost_race(exc):
            return error_page(409, STALE_SAVE)
        status = exc.code or 500
        return error_page(status if status in TITLES else 400)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        if storage_full(exc):
            return _storage_full_page()
        if busy(exc):
            return _busy_page()
        db.session.rollback()
        if lost_race(exc):
            return error_page(409, STALE_SAVE)
        # Type and request id only: an exception's message may carry submitted data.
        from flask import g

        current_app.logger.error(
            "unhandled %s in %s (request %s)",
            type(exc).__name__,
            request.endpoint,
            g.get("request_id"),
        )
        return error_page(500)
