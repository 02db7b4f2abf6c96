"""Report pages: choose a unit and a period → authorise → build → render (audited); exports after
the password is entered again (audited, refused attempts too)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casework import audit
from casework.accounts import passwords
from casework.accounts.models import Unit, User
from casework.accounts.units import subtree_select
from casework.audit import Tag
from casework.extensions import db
from casework.policy import Permission, can, require
from casework.reports import bp, charts, exports, national, service
from casework.reports.forms import ExportForm, NationalExportForm, ReportForm, _Choice
from casework.reports.periods import report_tz

UNIT_CHOICES_MAX = 400
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def me() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _unit_choices(user: User) -> list[Unit]:
    """Units offered in the form: her own (officers), her subtree (reviewers), by code."""
    if not can(user, Permission.REPORT_SUBTREE) or user.unit_id is None:
        return [user.unit] if user.unit is not None else []
    stmt = select(Unit).where(Unit.id.in_(subtree_select(user.unit_id)))
    return list(db.session.scalars(stmt.order_by(Unit.code).limit(UNIT_CHOICES_MAX)))


def _defaults(form: _Choice, user: User) -> None:
    today = datetime.now(report_tz()).date()
    form.unit.data = user.unit.code if user.unit is not None else ""
    form.year.data = today.year
    form.month.data = str(today.month)


def _chosen(form: _Choice) -> tuple[Unit, Any] | None:
    """The unit and period of a validated form, or None with the errors on the form."""
    unit = db.session.scalar(select(Unit).where(Unit.code == form.unit.data))
    if unit is None:
        form.unit.errors = [*form.unit.errors, _("No unit has this code.")]
    period = form.period()
    if unit is None or period is None:
        return None
    return unit, period


def _page(form: _Choice, export_form: ExportForm, report: service.Report | None, status: int):  # type: ignore[no-untyped-def]
    hidden = exports.hidden_text(report) if report else ""
    chart = {}
    if report is not None:
        this, before = _("This period"), _("Previous period")
        chart = {
            t.key: charts.bar_chart(t, f"chart-{t.key}", this, before, hidden)
            for t in report.tables
            if t.chartable and any(r.current or r.previous for r in t.rows)
        }
    return (
        render_template(
            "reports/report.html",
            form=form,
            export_form=export_form,
            report=report,
            charts=chart,
            hidden=hidden,
            units=_unit_choices(me()),
            period_text=exports.period_text,
            title=exports.title(report) if report else _("Reports"),
            national_allowed=can(me(), Permission.REPORT_NATIONAL, me().unit),
        ),
        status,
    )


@bp.get("/reports")
def index():  # type: ignore[no-untyped-def]
    require(current_user, Permission.REPORT_VIEW)
    user = me()
    if not request.args:
        form = ReportForm(formdata=None)
        _defaults(form, user)
        return _page(form, ExportForm(formdata=None), None, 200)
    form = ReportForm(formdata=request.args)
    chosen = _chosen(form) if form.validate() else None
    if chosen is None:
        return _page(form, ExportForm(formdata=None), None, 422)
    unit, period = chosen
    report = service.view_report(user, unit, period, form.grouping.data)
    export_form = ExportForm(formdata=None, data=form.data)
    return _page(form, export_form, report, 200)


@bp.post("/reports/export")
def export():  # type: ignore[no-untyped-def]
    require(current_user, Permission.REPORT_VIEW)
    user = me()
    form = ExportForm()
    chosen = _chosen(form) if form.validate_on_submit() else None
    if chosen is None:
        # The unit and period are the choice form's fields on the page: their errors go there
        # (the export part shows only the format and the password).
        choice = ReportForm(formdata=request.form)
        if choice.validate():
            _chosen(choice)
        return _page(choice, form, None, 422)
    unit, period = chosen
    service.authorise(user, unit)
    if not passwords.verify_password(user.password_hash, form.current_password.data):
        audit.record(
            user,
            Tag.REPORT_EXPORT,
            unit,
            outcome="refused",
            reason="password",
            period=period.slug,
        )
        form.current_password.errors = [_("The password is not correct.")]
        return _page(ReportForm(formdata=request.form), form, None, 422)
    fmt = form.format.data
    report = service.build_report(user, unit, period, form.grouping.data)
    service.record_export(user, report, fmt)
    body = exports.to_xlsx(report) if fmt == "xlsx" else exports.to_csv(report)
    name = f"report-{unit.code}-{period.slug}.{fmt}"
    return Response(
        body,
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/reports/national")
def national_form():  # type: ignore[no-untyped-def]
    user = me()
    national.authorise(user)
    form = NationalExportForm(formdata=None)
    form.year.data = datetime.now(report_tz()).year - 1
    return render_template("reports/national.html", form=form)


@bp.post("/reports/national")
def national_export():  # type: ignore[no-untyped-def]
    user = me()
    national.authorise(user)
    form = NationalExportForm()
    if not form.validate_on_submit():
        return render_template("reports/national.html", form=form), 422
    year = form.year.data
    if not passwords.verify_password(user.password_hash, form.current_password.data):
        national.record(user, year, 0, outcome="refused")
        form.current_password.errors = [_("The password is not correct.")]
        return render_template("reports/national.html", form=form), 422
    national.record(user, year, national.count_rows(user, year))
    # The export's event is committed by the request hook before the first chunk is read.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return Response(
        national.csv_chunks(app, user.unit_id, year),
        mimetype="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="national-dv-{user.unit.code}-{year}.csv"'
        },
    )
