"""The Vietnamese catalogue is complete: the same check as `make check-translations`, in the suite."""

from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from casework import i18n_check


def test_every_message_of_the_app_has_its_vietnamese_translation():
    found = i18n_check.problems()
    assert found == [], "\n".join(found)


def test_the_check_reports_a_missing_an_empty_and_a_fuzzy_translation(tmp_path: Path):
    shutil.copy(i18n_check.TRANSLATIONS / "messages.pot", tmp_path / "messages.pot")
    po = tmp_path / "vi" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    with (i18n_check.TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    catalog.delete("Too many attempts")
    catalog["Back to the home page"].string = ""
    catalog["Page not found"].flags.add("fuzzy")
    with po.open("wb") as fh:
        write_po(fh, catalog)

    found = i18n_check.problems(tmp_path)

    assert "vi: missing: 'Too many attempts'" in found
    assert "vi: untranslated: 'Back to the home page'" in found
    assert "vi: fuzzy: 'Page not found'" in found


def test_wtforms_own_messages_speak_the_users_language(app):  # type: ignore[no-untyped-def]
    from flask import session
    from wtforms import SelectField, StringField
    from wtforms.validators import DataRequired, Length

    from casework.formfields import Form

    class Probe(Form):
        kind = SelectField(choices=["a"])
        note = StringField(validators=[DataRequired(), Length(max=3)])

    posted = {"kind": "z", "note": "too long"}
    with app.test_request_context("/", method="POST", data=posted):
        form = Probe(meta={"csrf": False})
        assert not form.validate()
        assert form.kind.errors == ["Vui lòng chọn một giá trị trong danh sách."]
        assert form.note.errors == ["Không được dài quá 3 ký tự."]
    with app.test_request_context("/", method="POST", data={"kind": "a"}):
        session["lang"] = "en"
        form = Probe(meta={"csrf": False})
        assert not form.validate()
        assert form.note.errors == ["This field is required."]
