"""Forms of the data-protection registers. Times are typed in Vietnam's time zone, as elsewhere
(casework.cases.forms.to_utc)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from casework.cases.forms import MultiCheckboxField, choices
from casework.dataprotection import vocab
from casework.formfields import Form, IntegerField

TIME_FORMAT = "%Y-%m-%dT%H:%M"


class RequestForm(Form):
    person = SelectField(_l("Whose data"), validators=[DataRequired(_l("Choose a person."))])
    kind = RadioField(_l("What is asked"), validators=[DataRequired(_l("Choose what is asked."))])
    requester_relation = RadioField(
        _l("Who asks"), validators=[DataRequired(_l("Choose who asks."))]
    )
    safety_concern = BooleanField(
        _l("The request may come from, or for, the alleged perpetrator"),
        description=_l(
            "Tick it if anything suggests so (his phone, his relatives, pressure on the victim). "
            "A reviewer checks every request before anything is released."
        ),
    )
    received_at = DateTimeLocalField(
        _l("Received on"),
        format=TIME_FORMAT,
        validators=[InputRequired(_l("Enter when the request was received."))],
    )
    details = TextAreaField(
        _l("What is asked"),
        description=_l(
            "In the requester's words. Encrypted, seen only by the units handling the case."
        ),
        validators=[DataRequired(_l("Write what is asked.")), Length(max=2000)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = choices(vocab.REQUEST_KINDS)
        self.requester_relation.choices = choices(vocab.REQUESTER_RELATIONS)


class VersionForm(Form):
    """A button that acts on a request as it was shown (acknowledge, erase)."""

    version = HiddenField()


class ExportForm(VersionForm):
    """The access export: like every export of personal data, it needs the password again."""

    current_password = PasswordField(
        _l("Your password"),
        description=_l("Exports need your password again."),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
    )


class ReviewForm(VersionForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("approve", _l("Grant the request")),
            SelectChoice("refuse", _l("Refuse the request")),
        ],
        validators=[DataRequired(_l("Choose a decision."))],
    )
    safety_concern = BooleanField(_l("The request may come from, or for, the alleged perpetrator"))
    note = TextAreaField(
        _l("Reasons"),
        description=_l("Required when refusing: the requester must be told why."),
        validators=[Optional(), Length(max=2000)],
    )


class CompleteForm(VersionForm):
    note = TextAreaField(
        _l("What was done"),
        validators=[DataRequired(_l("Write what was done.")), Length(max=2000)],
    )


class BreachForm(Form):
    discovered_at = DateTimeLocalField(
        _l("Discovered on"),
        format=TIME_FORMAT,
        validators=[InputRequired(_l("Enter when the breach was discovered."))],
    )
    categories = MultiCheckboxField(
        _l("Kinds of data affected"), validators=[DataRequired(_l("Choose at least one."))]
    )
    units = MultiCheckboxField(
        _l("Units whose data is affected"), validators=[DataRequired(_l("Choose at least one."))]
    )
    people_affected = IntegerField(
        _l("People affected (estimate)"),
        validators=[Optional(), NumberRange(min=0, max=10_000_000)],
    )
    description = TextAreaField(
        _l("What happened"),
        description=_l(
            "What was lost or exposed, how, and what has been done. Do not name victims or "
            "write their details: this register is about the incident."
        ),
        validators=[DataRequired(_l("Describe what happened.")), Length(max=2000)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.categories.choices = choices(vocab.BREACH_CATEGORIES)


class NotifiedForm(VersionForm):
    notified_at = DateTimeLocalField(
        _l("Authority notified on"),
        format=TIME_FORMAT,
        validators=[InputRequired(_l("Enter when the authority was notified."))],
    )
