"""Referral forms: one per step. Free text here is sensitive and encrypted; the packet's boxes start
from the minimum a kind of partner needs, and the pick-up confirmation is never pre-ticked."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casework.cases import vocab
from casework.cases.forms import MultiCheckboxField
from casework.formfields import Form
from casework.referrals import packets

SENSITIVE = _l("Sensitive: encrypted, and read only by the referring unit and this partner.")


class ReferralForm(Form):
    person = SelectField(_l("Who is referred"), validators=[DataRequired(_l("Choose a person."))])
    partner = SelectField(
        # Not "Partner": in the people vocabulary that word is an intimate partner.
        _l("Partner organisation"),
        description=_l(
            "Partners of this kind that serve the case's area and offer every service she needs."
        ),
        validators=[DataRequired(_l("Choose a partner."))],
    )
    services = MultiCheckboxField(_l("Services needed"))
    packet_fields = MultiCheckboxField(
        _l("What the partner receives"),
        description=_l(
            "The minimum this kind of partner needs is ticked. Share nothing more than the "
            "partner needs to help her."
        ),
    )
    pickup_confirmed = BooleanField(
        _l("The shelter needs her address or the reporter's contact to pick her up"),
        description=_l(
            "Warning: the address and the reporter are secret by law. Share them only for a "
            "pick-up, and only with a shelter."
        ),
    )
    needs = TextAreaField(
        _l("What she needs from the partner"),
        description=SENSITIVE,
        validators=[Optional(), Length(max=2000)],
    )

    def setup(self, kind: str) -> None:
        self.services.choices = list(vocab.SERVICES.items())
        self.packet_fields.choices = [
            (f, packets.FIELD_LABELS[f]) for f in packets.allowed_fields(kind)
        ]


class ServicesForm(Form):
    """The first step of a referral: the services she needs choose the partners offered. Sent by
    GET (codes only, nothing about her), so it has no CSRF token."""

    class Meta:
        csrf = False

    services = MultiCheckboxField(
        _l("Services she needs"),
        description=_l("Only partners that offer every service ticked are offered."),
    )

    def setup(self) -> None:
        self.services.choices = list(vocab.SERVICES.items())


class ReshareForm(Form):
    packet_fields = ReferralForm.packet_fields
    pickup_confirmed = ReferralForm.pickup_confirmed
    needs = ReferralForm.needs


class VersionedForm(Form):
    """A button on a record people change: CSRF and the version the page showed."""

    version = HiddenField()


class ReasonForm(VersionedForm):
    reason = TextAreaField(
        _l("Reason"),
        description=SENSITIVE,
        validators=[DataRequired(_l("Give a reason.")), Length(max=2000)],
    )


class OutcomeForm(VersionedForm):
    outcome = TextAreaField(
        _l("Outcome"),
        description=SENSITIVE,
        validators=[DataRequired(_l("Describe the outcome.")), Length(max=2000)],
    )


class NoteForm(Form):
    body = TextAreaField(
        _l("Note for the referring unit"),
        description=SENSITIVE,
        validators=[DataRequired(_l("Write the note.")), Length(max=2000)],
    )


class StayForm(VersionedForm):
    at = DateTimeLocalField(
        _l("When"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(_l("Enter the date and time."))],
    )


class DeliveryForm(VersionedForm):
    """One service of a referral: delivered on a day, or not delivered and why."""

    result = RadioField(
        _l("Was it delivered?"),
        validators=[InputRequired(_l("Choose delivered or not delivered."))],
    )
    on = DateField(_l("Delivered on"), validators=[Optional()])
    reason = TextAreaField(
        _l("Why it was not delivered"),
        description=SENSITIVE,
        validators=[Optional(), Length(max=2000)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.result.choices = [
            ("delivered", _l("Delivered")),
            ("not_delivered", _l("Not delivered")),
        ]
