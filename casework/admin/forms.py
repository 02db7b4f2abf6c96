"""Administration forms: one class per use case. Units and partners are chosen by code or from a
list of those the admin may manage; choices that depend on the admin are filled in by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from casework.accounts.units import CODE_RE
from casework.formfields import Form, IntegerField
from casework.labels import ROLE_LABELS
from casework.policy import Role

NO_PARTNER = 0


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(r.value, str(ROLE_LABELS[r.value])) for r in Role]


def choices(pairs: list[tuple[object, str]]) -> list[SelectChoice]:
    return [SelectChoice(str(value), str(label)) for value, label in pairs]


class _Versioned(Form):
    """An edit of an existing record: the version the admin saw, so a stale edit is refused."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


def _code(label: object, description: object, required: object) -> StringField:
    return StringField(
        label,
        description=description,
        validators=[DataRequired(required), Length(max=32)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )


# --- Units ------------------------------------------------------------------------------------


class UnitSearchForm(Form):
    """Find a unit by code or name (a GET form: it changes nothing, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Code or name"),
        description=_l("The beginning of a code, or any part of a name."),
        validators=[Optional(), Length(max=200)],
    )


class CreateUnitForm(Form):
    code = StringField(
        _l("Code"),
        description=_l("Letters, digits, dots, dashes or underscores; at most 32."),
        validators=[DataRequired(_l("Enter a code.")), Length(max=32)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    level = SelectField(_l("Level"), validators=[DataRequired(_l("Choose a level."))])

    def validate_code(self, field: StringField) -> None:
        if field.data and not CODE_RE.match(field.data):
            raise ValidationError(
                _l("A code has 1–32 letters, digits, dots, dashes or underscores.")
            )


class RenameUnitForm(_Versioned):
    name = StringField(
        _l("New name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)]
    )


class MoveUnitForm(_Versioned):
    # Named as the service names the problem, so its message lands beside this field.
    parent = _code(
        _l("Code of the new parent unit"),
        _l("The unit and every unit below it move under this one."),
        _l("Enter the code of the new parent unit."),
    )


class RetireUnitForm(_Versioned):
    successor = _code(
        _l("Code of the successor unit"),
        _l("The unit that takes over this unit's work. Retiring cannot be undone here."),
        _l("Enter the code of the successor unit."),
    )


# --- Users ------------------------------------------------------------------------------------

STATUS_CHOICES = [
    ("", _l("Active and deactivated")),
    ("active", _l("Active")),
    ("inactive", _l("Deactivated")),
]
STATUS_VALUES = {"": None, "active": True, "inactive": False}


class UserFilterForm(Form):
    """Filters of the user list (a GET form, no CSRF token; nothing personal goes in the URL)."""

    class Meta:
        csrf = False

    role = SelectField(_l("Role"), validators=[Optional()])
    unit = StringField(
        _l("Unit code"),
        description=_l("Shows the users of this unit and of the units below it."),
        validators=[Optional(), Length(max=32)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    status = SelectField(_l("Status"), validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice("", str(_l("Any role"))), *role_choices()]
        self.status.choices = choices(STATUS_CHOICES)  # type: ignore[arg-type]


class _Placement:
    """Role with a unit (by code) or, for partner staff, a partner organisation (from a list)."""

    role = SelectField(
        _l("Role"),
        validators=[DataRequired(_l("Choose a role."))],
        invalid_choice_message=_l("Choose a role."),
    )
    unit = StringField(
        _l("Unit code"),
        description=_l("Every role except partner staff belongs to a unit."),
        validators=[Optional(), Length(max=32)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    partner = SelectField(
        _l("Partner organisation"),
        description=_l("Only for partner staff."),
        coerce=int,
        validate_choice=False,  # checked below, with a clearer message
        validators=[Optional()],
    )

    def set_partners(self, partners: list[tuple[int, str]]) -> None:
        self.role.choices = role_choices()  # type: ignore[attr-defined]
        self.partner.choices = choices([(NO_PARTNER, "—"), *partners])  # type: ignore[attr-defined]

    def validate_partner(self, field: SelectField) -> None:
        if field.data not in {int(c.value) for c in field.choices or []}:
            raise ValidationError(_l("Choose a partner organisation from the list."))


class CreateUserForm(_Placement, Form):
    username = StringField(
        _l("Username"),
        description=_l("Letters, digits, dots, dashes or underscores. It cannot be changed later."),
        validators=[DataRequired(_l("Enter a username.")), Length(max=64)],
    )
    display_name = StringField(
        _l("Full name"), validators=[DataRequired(_l("Enter the person's name.")), Length(max=120)]
    )


class EditUserForm(_Placement, _Versioned):
    display_name = StringField(
        _l("Full name"), validators=[DataRequired(_l("Enter the person's name.")), Length(max=120)]
    )


class UserActionForm(_Versioned):
    """Deactivate, reactivate, reset the password or the second factor: a confirmation only."""
