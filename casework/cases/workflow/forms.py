"""Workflow forms: one per step, each with the written reason the step needs."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casework.cases.timeline_forms import TIME_FORMAT, ActionForm
from casework.cases.workflow.models import CLOSURE_REASONS
from casework.formfields import Form

CLOSURE_REASON_LABELS = {
    "resolved": _l("Resolved"),
    "needs_met": _l("The victim's needs are met"),
    "victim_withdrew": _l("The victim withdrew"),
    "no_contact": _l("No contact possible"),
    "transferred_concluded": _l("Transferred to the authorities and concluded"),
    "duplicate": _l("Duplicate of another case"),
    "out_of_scope": _l("Out of scope"),
}

NO_NAMES = _l("Do not write names, addresses or phone numbers here.")


class QuickReportForm(Form):
    situation = TextAreaField(
        _l("Situation and what is being done"),
        description=NO_NAMES,
        validators=[DataRequired(_l("Describe the situation.")), Length(max=2000)],
    )


class ReasonForm(Form):
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=2000)]
    )


class GuidanceForm(Form):
    guidance = TextAreaField(
        _l("Guidance for the unit"),
        validators=[DataRequired(_l("Write the guidance.")), Length(max=2000)],
    )


class ClosureForm(Form):
    reason = SelectField(_l("Why can the case be closed?"), validators=[DataRequired()])
    outcome = TextAreaField(
        _l("Outcome for the victim"),
        validators=[DataRequired(_l("Describe the outcome.")), Length(max=2000)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = [(code, CLOSURE_REASON_LABELS[code]) for code in CLOSURE_REASONS]


class DecisionForm(Form):
    comment = TextAreaField(
        _l("Comment"),
        description=_l("Required when you refuse: say what is still needed."),
        validators=[Optional(), Length(max=2000)],
    )


class EmptyForm(Form):
    """A button that changes something: CSRF only."""


class AskToActForm(Form):
    """The handling unit asks a unit below that handled the case to do something by a time."""

    unit = SelectField(
        _l("Unit asked"),
        coerce=int,
        validators=[InputRequired(_l("Choose the unit."))],
    )
    what = TextAreaField(
        _l("What should be done"),
        description=_l("For example: visit her today and tell us how she is."),
        validators=[DataRequired(_l("Say what should be done.")), Length(max=2000)],
    )
    due_at = DateTimeLocalField(
        _l("Answer by"),
        format=TIME_FORMAT,
        validators=[InputRequired(_l("Enter when the answer is needed."))],
    )


class VersionForm(Form):
    """A button on a record that others may change: CSRF and the version it was shown at."""

    version = HiddenField()


class AnswerRequestForm(ActionForm):
    """What the unit below did, as an entry in the case's actions, and the request's version."""

    version = HiddenField()
