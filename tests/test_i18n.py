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


def test_times_are_written_in_vietnams_time_zone_as_babel_writes_them(app):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from flask import session
    from flask_babel import format_datetime

    from casework.i18n import when

    # 17:30 UTC on 1 March is half past midnight on 2 March in Hà Nội.
    late = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    moments = [late, late.replace(tzinfo=None), datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)]
    for lang in ("vi", "en"):
        with app.test_request_context("/"):
            session["lang"] = lang
            app.preprocess_request()
            for moment in moments:
                for fmt in ("short", "medium", "long", "full", "yyyy-MM-dd HH:mm"):
                    assert when(moment, fmt) == format_datetime(moment, fmt), (lang, moment, fmt)
            assert when(None) == ""
            if lang == "vi":
                assert when(late) == "00:30 2/3/26"
            else:
                assert when(late) == "3/2/26, 12:30\u202fAM"


def test_each_request_speaks_its_own_language_and_the_command_line_may_switch(app):  # type: ignore[no-untyped-def]
    import re

    from flask_babel import force_locale, gettext

    # One thread's requests one after another, as a server thread serves them (the suite's
    # Browser runs each request in a fresh context; this one does not).
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"

    def page() -> str:
        return client.get("/login").get_data(as_text=True)

    def choose(lang: str) -> None:
        found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page())
        assert found
        form = {"lang": lang, "back": "/login", "csrf_token": found.group(1)}
        assert client.post("/language", data=form).status_code == 303

    assert "Đăng nhập" in page()
    choose("en")
    english = page()
    assert "Sign in" in english and "Đăng nhập" not in english
    choose("vi")
    assert "Đăng nhập" in page()
    with app.app_context():
        with force_locale("en"):
            assert gettext("Sign in") == "Sign in"
        with force_locale("vi"):
            assert gettext("Sign in") == "Đăng nhập"
