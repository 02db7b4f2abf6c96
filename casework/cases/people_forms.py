"""Forms for the people of a case, their relationships, consent and legal bases."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casework.cases import people, vocab
from casework.cases.consent import NOTE_MAX, PURPOSE_MEANINGS, REASON_MAX
from casework.cases.forms import MultiCheckboxField, choices
from casework.formfields import Form

DISABILITY_CHOICES = {"": _l("Not known"), "yes": _l("Yes"), "no": _l("No")}


def disability_value(code: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(code or "")


def disability_code(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


class PersonForm(Form):
    """Add a person to a case, or correct her details (then with the version it was loaded at)."""

    version = HiddenField()
    role = SelectField(
        _l("Role in the case"), validators=[DataRequired(_l("Choose a role from the list."))]
    )
    full_name = StringField(
        _l("Full name"),
        description=_l("The name she gives, or an alias or description if it is not known."),
        validators=[
            DataRequired(_l("Enter a name, or an alias or description if the name is not known.")),
            Length(max=people.NAME_MAX),
        ],
    )
    aliases = StringField(
        _l("Other names or aliases"), validators=[Optional(), Length(max=people.ALIASES_MAX)]
    )
    date_of_birth = DateField(
        _l("Date of birth"),
        description=_l("For a child, her age is worked out from it. Leave empty if not known."),
        validators=[Optional()],
    )
    sex = SelectField(_l("Sex"))
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=people.PHONE_MAX)])
    safe_contact = StringField(
        _l("Safe way to contact"),
        description=_l("When and how it is safe to call or visit, and what to say."),
        validators=[Optional(), Length(max=people.SAFE_CONTACT_MAX)],
    )
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=people.ADDRESS_MAX)])
    id_number = StringField(
        _l("ID number (CCCD, passport)"),
        validators=[Optional(), Length(max=people.ID_NUMBER_MAX)],
    )
    ethnicity = StringField(
        _l("Ethnicity"),
        description=_l("For statistics only."),
        validators=[Optional(), Length(max=people.ETHNICITY_MAX)],
    )
    disability = SelectField(_l("Disability"), description=_l("For statistics only."))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = choices(vocab.PERSON_ROLES, _l("Choose…"))
        self.sex.choices = choices(vocab.SEXES)
        self.disability.choices = choices(DISABILITY_CHOICES)

    def details(self) -> dict[str, object]:
        """The typed values as the people service takes them."""
        return {
            "role": self.role.data or "",
            "full_name": self.full_name.data,
            "aliases": self.aliases.data or None,
            "date_of_birth": self.date_of_birth.data,
            "sex": self.sex.data or "unknown",
            "phone": self.phone.data or None,
            "safe_contact": self.safe_contact.data or None,
            "address": self.address.data or None,
            "id_number": self.id_number.data or None,
            "ethnicity": self.ethnicity.data or None,
            "disability": disability_value(self.disability.data),
        }


class RelationshipForm(Form):
    kind = SelectField(
        _l("This person is the …"),
        validators=[DataRequired(_l("Choose a relationship from the list."))],
    )
    other = SelectField(
        _l("… of"), validators=[DataRequired(_l("Choose another person of this case."))]
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = choices(vocab.RELATIONSHIPS, _l("Choose…"))


class ConsentForm(Form):
    """Consent for one or more purposes. Nothing is ticked until the officer ticks it."""

    subject = SelectField(
        _l("Whose data is this consent about?"),
        validators=[DataRequired(_l("Choose the victim or a child of this case."))],
    )
    purposes = MultiCheckboxField(
        _l("She agrees that"),
        description=_l("Read each purpose to her and tick only those she agrees to."),
    )
    given_by = RadioField(
        _l("Who gave consent"),
        description=_l(
            "An adult gives it herself. For a child under 16 her legal representative gives it, "
            "and a child aged 7 or more must agree too."
        ),
        validators=[InputRequired(_l("Choose who gave consent."))],
    )
    representative = SelectField(
        _l("Her legal representative"),
        description=_l("If the representative is recorded as a person of this case."),
        validators=[Optional()],
    )
    representative_is_perpetrator = BooleanField(
        _l("The legal representative is the alleged perpetrator")
    )
    child_agrees = BooleanField(
        _l("The child (7 or older) agreed as well"),
    )
    reason = TextAreaField(
        _l("Reason"),
        description=_l(
            "Required when a substitute gives consent, or a representative for an adult: why."
        ),
        validators=[Optional(), Length(max=REASON_MAX)],
    )
    method = RadioField(
        _l("How was consent given?"),
        validators=[InputRequired(_l("Choose how consent was given."))],
    )
    given_at = DateTimeLocalField(
        _l("When"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(_l("Enter when consent was given."))],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.purposes.choices = [
            (code, f"{label} – {PURPOSE_MEANINGS[code]}")
            for code, label in vocab.CONSENT_PURPOSES.items()
        ]
        self.given_by.choices = choices(vocab.CONSENT_GIVERS)
        self.method.choices = choices(vocab.CONSENT_METHODS)


class WithdrawConsentForm(Form):
    """Only the CSRF token: the consent is named by the URL."""


class LegalBasisForm(Form):
    basis = RadioField(
        _l("Legal basis"), validators=[InputRequired(_l("Choose a legal basis from the list."))]
    )
    purpose = SelectField(
        _l("For what"), validators=[DataRequired(_l("Choose a purpose from the list."))]
    )
    note = TextAreaField(
        _l("Note"),
        description=_l("The circumstances that make consent unnecessary. This is encrypted."),
        validators=[DataRequired(_l("Explain the circumstances in a note.")), Length(max=NOTE_MAX)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.basis.choices = choices(vocab.LEGAL_BASES)
        self.purpose.choices = choices(vocab.CONSENT_PURPOSES, _l("Choose…"))


class EndLegalBasisForm(Form):
    """Why the ground no longer holds; the version refuses an end made on a stale page."""

    version = HiddenField()
    reason = TextAreaField(
        _l("Why it no longer holds"),
        description=_l("For example: the danger is over, or the notification was made. Encrypted."),
        validators=[
            DataRequired(_l("Say why the legal basis no longer holds.")),
            Length(max=NOTE_MAX),
        ],
    )
