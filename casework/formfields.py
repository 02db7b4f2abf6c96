"""Form fields shared by every area."""

from __future__ import annotations

from typing import Any

import wtforms

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
