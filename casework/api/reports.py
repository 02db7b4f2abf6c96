"""The periodic report through the API: the web's report form (reports/forms.py) read from the query,
the same service (reports/service.view_report: the policy's REPORT_VIEW and the unit scope, the
suppression of small counts, the audit event), answered as JSON. Exports stay on the web, where the
password is entered again."""

from __future__ import annotations

from flask import Response, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from casework.accounts.models import Unit
from casework.api import bp
from casework.api import report_schemas as schemas
from casework.api.cases import _check_query, _json, me
from casework.api.problems import Problem
from casework.api.registry import Param, route
from casework.extensions import db
from casework.policy import Permission, require
from casework.reports import service
from casework.reports.forms import ReportForm
from casework.reports.periods import KINDS
from casework.reports.scope import GROUPINGS

_DATE = {"type": "string", "format": "date"}
_PARAMS = (
    Param(
        "unit", {"type": "string", "minLength": 1, "maxLength": 32}, "A unit code.", required=True
    ),
    Param("kind", {"type": "string", "enum": list(KINDS)}, "The kind of period.", required=True),
    Param(
        "year",
        {"type": "integer", "minimum": 2000, "maximum": 2100},
        "The year (month, quarter, half, year).",
    ),
    Param("month", {"type": "string", "enum": [str(m) for m in range(1, 13)]}, "With kind=month."),
    Param("quarter", {"type": "string", "enum": ["1", "2", "3", "4"]}, "With kind=quarter."),
    Param("half", {"type": "string", "enum": ["1", "2"]}, "With kind=half."),
    Param("start", _DATE, "First day, with kind=range."),
    Param("end", _DATE, "Last day (inclusive), with kind=range."),
    Param(
        "grouping",
        {"type": "string", "enum": list(GROUPINGS)},
        "Merged and retired units: as recorded (default) or under their successors.",
    ),
)
# What each kind of period needs besides the unit. The web's form falls back on defaults (its
# fields are prefilled); a program should say which period it means.
_NEEDS = {
    "month": ("year", "month"),
    "quarter": ("year", "quarter"),
    "half": ("year", "half"),
    "year": ("year",),
    "range": ("start", "end"),
}


def _form() -> ReportForm:
    """The web's form from the query: 422 with errors by parameter when it is not valid."""
    kind = request.args.get("kind", "")
    needed = [p.name for p in _PARAMS if p.required] + list(_NEEDS.get(kind, ()))
    missing = [name for name in needed if not request.args.get(name)]
    if missing:
        message = str(_l("This information is required."))
        raise Problem("invalid", errors={name: [message] for name in missing})
    args = request.args.to_dict()
    if kind == "range":
        # The form asks for a year whatever the kind; a range names its days instead.
        args.setdefault("year", args.get("start", "")[:4])
    form = ReportForm(formdata=MultiDict(args), meta={"csrf": False})
    if not form.validate():
        raise Problem(
            "invalid", errors={name: [str(m) for m in msgs] for name, msgs in form.errors.items()}
        )
    return form


@route(
    bp,
    "GET",
    "/reports",
    summary="The periodic report of a unit's subtree for a period, beside the previous period",
    response="Report",
    params=_PARAMS,
    problems=(403, 422),
)
def get_report() -> Response:
    # As the web: the permission first, then the question (a refused role learns nothing more).
    require(me(), Permission.REPORT_VIEW)
    _check_query(_PARAMS)
    form = _form()
    unit = db.session.scalar(select(Unit).where(Unit.code == form.unit.data))
    period = form.period()
    errors: dict[str, list[str]] = {}
    if unit is None:
        errors["unit"] = [str(_l("No unit has this code."))]
    if period is None:
        errors["end"] = [str(m) for m in form.end.errors]
    if unit is None or period is None:
        raise Problem("invalid", errors=errors)
    # Refuses (403, audited) a unit the caller may not report on; audits the view.
    report = service.view_report(me(), unit, period, form.grouping.data or "recorded")
    return _json(schemas.report(report))
