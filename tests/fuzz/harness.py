"""Hostile form input: what a fuzzed field may hold, a fingerprint of the database, and the verdict on
one submission (a clean refusal that changed nothing, or a success; never a server error).

A form is described by a Spec: its class, who submits it, its URL and a valid submission. Every field
the class declares is then either kept valid, left out, or replaced by a hostile value chosen by the
field's type (any Unicode, control characters, huge text, odd dates and numbers, unknown choices).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectFieldBase,
    SelectMultipleField,
)
from wtforms.fields.core import UnboundField

from casework.extensions import db

# Bounded so the whole fuzz suite runs in a few minutes; every CI run draws new examples.
LIMITS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- Hostile values ------------------------------------------------------------------------------

SPECIAL = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\r\n",
    "\u202e\u200b\u2028",
    "\ufeff",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00%0d%0a",
    "../../etc/passwd",
    "𝕳𝖔𝖆 Nguyễn",
    "Z̴̢͉a̸l̷g̶o̵",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "null",
]
ODD_DATES = [
    "0001-01-01",
    "9999-12-31",
    "2024-02-30",
    "2024-13-01",
    "0000-00-00",
    "1900-01-01",
    "2100-01-01",
    "24-1-1",
    "2024-01-01T10:00",
    "٢٠٢٤-٠١-٠١",
]
ODD_MOMENTS = [
    "0001-01-01T00:00",
    "0001-01-01T06:59",
    "9999-12-31T23:59",
    "2024-02-30T10:00",
    "2024-01-01T24:00",
    "2024-01-01",
    "1970-01-01T00:00",
    "2999-01-01T00:00",
]
ODD_NUMBERS = ["", "1.5", "-0", "1e3", "٣", "9" * 400, "-99999999999999999999", "0x10"]

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
CONTROLS = st.text(
    st.characters(max_codepoint=0x1F) | st.sampled_from(["\x7f", "\x85", "\u2028", "\u0000"]),
    min_size=1,
    max_size=8,
)
HUGE = st.tuples(st.sampled_from([4_001, 70_000]), st.sampled_from(["x", "ệ", "\x00", "𝕳"])).map(
    lambda nc: nc[1] * nc[0]
)
ANY_TEXT = st.one_of(st.sampled_from(SPECIAL), TEXT, CONTROLS, HUGE)


def hostile(field_class: type) -> st.SearchStrategy[Any]:
    """A hostile value for a field of this class (a list for a multiple choice)."""
    if issubclass(field_class, DateTimeLocalField):
        typed = st.sampled_from(ODD_MOMENTS) | st.datetimes().map(
            lambda d: d.strftime("%Y-%m-%dT%H:%M")
        )
    elif issubclass(field_class, DateField):
        typed = st.sampled_from(ODD_DATES) | st.dates().map(lambda d: d.isoformat())
    elif issubclass(field_class, IntegerField):
        typed = st.sampled_from(ODD_NUMBERS) | st.integers().map(str)
    elif issubclass(field_class, SelectMultipleField):
        return st.lists(ANY_TEXT, max_size=4)
    elif issubclass(field_class, BooleanField | SelectFieldBase):
        typed = st.sampled_from(["y", "on", "true", "false", "yes"])
    else:
        return ANY_TEXT
    return st.one_of(typed, ANY_TEXT)


KEEP, DROP = object(), object()


def fields_of(form_class: type) -> dict[str, type]:
    """The fields a form class declares (its own and inherited), by name: field class."""
    found = {}
    for name in dir(form_class):
        attr = getattr(form_class, name, None)
        if not name.startswith("_") and isinstance(attr, UnboundField):
            found[name] = attr.field_class
    return found


@dataclass(frozen=True)
class Spec:
    """One form as a user submits it: who, where, and a valid submission to start from."""

    form: type
    user: str | None  # a key of the world; None for a signed-out visitor
    url: Callable[[dict[str, Any]], str]
    valid: Callable[[dict[str, Any]], dict[str, Any]]
    method: str = "POST"
    prefix: str = ""
    # Statuses that mean "done" for this form (a redirect after a change; 200 for a search page).
    done: frozenset[int] = field(default_factory=lambda: frozenset({302, 303}))
    id: str = ""
    # Refusals beyond REFUSED that this form may meet: a step that ends its record's stage (a
    # request carried out) is refused with 403 to every later submission, and changes nothing.
    refused: frozenset[int] = frozenset()

    def name(self) -> str:
        return self.id or self.form.__name__


def draw_submission(data: st.DataObject, spec: Spec, valid: dict[str, Any]) -> dict[str, Any]:
    """The valid submission with each declared field kept, dropped or made hostile."""
    out: dict[str, Any] = {}
    for name, field_class in sorted(fields_of(spec.form).items()):
        key = f"{spec.prefix}-{name}" if spec.prefix else name
        choice = data.draw(st.one_of(st.just(KEEP), st.just(DROP), hostile(field_class)), label=key)
        if choice is KEEP:
            if key in valid:
                out[key] = valid[key]
        elif choice is not DROP:
            out[key] = choice
    # Values the spec sends that are not form fields (a file, say) stay as they are.
    for key, value in valid.items():
        if key not in out and key.split("-")[-1] not in fields_of(spec.form):
            out[key] = value
    return out


# --- The database's fingerprint ------------------------------------------------------------------

# What any request may change: the audit trail (refusals are recorded), sign-in bookkeeping and the
# session's last-seen time, a notification being read, an API token's last use.
IGNORED_TABLES = {"audit_event", "audit_checkpoint", "login_failure", "user_session"}
IGNORED_COLUMNS = {
    # A failed sign-in counts (and bumps the row's version); the other columns must not move.
    "user_account": {"failed_logins", "locked_until", "last_login_at", "totp_last_step", "version"},
    "notification": {"read_at"},
    "api_token": {"last_used_at"},
}


def fingerprint() -> dict[str, str]:
    """Each table's content, hashed: two equal fingerprints mean nothing was stored."""
    db.session.rollback()
    prints = {}
    for table in db.metadata.sorted_tables:
        if table.name in IGNORED_TABLES:
            continue
        skip = IGNORED_COLUMNS.get(table.name, set())
        columns = [c for c in table.c if c.name not in skip]
        rows = db.session.execute(select(*columns)).all()
        digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
        prints[table.name] = f"{len(rows)}:{digest[:16]}"
    db.session.rollback()
    return prints


