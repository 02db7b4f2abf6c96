"""casework: case management for the Vietnam Women's Union. create_app() is the only wiring."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request, session

from casework.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ConfigError", "create_app"]


def _select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return languages[0]
    if request.path.startswith("/api/"):
        # API clients have no session: they say their language in Accept-Language.
        return request.accept_languages.best_match(languages) or languages[0]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    # Vietnamese unless the user picked another language: staff share devices and browsers
    # often report English even for Vietnamese speakers.
    return languages[0]


def create_app(test_config: dict[str, Any] | None = None, *, startup_checks: bool = True) -> Flask:
    """Build the app: config (fails closed) → extensions → models → security → blueprints → CLI.

    startup_checks=False is for `casework restore` alone, which runs the checks itself at its end.
    """
    instance_path = os.environ.get("CASEWORK_INSTANCE_PATH") if test_config is None else None
    app = Flask(
        __name__,
        instance_path=instance_path or None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    load_config(app, test_config)
    if startup_checks:
        from casework.ops.restore import unfinished

        if (reason := unfinished(app)) is not None:
            raise ConfigError(reason[0].upper() + reason[1:] + ".")

    from casework import errors_web, i18n, security
    from casework.extensions import babel, csrf, db, migrate

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    i18n.install(app, babel)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))

    # Every model module is imported here so that metadata is complete for Alembic and create_all.
    from casework.accounts import models as _accounts_models  # noqa: F401
    from casework.api import models as _api_models  # noqa: F401
    from casework.audit import models as _audit_models  # noqa: F401
    from casework.cases import models as _case_models  # noqa: F401
    from casework.cases.workflow import models as _workflow_models  # noqa: F401
    from casework.crypto import models as _crypto_models  # noqa: F401
    from casework.dataprotection import models as _dataprotection_models  # noqa: F401
    from casework.referrals import models as _referral_models  # noqa: F401
    from casework.reports import models as _report_models  # noqa: F401
    from casework.retention import models as _retention_models  # noqa: F401

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            from casework.db import configure_sqlite

            configure_sqlite(db.engine)
        elif db.engine.dialect.name == "postgresql":
            from casework.db import configure_postgresql

            configure_postgresql(db.engine)

    from casework.audit import service as audit
    from casework.db import reading, start_reading, stop_reading

    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"

    @app.before_request
    def _transaction() -> None:
        # First of the request's hooks: the sign-in check already reads.
        db.session.info[audit.DEFER] = True
        if sqlite and (
            request.method in ("GET", "HEAD", "OPTIONS")
            or getattr(app.view_functions.get(request.endpoint or ""), "_read_only", False)
        ):
            start_reading()

    from casework import crypto

    crypto.init_app(app, selfcheck=startup_checks)  # the self-check refuses bad keys

    security.init_app(app)

    from sqlalchemy.orm import Session

    from casework.cases import rows as case_rows
    from casework.cases.workflow import pending as pending_deadlines
    from casework.policy import membership as policy_memory

    policy_memory.install(
        Session
    )  # remembered access decisions end with every flush and transaction
    case_rows.install(Session)  # so do a page's remembered case records
    pending_deadlines.install(Session)  # every commit keeps the boards' deadlines current
    audit.install(Session)  # a request's audit events are appended as its transaction commits

    @app.after_request
    def _commit(response):  # type: ignore[no-untyped-def]
        # One commit per request: services flush, the request commits whatever they did, and
        # its audit events are appended just before (audit.install). A request that only read
        # ends its reader's transaction, then appends its events in a writer's of their own:
        # either way they are stored before the response leaves.
        if reading():
            db.session.commit()
            stop_reading()
            if audit.queued(db.session):
                audit.append_queued(db.session)
        db.session.commit()
        return response

    @app.teardown_request
    def _rollback(exc: BaseException | None) -> None:
        stop_reading()
        if exc is not None:
            db.session.rollback()

    from casework.accounts import bp as accounts_bp
    from casework.accounts import views as _accounts_views  # noqa: F401 (routes)
    from casework.admin import bp as admin_bp
    from casework.admin import partner_views as _partner_views  # noqa: F401 (routes)
    from casework.admin import views as _admin_views  # noqa: F401 (routes)
    from casework.api import token_views as _token_views  # noqa: F401 (account pages)
    from casework.audit import bp as audit_bp
    from casework.audit import views as _audit_views  # noqa: F401 (routes)
    from casework.cases import attachment_views as _attachment_views  # noqa: F401 (routes)
    from casework.cases import bp as cases_bp
    from casework.cases import people_views as _people_views  # noqa: F401 (routes)
    from casework.cases import search_views as _cases_search_views  # noqa: F401 (routes)
    from casework.cases import timeline_views as _timeline_views  # noqa: F401 (routes)
    from casework.cases import views as _cases_views  # noqa: F401 (routes)
    from casework.cases.workflow import bp as workflow_bp
    from casework.cases.workflow import request_views as _request_views  # noqa: F401 (routes)
    from casework.cases.workflow import views as _workflow_views  # noqa: F401 (routes)
    from casework.dataprotection import bp as dataprotection_bp
    from casework.dataprotection import views as _dataprotection_views  # noqa: F401 (routes)
    from casework.main import bp as main_bp
    from casework.referrals import bp as referrals_bp
    from casework.referrals import portal_views as _portal_views  # noqa: F401 (routes)
    from casework.referrals import views as _referral_views  # noqa: F401 (routes)
    from casework.reports import bp as reports_bp
    from casework.reports import views as _report_views  # noqa: F401 (routes)
    from casework.retention import bp as retention_bp
    from casework.retention import views as _retention_views  # noqa: F401 (routes)

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(audit_bp, url_prefix="/audit")
    app.register_blueprint(cases_bp, url_prefix="/cases")
    app.register_blueprint(workflow_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(dataprotection_bp, url_prefix="/data-protection")
    app.register_blueprint(retention_bp, url_prefix="/retention")

    from casework.api import init_app as init_api

    init_api(app)  # /api/v1: bearer tokens only, so no CSRF token (and no cookie) is taken there

    errors_web.init_app(app)

    from casework import templating

    templating.init_app(app)

    from casework.cli import register_commands

    register_commands(app)
    return app
