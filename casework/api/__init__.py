"""JSON API v1 (/api/v1): the same services and access policy as the web pages, reached with
personal access tokens. Errors are problem documents; the OpenAPI document is generated from the
route registry."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    # Importing the modules wires routes, guards and error handlers to the blueprint, once.
    from casework.api import (  # noqa: F401
        action_requests,
        audit,
        auth,
        cases,
        openapi,
        people,
        problems,
        referrals,
        reports,
        support,
        timeline,
        workflow,
    )
    from casework.extensions import csrf

    # A bearer token is not sent by a browser on its own, so a forged cross-site request carries
    # none: CSRF tokens protect cookies, and the API accepts no cookie.
    csrf.exempt(bp)
    app.register_blueprint(bp)
    problems.register_routing(app)
