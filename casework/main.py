"""Home page and language choice."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from casework.security import public

bp = Blueprint("main", __name__)


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    from flask_login import current_user

    from casework.reports import dashboard

    return render_template(
        "main/home.html", dashboard=dashboard.for_user(current_user._get_current_object())
    )


@bp.post("/language")
@public
def language():  # type: ignore[no-untyped-def]
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    # Back to a page of this site only; never an address taken from the request.
    target = request.form.get("back", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("main.home")
    return redirect(target, code=303)


@bp.get("/healthz")
@public
def healthz():  # type: ignore[no-untyped-def]
    return {"status": "ok"}
