"""Workflow forms: one per step, each with the written reason the step needs."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from casework.cases.workflow.models import CLOSURE_REASONS

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


class QuickReportForm(FlaskForm):
    situation = TextAreaField(
        _l("Situation and what is being done"),
        description=NO_NAMES,
        validators=[DataRequired(_l("Describe the situation.")), Length(max=2000)],
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=2000)]
    )


class GuidanceForm(FlaskForm):
    guidance = TextAreaField(
        _l("Guidance for the unit"),
        validators=[DataRequired(_l("Write the guidance.")), Length(max=2000)],
    )


class ClosureForm(FlaskForm):
    reason = SelectField(_l("Why can the case be closed?"), validators=[DataRequired()])
    outcome = TextAreaField(
        _l("Outcome for the victim"),
        validators=[DataRequired(_l("Describe the outcome.")), Length(max=2000)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = [(code, CLOSURE_REASON_LABELS[code]) for code in CLOSURE_REASONS]


class DecisionForm(FlaskForm):
    comment = TextAreaField(
        _l("Comment"),
        description=_l("Required when you refuse: say what is still needed."),
        validators=[Optional(), Length(max=2000)],
    )


class EmptyForm(FlaskForm):
    """A button that changes something: CSRF only."""
