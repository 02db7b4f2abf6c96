"""The case search form: what to search by and the exact phone, ID number or full name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from casework.cases.search import TERM_MAX
from casework.formfields import Form

KINDS = {
    "phone": _l("Phone number"),
    "id_number": _l("ID number (CCCD, CMND, passport)"),
    "name": _l("Full name"),
}


class CaseSearchForm(Form):
    kind = RadioField(
        _l("Search by"),
        default="phone",
        validators=[InputRequired(_l("Choose what to search by."))],
    )
    term = StringField(
        _l("Phone number, ID number or full name"),
        description=_l(
            "Exact matches only: the whole number or the whole name; spacing, accents and +84 "
            "do not matter. This is sensitive data: it is not kept, and the search is recorded "
            "without it."
        ),
        validators=[DataRequired(_l("Enter what to search for.")), Length(max=TERM_MAX)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Labels in the request's language, built per form.
        self.kind.choices = [SelectChoice(code, str(text)) for code, text in KINDS.items()]