# --- The verdict ---------------------------------------------------------------------------------

# 404: the record is no longer the user's to act on (a referral the partner finished or lost).
# 400: a NUL character, refused for every request before any form reads it (casework.security).
REFUSED = {400, 401, 404, 409, 413, 422, 429}
# What a refusal shows: an error beside a field, above the form, in a flash, a notice that the
# record no longer allows the step (an ended legal basis), or the error page's explanation.
ERROR_MARKS = (
    'class="error"',
    'class="error-summary"',
    "flash-error",
    'class="notice"',
    "Please check what you entered",
)


def with_files(form: dict[str, Any]) -> dict[str, Any]:
    """Byte values become uploaded files (a fresh stream each time: a stream is read once)."""
    return {
        k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) and isinstance(v[0], bytes) else v
        for k, v in form.items()
    }


def judge(browser: Any, spec: Spec, url: str, form: dict[str, Any], token: str | None) -> int:
    """Submit once; fail unless the answer is a success or a clean refusal that changed nothing."""
    before = fingerprint()
    if spec.method == "GET":
        joiner = "&" if "?" in url else "?"
        response = browser.get(url + joiner + urlencode(form, doseq=True))
    else:
        body = with_files({**form, "csrf_token": token}) if token else with_files(form)
        response = browser.raw_post(url, data=body)
    status = response.status_code
    text = response.get_data(as_text=True)
    if status in (302, 303) and spec.form.__module__.endswith("workflow.forms"):
        # Workflow steps answer every submission with the case file; a refusal is a flash there.
        page = browser.get(response.location).get_data(as_text=True)
        if "flash-error" in page:
            assert fingerprint() == before, f"{spec.name()}: refused but stored {form!r}"
        return status
    shown = {
        k: (v[:80] + f"…({len(v)})" if isinstance(v, str) and len(v) > 80 else v)
        for k, v in form.items()
    }
    refusals = REFUSED | spec.refused
    assert status in spec.done | refusals | {200}, f"{spec.name()}: {status} for {shown!r}"
    if status in refusals or (status == 200 and spec.method == "POST" and 200 not in spec.done):
        assert fingerprint() == before, f"{spec.name()}: refused ({status}) but stored {shown!r}"
    if status == 400:
        assert "cannot be stored" in text, f"{spec.name()}: 400 without its reason for {shown!r}"
    if status == 422 or (status == 200 and spec.method == "POST" and 200 not in spec.done):
        assert any(mark in text for mark in ERROR_MARKS), (
            f"{spec.name()}: {status} without an error message for {shown!r}"
        )
    return status
