"""The case search page. The term travels only in a POST body and the results are rendered from that
POST (no redirect, no query string), so it is never in a URL, the browser's history or the logs."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from casework.cases import bp, search
from casework.cases.search_forms import CaseSearchForm
from casework.cases.views import me, show_errors
from casework.db import read_only
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import Permission, require


@bp.route("/search", methods=["GET", "POST"])
@read_only  # a search changes nothing (its audit event follows it)
def search_page():  # type: ignore[no-untyped-def]
    require(current_user, Permission.CASE_READ)
    form = CaseSearchForm()
    hits = None
    status = 200
    if form.validate_on_submit():
        try:
            hits = search.search_cases(me(), form.kind.data, form.term.data)
        except search.TooManySearches as exc:
            db.session.rollback()
            search.record_refused_search(me(), form.kind.data)
            form.form_errors.append(str(exc.message))
            status = 429
        except Invalid as exc:
            show_errors(form, exc)
            status = 422
    elif request.method == "POST":
        status = 422
    headers = {"Retry-After": "60"} if status == 429 else {}
    return render_template("cases/search.html", form=form, hits=hits), status, headers
