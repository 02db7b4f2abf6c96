"""Template globals: the access policy, dates in Vietnam's time zone, the language list; static
file URLs that carry a hash of the file's content, so browsers may keep the file for a year."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from flask import Flask, Response, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.security import safe_join

from casework.cases import vocab
from casework.i18n import when
from casework.labels import LEVEL_LABELS, PARTNER_KIND_LABELS, ROLE_LABELS, label
from casework.policy import Permission, can


def _unread() -> int:
    from casework.cases.workflow.notifications import unread_count

    return unread_count(current_user) if current_user.is_authenticated else 0


# A year: the URL changes with the content, so a cached copy is never stale.
STATIC_MAX_AGE = 31_536_000
# The one stylesheet every page links (templates/base.html).
STYLESHEET = "css/casework.css"
_hashes: dict[str, tuple[tuple[int, int], str]] = {}


def static_hash(app: Flask, filename: str) -> str | None:
    """The first 12 hex digits of the SHA-256 of a static file (None if there is no such file).

    Kept per path and recomputed only when the file's size or modification time changes."""
    folder = app.static_folder
    path = safe_join(folder, filename) if folder is not None else None
    if path is None:  # no static folder, or a name that leads out of it
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    stamp = (st.st_mtime_ns, st.st_size)
    known = _hashes.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    _hashes[path] = (stamp, digest)
    return digest


def init_app(app: Flask) -> None:
    @app.url_defaults
    def _static_version(endpoint: str, values: dict[str, Any]) -> None:
        # Every url_for('static', filename=…) gets ?v=<content hash>: a changed file has a new URL.
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = static_hash(app, values["filename"])
            if digest is not None:
                values["v"] = digest

    @app.after_request
    def _preload_stylesheet(response: Response) -> Response:
        # The header arrives before the page's HTML: a slow phone asks for the stylesheet a few
        # hundred milliseconds sooner than its parser would (from the cache on later visits).
        page = response.mimetype == "text/html" and not 300 <= response.status_code < 400
        if page and request.endpoint != "static":
            href = url_for("static", filename=STYLESHEET)
            response.headers.add("Link", f"<{href}>; rel=preload; as=style")
        return response

    @app.after_request
    def _static_cache(response: Response) -> Response:
        # Only a URL naming the file's current content may be kept for a year; any other static
        # request keeps Flask's default (revalidate with the ETag).
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        filename = (request.view_args or {}).get("filename", "")
        digest = static_hash(app, filename)
        if digest is not None and request.args.get("v") == digest:
            cc = response.cache_control
            cc.no_cache = None
            cc.public = True
            cc.max_age = STATIC_MAX_AGE
            cc.immutable = True
        return response

    @app.context_processor
    def _globals() -> dict[str, object]:
        # The user, resolved once per page: a page asks can() of the menu and each record.
        user = current_user._get_current_object()  # type: ignore[attr-defined]
        return {
            "get_locale": get_locale,
            "can": lambda permission, obj=None: can(user, permission, obj),
            "Permission": Permission,
            "role_label": lambda code: label(ROLE_LABELS, code),
            "level_label": lambda code: label(LEVEL_LABELS, code),
            "partner_kind_label": lambda code: label(PARTNER_KIND_LABELS, code),
            "vocab": vocab,
            "unread_notifications": _unread,
            "label": label,
        }

    @app.template_filter("without")
    def _without(mapping: dict[str, object], key: str) -> dict[str, object]:
        return {k: v for k, v in mapping.items() if k != key}

    app.add_template_filter(when, "when")
