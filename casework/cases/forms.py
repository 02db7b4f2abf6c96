"""Case forms: intake (short, for a phone), intake corrections, classification, break-glass."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from casework.cases import vocab
from casework.formfields import Form


def local_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def to_utc(local: datetime) -> datetime:
    """A time typed in Vietnam's time zone (the form shows local time) as UTC."""
    try:
        return local.replace(tzinfo=local_tz()).astimezone(UTC)
    except OverflowError:
        # The first hours of year 1 have no UTC time: the earliest one stands for them, and the
        # services refuse it as they refuse any time before the case (never a server error).
        return datetime.min.replace(tzinfo=UTC)


def to_local_naive(moment: datetime) -> datetime:
    return moment.astimezone(local_tz()).replace(tzinfo=None)


def choices(mapping: dict[str, object], blank: object | None = None) -> list[tuple[str, object]]:
    items = [(code, label) for code, label in mapping.items()]
    return [("", blank), *items] if blank is not None else items


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class IntakeForm(Form):
    received_at = DateTimeLocalField(
        _l("Received at"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(_l("Enter when the case reached you."))],
    )
    source = SelectField(
        _l("How did the case reach you?"),
        validators=[DataRequired(_l("Choose how the case reached you."))],
    )
    types = MultiCheckboxField(
        _l("Case type"),
        description=_l("Tick every type that applies. Details can be added later."),
    )
    summary = TextAreaField(
        _l("What happened"),
        description=_l(
            "A few sentences. This is encrypted and seen only by the units handling the case."
        ),
        validators=[DataRequired(_l("Write a short summary.")), Length(max=4000)],
    )
    victim_name = StringField(
        _l("Victim's name"),
        description=_l("The name she gives, or an alias."),
        validators=[DataRequired(_l("Enter a name or an alias.")), Length(max=200)],
    )
    victim_phone = StringField(_l("Victim's phone"), validators=[Optional(), Length(max=40)])
    safe_contact = StringField(
        _l("Safe way to contact her"),
        description=_l("When and how it is safe to call or visit, and what to say."),
        validators=[Optional(), Length(max=300)],
    )
    immediate_danger = BooleanField(_l("She is in immediate danger"))
    child_involved = BooleanField(_l("A child is a victim or at risk"))
    injuries = BooleanField(_l("There are injuries"))
    sexual_violence = BooleanField(_l("There was sexual violence"))
    reporter_name = StringField(_l("Reporter's name"), validators=[Optional(), Length(max=200)])
    reporter_contact = StringField(
        _l("Reporter's contact"), validators=[Optional(), Length(max=300)]
    )
    reporter_relation = SelectField(_l("Reporter is the victim's"), validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.source.choices = choices(vocab.SOURCES, _l("Choose…"))
        self.types.choices = [(code, label) for code, (label, _subs) in vocab.CASE_TYPES.items()]
        self.reporter_relation.choices = choices(vocab.RELATIONSHIPS, "—")


class IntakeEditForm(Form):
    version = HiddenField()
    received_at = IntakeForm.received_at
    source = SelectField(_l("How did the case reach you?"), validators=[DataRequired()])
    summary = IntakeForm.summary
    immediate_danger = IntakeForm.immediate_danger
    child_involved = IntakeForm.child_involved
    injuries = IntakeForm.injuries
    sexual_violence = IntakeForm.sexual_violence

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.source.choices = choices(vocab.SOURCES)


class ClassifyForm(Form):
    version = HiddenField()
    types = MultiCheckboxField(_l("Case types and sub-types"))
    severity = RadioField(_l("Severity"), validators=[DataRequired(_l("Choose a severity."))])
    risk = SelectField(_l("Risk"), validators=[Optional()])
    gbv_type = SelectField(_l("GBVIMS core type"), validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.types.choices = [(code, vocab.type_label(code)) for code in vocab.all_type_codes()]
        self.severity.choices = choices(vocab.SEVERITIES)
        self.risk.choices = choices(vocab.RISKS, "—")
        self.gbv_type.choices = choices(vocab.GBV_TYPES, "—")


class BreakGlassForm(Form):
    reason = TextAreaField(
        _l("Why do you need to open this file?"),
        description=_l("The reason is recorded and shown to the auditor."),
        validators=[DataRequired(_l("Give a reason.")), Length(max=1000)],
    )
    minutes = IntegerField(_l("For how many minutes"), default=60, validators=[InputRequired()])
    password = PasswordField(
        _l("Your password"),
        description=_l("Opening a file outside your unit needs your password again."),
        validators=[DataRequired(_l("Enter your password."))],
    )


def version_of(form: FlaskForm) -> int:
    """The record version the form was loaded with (0 when tampered: then always stale)."""
    try:
        return int(form.version.data)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return 0
