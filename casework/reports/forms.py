"""Report forms: the choice of unit and period (a GET search), and the export (a POST with the
password, as every export needs a fresh proof of identity)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from casework.formfields import Form, IntegerField
from casework.reports.periods import KINDS, Period
from casework.reports.scope import GROUPINGS

KIND_LABELS = {
    "month": _l("Month"),
    "quarter": _l("Quarter"),
    "half": _l("Half-year"),
    "year": _l("Year"),
    "range": _l("Dates from … to …"),
}
GROUPING_LABELS = {
    "recorded": _l("As recorded: merged units under their old place in the tree"),
    "successor": _l("Under successors: merged units counted with the unit that took them over"),
}
FORMATS = ("csv", "xlsx")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class _Choice(Form):
    unit = StringField(
        _l("Unit code"),
        description=_l("The unit whose cases, with its units below, the report counts."),
        validators=[DataRequired(_l("Enter a unit code.")), Length(max=32)],
        filters=[_strip],
    )
    kind = SelectField(
        _l("Period"), choices=[SelectChoice(k, KIND_LABELS[k]) for k in KINDS], default="month"
    )
    year = IntegerField(
        _l("Year"),
        validators=[DataRequired(_l("Enter a year.")), NumberRange(2000, 2100)],
    )
    month = SelectField(
        _l("Month"), choices=[SelectChoice(str(m), str(m)) for m in range(1, 13)], default="1"
    )
    quarter = SelectField(
        _l("Quarter"), choices=[SelectChoice(str(q), str(q)) for q in range(1, 5)], default="1"
    )
    half = SelectField(
        _l("Half-year"),
        choices=[
            SelectChoice("1", _l("First half (January–June)")),
            SelectChoice("2", _l("Second half (July–December)")),
        ],
        default="1",
    )
    start = DateField(_l("From (date)"), validators=[Optional()])
    end = DateField(_l("To (date)"), validators=[Optional()])
    grouping = RadioField(
        _l("Merged and retired units"),
        choices=[SelectChoice(g, GROUPING_LABELS[g]) for g in GROUPINGS],
        default="recorded",
    )

    FIELDS = ("unit", "kind", "year", "month", "quarter", "half", "start", "end", "grouping")

    def validate_kind(self, field: SelectField) -> None:
        if field.data == "range" and (self.start.data is None or self.end.data is None):
            field.errors.append(_l("Enter both dates of the range."))

    def period(self) -> Period | None:
        """The chosen period, or None with an error on the form."""
        kind = self.kind.data
        try:
            if kind == "range":
                return Period.between(self.start.data, self.end.data)
            number = {"month": self.month, "quarter": self.quarter, "half": self.half}
            n = int(number[kind].data) if kind in number else 1
            return Period.calendar(kind, self.year.data, n)
        except (ValueError, TypeError):
            message = _l("The range must end after it starts and cover at most ten years.")
            self.end.errors = [*self.end.errors, message]
            return None

    def as_args(self) -> dict[str, str]:
        out = {}
        for name in self.FIELDS:
            value = getattr(self, name).data
            if value not in (None, ""):
                out[name] = value.isoformat() if isinstance(value, date) else str(value)
        return out


class ReportForm(_Choice):
    class Meta:
        csrf = False  # a search: GET, changes nothing


class ExportForm(_Choice):
    format = SelectField(
        _l("Format"), choices=[SelectChoice("xlsx", "Excel (XLSX)"), SelectChoice("csv", "CSV")]
    )
    current_password = PasswordField(
        _l("Your password"),
        description=_l("Exports need your password again."),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
    )


class NationalExportForm(Form):
    year = IntegerField(
        _l("Year"), validators=[DataRequired(_l("Enter a year.")), NumberRange(2000, 2100)]
    )
    current_password = PasswordField(
        _l("Your password"),
        description=_l("Exports need your password again."),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
    )
