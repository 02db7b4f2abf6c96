"""Forms for what is done for the victim: assessments, actions, support, follow-ups.

Times are typed in Vietnam's time zone, as on the intake form (casework.cases.forms.to_utc).
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casework.cases import vocab
from casework.cases.forms import choices
from casework.formfields import Form

SENSITIVE = _l("Sensitive personal data: encrypted, seen only by the units handling the case.")
TIME_FORMAT = "%Y-%m-%dT%H:%M"


class SafetyAssessmentForm(Form):
    based_on = HiddenField()
    risk = RadioField(_l("Risk level"), validators=[DataRequired(_l("Choose the risk level."))])
    findings = TextAreaField(
        _l("What you found"),
        description=_l(
            "Threats, weapons, escalation, the victim's own view of her safety. "
            "Sensitive personal data: encrypted, seen only by the units handling the case."
        ),
        validators=[DataRequired(_l("Write what you found.")), Length(max=4000)],
    )
    safety_plan = TextAreaField(
        _l("Safety plan"),
        description=_l(
            "Where she can go, whom she can call, what she keeps ready. "
            "Required for a high or imminent risk."
        ),
        validators=[Optional(), Length(max=4000)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.risk.choices = choices(vocab.RISKS)


class NeedsAssessmentForm(Form):
    based_on = HiddenField()
    findings = TextAreaField(
        _l("Needs found"),
        description=_l(
            "Health, shelter, legal, economic, schooling, the children's needs. "
            "Sensitive personal data: encrypted, seen only by the units handling the case."
        ),
        validators=[DataRequired(_l("Write the needs you found.")), Length(max=4000)],
    )
    safety_plan = TextAreaField(
        _l("Support plan"),
        description=_l("Which services, from whom, by when."),
        validators=[Optional(), Length(max=4000)],
    )


class ActionForm(Form):
    kind = SelectField(_l("What was done"), validators=[DataRequired(_l("Choose what was done."))])
    authority = SelectField(
        _l("Authority"),
        description=_l("For a notification, a recommendation or a reply: which authority."),
        validators=[Optional()],
    )
    occurred_at = DateTimeLocalField(
        _l("When"),
        format=TIME_FORMAT,
        validators=[InputRequired(_l("Enter when it was done."))],
    )
    description = TextAreaField(
        _l("Details"),
        description=SENSITIVE,
        validators=[DataRequired(_l("Describe what was done.")), Length(max=4000)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = choices(vocab.ACTION_KINDS, _l("Choose…"))
        self.authority.choices = choices(vocab.AUTHORITIES, "—")


class ActionCorrectionForm(ActionForm):
    """The same fields as a new entry: the correction replaces the entry as a whole."""


class SupportForm(Form):
    person = SelectField(_l("For whom"), validators=[DataRequired(_l("Choose a person."))])
    service = SelectField(_l("Service"), validators=[DataRequired(_l("Choose a service."))])
    provider = SelectField(
        _l("Provided by"), validators=[DataRequired(_l("Choose who provides it."))]
    )
    status = SelectField(_l("Status"), validators=[DataRequired(_l("Choose a status."))])
    started_on = DateField(_l("Started on"), validators=[Optional()])
    ended_on = DateField(_l("Ended on"), validators=[Optional()])
    outcome = TextAreaField(
        _l("Outcome"), description=SENSITIVE, validators=[Optional(), Length(max=4000)]
    )

    def __init__(
        self,
        *args: object,
        people: Sequence[tuple[str, object]] = (),
        providers: Sequence[tuple[str, object]] = (),
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.person.choices = [("", _l("Choose…")), *people]
        self.service.choices = choices(vocab.SERVICES, _l("Choose…"))
        self.provider.choices = list(providers)
        self.status.choices = choices(vocab.SUPPORT_STATUSES)


class SupportEditForm(Form):
    version = HiddenField()
    provider = SupportForm.provider
    status = SupportForm.status
    started_on = SupportForm.started_on
    ended_on = SupportForm.ended_on
    outcome = SupportForm.outcome

    def __init__(
        self,
        *args: object,
        providers: Sequence[tuple[str, object]] = (),
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.provider.choices = list(providers)
        self.status.choices = choices(vocab.SUPPORT_STATUSES)


class FollowUpForm(Form):
    due_at = DateTimeLocalField(_l("Due"), format=TIME_FORMAT, validators=[Optional()])


class FollowUpEditForm(Form):
    version = HiddenField()
    status = RadioField(_l("Outcome"), validators=[DataRequired(_l("Choose a value."))])
    done_at = DateTimeLocalField(
        _l("Contacted at"),
        description=_l("When you reached her (for a follow-up done)."),
        format=TIME_FORMAT,
        validators=[Optional()],
    )
    note = TextAreaField(
        _l("Note"),
        description=_l(
            "How she is, what changed, what comes next. Required when done. "
            "Sensitive personal data: encrypted, seen only by the units handling the case."
        ),
        validators=[Optional(), Length(max=4000)],
    )
    due_at = DateTimeLocalField(
        _l("Due"),
        description=_l("Move the date while the follow-up is still due."),
        format=TIME_FORMAT,
        validators=[InputRequired(_l("Enter the due date."))],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = choices(vocab.FOLLOW_UP_STATUSES)
