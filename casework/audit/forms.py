"""Audit viewer forms: the filter (a GET search) and the CSV export (a POST with the password)."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from casework.audit.models import OUTCOMES
from casework.audit.tags import Tag
from casework.formfields import Form

OBJECT_TYPE_RE = r"^[a-z][a-z_]{0,31}$"
OBJECT_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


OUTCOME_LABELS = {"ok": _l("Done"), "refused": _l("Refused"), "error": _l("Failed")}


class _Filters(Form):
    date_from = DateField(_l("From (date)"), validators=[Optional()])
    date_to = DateField(_l("To (date)"), validators=[Optional()])
    actor = StringField(
        _l("Staff username"), validators=[Optional(), Length(max=64)], filters=[_strip]
    )
    unit = StringField(
        _l("Unit code"),
        description=_l("Events by staff of this unit."),
        validators=[Optional(), Length(max=32)],
        filters=[_strip],
    )
    tag = SelectField(
        _l("Action"),
        choices=[SelectChoice("", _l("Any action"))]
        + [SelectChoice(t.value, t.value) for t in sorted(Tag, key=str)],
        validators=[Optional()],
    )
    object_type = StringField(
        _l("Object type"),
        validators=[
            Optional(),
            Regexp(OBJECT_TYPE_RE, message=_l("Lower-case letters and underscores only.")),
        ],
        filters=[_strip],
    )
    object_id = StringField(
        _l("Object id"),
        validators=[
            Optional(),
            Regexp(OBJECT_ID_RE, message=_l("Letters, digits, dots, colons and dashes only.")),
        ],
        filters=[_strip],
    )
    outcome = SelectField(
        _l("Outcome"),
        choices=[SelectChoice("", _l("Any outcome"))]
        + [SelectChoice(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        validators=[Optional()],
    )

    FILTER_FIELDS = (
        "date_from",
        "date_to",
        "actor",
        "unit",
        "tag",
        "object_type",
        "object_id",
        "outcome",
    )

    def as_args(self) -> dict[str, str]:
        """The filters in use, as query-string values (for links and the export form)."""
        args = {}
        for name in self.FILTER_FIELDS:
            value = getattr(self, name).data
            if value:
                args[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return args


class AuditFilterForm(_Filters):
    class Meta:
        csrf = False  # a search: GET, changes nothing


class ExportForm(_Filters):
    """The same filters, sent again with the password: exports need a fresh proof of identity."""

    current_password = PasswordField(
        _l("Your password"),
        description=_l("Exports need your password again."),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
    )
