"""Form fields shared by every area."""

from __future__ import annotations

from typing import Any

import wtforms
from flask_wtf import FlaskForm

# The largest value an INTEGER column holds (PostgreSQL and SQLite alike, as the app uses them).
DB_INT_MAX = 2**31 - 1


class IntegerField(wtforms.IntegerField):
    """WTForms' IntegerField that refuses a number beyond a database integer, as it refuses words:
    WTForms' NumberRange crashes on an integer too large for a float (OverflowError), and a
    database would refuse to store one."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, int) and abs(self.data) > DB_INT_MAX:
            self.data = None
            raise ValueError(self.gettext("Not a valid integer value."))


class _CatalogueTranslations:
    """WTForms' own messages ("Not a valid choice.", "This field is required.") through the
    app's catalogue: WTForms ships no Vietnamese one. The messages are listed in
    casework/formmessages.py so that extraction finds them. WTForms fills in its own values
    (%(min)d, %(max)d) after translating, so these translate only."""

    def gettext(self, string: str) -> str:
        from flask_babel import get_translations

        return str(get_translations().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        from flask_babel import get_translations

        return str(get_translations().ungettext(singular, plural, n))


class Form(FlaskForm):
    """The base of every form of the app: Flask-WTF's, speaking the user's language."""

    class Meta:
        def get_translations(self, form: Any) -> _CatalogueTranslations:
            return _TRANSLATIONS


_TRANSLATIONS = _CatalogueTranslations()
