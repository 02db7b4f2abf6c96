"""Legal-hold forms: set a hold on a case named by its code; lift one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from casework.formfields import Form


class HoldForm(Form):
    case_code = StringField(
        _l("Case code"),
        description=_l("As on the case file, for example HY-2026-000123."),
        validators=[DataRequired(_l("Enter the case code.")), Length(max=32)],
    )
    reason = TextAreaField(
        _l("Reason for the hold"),
        description=_l("Who asked for the file and their reference (court, police, inspection)."),
        validators=[DataRequired(_l("Give a reason.")), Length(max=500)],
    )
    until = DateField(
        _l("Held until (inclusive)"),
        description=_l("Leave empty to hold the case until the hold is lifted."),
        validators=[Optional()],
    )


class LiftForm(Form):
    """Only the CSRF token: lifting needs no more than the button."""
