"""Stored audit rows as the verifier reads them: raw driver values, checked against the form record()
writes, and their event hash.

plain_digest() is the fast path that verification runs ten million times: for a row in exactly the
form record() writes, it returns the same bytes as event_hash(decode(row)) without building a row
object or a datetime; for anything else it returns None and the caller takes decode(), which says
what is wrong. tests/audit/test_rows.py holds the two to each other, on edited rows too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from casework.audit.service import DOMAIN, NULLABLE_COLUMNS, ChainRow
from casework.extensions import db

BATCH = 10_000
SEQ_FLOOR = -(2**63)  # the lowest number a 64-bit sequence column can hold

COLUMNS = ChainRow._fields
HASH_INDEX = COLUMNS.index("hash")
# Nullable text columns: record() stores nothing rather than an empty string, and event_hash encodes
# both alike, so an empty string here can only come from an edit.
_NULLABLE = tuple(COLUMNS.index(n) for n in NULLABLE_COLUMNS)


class Unreadable(Exception):
    """A stored value is not in the form record() writes; `reason` says which, worded when shown."""

    def __init__(self, reason: LazyString) -> None:
        super().__init__(reason)
        self.reason = reason


def stored_time(value: object) -> datetime:
    """A stored timestamp as an aware UTC datetime; text must be exactly as SQLAlchemy writes it."""
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Unreadable(_l("its time is not a valid timestamp")) from None
        if parsed.tzinfo is not None or parsed.isoformat(" ", "microseconds") != value:
            raise Unreadable(_l("its time is not written the way the application writes it"))
        return parsed.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise Unreadable(_l("its time is missing or of the wrong type"))


def hash_value(value: object, name: str) -> bytes:
    if type(value) is not bytes:
        if not isinstance(value, memoryview):
            raise Unreadable(_l("its %(column)s is not a 32-byte hash", column=name))
        value = bytes(value)
    if len(value) != 32:
        raise Unreadable(_l("its %(column)s is not a 32-byte hash", column=name))
    return value


_new_row = tuple.__new__  # builds a ChainRow without namedtuple's Python-level __new__


def decode(raw: Sequence[Any]) -> ChainRow:
    """A stored row (columns in COLUMNS order) as event_hash reads it; raises Unreadable."""
    if type(raw[0]) is not int:
        raise Unreadable(_l("its sequence number is not a whole number"))
    if "" in (raw[2], raw[3], raw[4], raw[5], raw[7], raw[8], raw[10], raw[11]):
        name = next(COLUMNS[i] for i in _NULLABLE if raw[i] == "")
        raise Unreadable(_l("its %(column)s holds an empty value", column=name))
    return _new_row(
        ChainRow,
        (
            raw[0],
            stored_time(raw[1]),
            *raw[2:13],
            hash_value(raw[13], "prev_hash"),
            hash_value(raw[14], "hash"),
        ),
    )


_fromisoformat = datetime.fromisoformat
_sha256 = hashlib.sha256
# A field's 4-byte big-endian length as text, one character a byte (encoded as Latin-1 below).
_PREFIX = ["\0\0\0" + chr(n) for n in range(256)]
_NOTHING = "\0\0\0\0"


def plain_digest(raw: Sequence[Any]) -> bytes | None:
    """event_hash(decode(raw)) for a row in the plain form, else None (then decode() decides).

    The plain form: an integer seq, the time as SQLite's exact text or a datetime, no empty text
    where nothing belongs, 32-byte hashes, text fields shorter than 256 characters. The message is
    built as one string, one character a byte, and encoded once: Latin-1 gives the UTF-8 bytes only
    for ASCII text, so a row with any other character goes the slow way.
    """
    seq, at, prev = raw[0], raw[1], raw[13]
    if type(seq) is not int or type(prev) is not bytes or len(prev) != 32:
        return None
    stored = raw[14]
    if type(stored) is not bytes or len(stored) != 32:
        return None
    if type(at) is str:
        try:
            parsed = _fromisoformat(at)
        except ValueError:
            return None
        if parsed.tzinfo is not None or parsed.isoformat(" ", "microseconds") != at:
            return None
        # The canonical "YYYY-MM-DD HH:MM:SS.ffffff" as isoformat() writes it with the UTC zone.
        when = at[:10] + "T" + at[11:] + "+00:00"
    elif isinstance(at, datetime):
        when = stored_time(at).isoformat(timespec="microseconds")
    else:
        return None
    if "" in (raw[2], raw[3], raw[4], raw[5], raw[7], raw[8], raw[10], raw[11]):
        return None
    a, b, c = raw[2], raw[3], raw[4]
    values = (
        str(seq),
        when,
        None if a is None else str(a),
        None if b is None else str(b),
        None if c is None else str(c),
        *raw[5:13],
    )
    try:
        body = "".join([_NOTHING if v is None else _PREFIX[len(v)] + v for v in values])
    except (IndexError, TypeError):  # a field of 256 characters or more, or not text
        return None
    if not body.isascii() and not all(v is None or v.isascii() for v in values):
        return None  # (a length of 128 to 255 alone makes the body non-ASCII: that is fine)
    return _sha256(DOMAIN + prev + body.encode("latin-1")).digest()


# --- Reading the database ----------------------------------------------------------------------


class Reader:
    """Raw rows through one driver connection, rolled back after every query (no lock is held)."""

    def __init__(self, connection: Any, qmark: bool) -> None:
        self._conn = connection
        p = "?" if qmark else "%s"
        # Fixed column names only: nothing here comes from outside.
        self._select = (
            f"SELECT {', '.join(COLUMNS)} FROM audit_event "  # noqa: S608  # nosec B608
            f"WHERE seq >= {p} AND seq <= {p} ORDER BY seq LIMIT {p}"
        )

    def _all(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()
            self._conn.rollback()

    def head(self) -> int:
        value = self._all("SELECT max(seq) FROM audit_event")[0][0]
        return value if type(value) is int else 0

    def checkpoints(self) -> list[Any]:
        return self._all(
            "SELECT seq, hash, at, key_id, signature, algorithm, public_key "
            "FROM audit_checkpoint ORDER BY seq"
        )

    def batches(self, lo: int, hi: int, batch: int = BATCH) -> Iterator[list[Any]]:
        """Rows with lo <= seq <= hi, in seq order, a batch at a time."""
        while True:
            rows = self._all(self._select, (lo, hi, batch))
            if not rows:
                return
            yield rows
            if len(rows) < batch:
                return
            lo = rows[-1][0] + 1

    def close(self) -> None:
        self._conn.close()


def app_reader() -> Reader:
    """A reader on the application's database (a pooled connection, outside the session)."""
    return Reader(db.engine.raw_connection(), db.engine.dialect.name == "sqlite")


def head_seq() -> int:
    """The highest sequence number stored (0 for an empty log)."""
    reader = app_reader()
    try:
        return reader.head()
    finally:
        reader.close()


def fetch_rows(upto: int | None = None) -> list[Any]:
    """Every stored row, in seq order (for small logs and tests; verification streams instead)."""
    reader = app_reader()
    try:
        hi = reader.head() if upto is None else upto
        return [row for rows in reader.batches(SEQ_FLOOR, hi) for row in rows]
    finally:
        reader.close()
