"""The verifier's fast path gives exactly what the full decoding gives: the same hash for a row in the
plain form, and no verdict of its own (None) for anything else, however the row was edited."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from casework.audit.rows import COLUMNS, Unreadable, decode, plain_digest
from casework.audit.service import event_hash
from casework.audit.verify import fetch_rows
from tests.audit.chain import make_chain

AT = COLUMNS.index("at")

# Values put in place of a stored one: types a tampered SQLite column can hold, text the fast
# path's one-byte-a-character encoding must not get wrong, and other spellings of a time.
ODD_VALUES = [
    None,
    "",
    0,
    -3,
    7.0,
    True,
    b"\x00" * 32,
    memoryview(b"\x01" * 32),
    b"short",
    "x" * 127,
    "x" * 128,
    "x" * 255,
    "x" * 256,
    "x" * 70_000,
    "é",
    "Nguyễn Thị Hoàng Yến",
    "\u00ff" * 130,
    "\x00",
    "2026-11-29 15:04:05.123456",
    "2026-11-29T15:04:05.123456",
    "2026-11-29 15:04:05",
    "2026-11-29 15:04:05.123456+00:00",
    "2026-13-29 15:04:05.123456",
    " 2026-11-29 15:04:05.123456",
    datetime(2026, 11, 29, 15, 4, 5, 123456),
    datetime(2026, 11, 29, 15, 4, 5, 123456, tzinfo=UTC),
    datetime(2026, 11, 29, 22, 4, 5, 1, tzinfo=timezone(timedelta(hours=7))),
]


@pytest.fixture
def stored(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        make_chain(40)
        yield fetch_rows()


def _agrees(raw: tuple[object, ...]) -> None:
    try:
        full = event_hash(decode(raw))
    except Unreadable:
        assert plain_digest(raw) is None, raw
        return
    fast = plain_digest(raw)
    assert fast is None or fast == full, raw


def test_a_stored_chain_takes_the_fast_path_with_the_same_hashes(stored):
    assert [plain_digest(raw) for raw in stored] == [raw[COLUMNS.index("hash")] for raw in stored]


def test_every_column_replaced_by_an_odd_value_gets_the_full_decoding_s_answer(stored):
    for raw in stored[:8]:
        for column in range(len(COLUMNS)):
            for value in ODD_VALUES:
                row = list(raw)
                row[column] = value
                _agrees(tuple(row))


def test_text_that_is_not_ascii_is_hashed_as_utf_8(stored):
    raw = list(stored[3])
    raw[COLUMNS.index("details")] = '{"note":"Tiếng Việt"}'
    row = tuple(raw)
    # Not the fast path's to answer, or answered as the full decoding does.
    assert plain_digest(row) in (None, event_hash(decode(row)))
    assert event_hash(decode(row)) != stored[3][COLUMNS.index("hash")]


def test_random_single_character_edits_get_the_full_decoding_s_answer(stored):
    rng = random.Random(11)
    for _ in range(2000):
        raw = list(rng.choice(stored))
        column = rng.choice([i for i, v in enumerate(raw) if isinstance(v, str) and v])
        text = raw[column]
        pos = rng.randrange(len(text))
        raw[column] = (
            text[:pos] + chr(rng.choice([0, 32, 45, 48, 57, 84, 233, 7873])) + text[pos + 1 :]
        )
        _agrees(tuple(raw))
