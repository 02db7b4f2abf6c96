"""The messages WTForms and Flask-WTF themselves can show beside a field, listed so that message
extraction puts them in the app's catalogue (WTForms has no Vietnamese one). Nothing here runs:
the markers only return their text; casework.formfields.Form translates the messages when WTForms
asks. The texts are WTForms' own, word for word (its catalogue looks them up by that text)."""

from __future__ import annotations


def N_(text: str) -> str:
    return text


def ngettext(singular: str, plural: str, n: int = 1) -> tuple[str, str]:
    return singular, plural


MESSAGES = (
    N_("This field is required."),
    N_("Invalid input."),
    N_("Not a valid choice."),
    N_("Invalid Choice: could not coerce."),
    N_("Invalid choice(s): one or more data inputs could not be coerced."),
    N_("Not a valid integer value."),
    N_("Not a valid decimal value."),
    N_("Not a valid float value."),
    N_("Not a valid date value."),
    N_("Not a valid datetime value."),
    N_("Not a valid time value."),
    N_("Field must be between %(min)d and %(max)d characters long."),
    N_("Number must be at least %(min)s."),
    N_("Number must be at most %(max)s."),
    N_("Number must be between %(min)s and %(max)s."),
    N_("Invalid email address."),
    N_("Invalid value, must be one of: %(values)s."),
    N_("This field cannot be edited."),
    N_("This field is disabled and cannot have a value."),
)

PLURALS = (
    ngettext(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
    ),
    ngettext(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
    ),
    ngettext(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
    ),
)
