"""audit.record(): append one event to the hash chain, in the caller's transaction.

Writers are serialised so the chain never forks: SQLite transactions begin IMMEDIATE (see
casework.db.configure_sqlite), PostgreSQL takes a transaction-scoped advisory lock before reading the
head. Every 1,000 events (and at the first event 10 minutes after the last checkpoint) the new head is
signed as a checkpoint in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from flask import g, has_request_context, request

from casework.audit import checkpoints
from casework.audit.models import AuditEvent
from casework.audit.tags import Tag
from casework.db import driver_execute, utcnow
from casework.extensions import db

if TYPE_CHECKING:
    from casework.accounts.models import User

GENESIS = b"\x00" * 32
DOMAIN = b"casework/audit/v1\x00"


_NOTHING = (0).to_bytes(4, "big")
_SIZES = [n.to_bytes(4, "big") for n in range(256)]
_sha256 = hashlib.sha256


def event_hash(event: AuditEvent | ChainRow) -> bytes:
    """Domain-separated SHA-256 over a length-prefixed encoding of every field and the previous hash.

    Each field is its text in UTF-8 (nothing for None) after a 4-byte big-endian length.
    """
    return _digest(
        event.prev_hash,
        (
            event.seq,
            event.at.isoformat(timespec="microseconds"),
            event.actor_id,
            event.actor_unit_id,
            event.actor_partner_id,
            event.actor_role,
            event.tag,
            event.object_type,
            event.object_id,
            event.outcome,
            event.request_id,
            event.client_address,
            event.details,
        ),
    )


def _digest(prev_hash: bytes, values: tuple[Any, ...]) -> bytes:
    """event_hash of the fields in chain order, the time already as isoformat() text. Written as one
    join rather than a call per field: verification runs this ten million times."""
    out = [DOMAIN, prev_hash]
    add = out.append
    for value in values:
        if value is None:
            add(_NOTHING)
            continue
        raw = str(value).encode("utf-8")
        size = len(raw)
        add(_SIZES[size] if size < 256 else size.to_bytes(4, "big"))
        add(raw)
    return _sha256(b"".join(out)).digest()


class ChainRow(NamedTuple):
    """One event as hashed, stored and verified: what record() returns, read-only."""

    seq: int
    at: datetime
    actor_id: Any
    actor_unit_id: Any
    actor_partner_id: Any
    actor_role: Any
    tag: Any
    object_type: Any
    object_id: Any
    outcome: Any
    request_id: Any
    client_address: Any
    details: Any
    prev_hash: bytes
    hash: bytes


_COLUMNS = ChainRow._fields
# The columns that may hold nothing (None), in chain order; every other one always holds a value.
NULLABLE_COLUMNS = (
    "actor_id",
    "actor_unit_id",
    "actor_partner_id",
    "actor_role",
    "object_type",
    "object_id",
    "request_id",
    "client_address",
)
_new_row = tuple.__new__  # builds a ChainRow without namedtuple's Python-level __new__
_encode_details = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=list).encode


@dataclass(frozen=True)
class _Driver:
    """An append's two statements as driver SQL, and the time converters, for one database.

    Driver SQL on the session connection's own cursor, not Core nor exec_driver_sql: an append is
    on every request's path, and compiling, processing parameters and building results took over
    half its CPU time. The converters give exactly what SQLAlchemy's own for the column type give,
    so the stored time is what the ORM would write.

    On SQLite the insert names only the columns that hold a value (the others are NULL all the
    same) and passes the hashes as bytearray (stored as the same BLOB): pysqlite looks for an
    adapter for every parameter that is not an int, float, str or bytearray, and each search raises
    and clears an AttributeError, which cost more than the rest of the insert's binding.
    """

    head: str
    insert: str
    sqlite: bool
    time_to_db: Callable[[datetime, str], Any]  # (the time, its isoformat() text) → stored value
    time_from_db: Callable[[Any], Any]
    inserts: dict[tuple[bool, ...], tuple[str, Callable[[tuple[Any, ...]], tuple[Any, ...]]]]
    last_checkpoint: list[tuple[Any, Any]]  # one entry: the stored time last read, and its value

    def sqlite_insert(self, nothing: tuple[bool, ...]) -> tuple[str, Callable[[Any], Any]]:
        """The insert without the nullable columns marked as holding nothing, and the getter of
        its parameters (a tuple: seq, at, tag, outcome, details and the hashes are always kept)
        from the full row."""
        known = self.inserts.get(nothing)
        if known is None:
            absent = {name for name, none in zip(NULLABLE_COLUMNS, nothing, strict=True) if none}
            kept = [i for i, name in enumerate(_COLUMNS) if name not in absent]
            names = ", ".join(_COLUMNS[i] for i in kept)
            marks = ", ".join(["?"] * len(kept))
            sql = f"INSERT INTO audit_event ({names}) VALUES ({marks})"  # noqa: S608  # nosec B608
            known = self.inserts[nothing] = (sql, itemgetter(*kept))
        return known

    def checkpoint_time(self, stored: Any) -> Any:
        """The last checkpoint's time as a datetime (converted once while it stays the same)."""
        last = self.last_checkpoint[0]
        if last[0] != stored:
            last = (stored, self.time_from_db(stored))
            self.last_checkpoint[0] = last
        return last[1]


_DRIVERS: dict[str, _Driver] = {}
_SAMPLE_TIMES = (
    datetime(2026, 12, 7, 10, 14, 51, 123456, tzinfo=UTC),
    datetime(1999, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(2031, 10, 31, 23, 59, 59, 999999, tzinfo=UTC),
)


def _utc_text(at: datetime) -> str:
    """at.isoformat(timespec="microseconds"), the form the hash takes, written out directly for a
    UTC time (a third cheaper than isoformat(), which formats the zone's offset each time)."""
    if at.tzinfo is not UTC:
        return at.isoformat(timespec="microseconds")
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00" % (  # noqa: UP031 (faster than format specs)
        at.year,
        at.month,
        at.day,
        at.hour,
        at.minute,
        at.second,
        at.microsecond,
    )


def _sqlite_text(text: str) -> str:
    """SQLite's stored text of a UTC time, cut from its isoformat() text
    ("YYYY-MM-DDTHH:MM:SS.ffffff+00:00" → "YYYY-MM-DD HH:MM:SS.ffffff")."""
    return text[:10] + " " + text[11:26]


def _time_to_db(dialect: Any, processor: Callable[[Any], Any]) -> Callable[[datetime, str], Any]:
    """The time converter: on SQLite, for a UTC time, the text cut from the isoformat() text
    already made for the hash, when that is exactly what SQLAlchemy's converter writes; else
    SQLAlchemy's converter."""
    if dialect.name == "sqlite" and all(
        _sqlite_text(at.isoformat(timespec="microseconds")) == processor(at) for at in _SAMPLE_TIMES
    ):
        return lambda at, text: _sqlite_text(text) if at.tzinfo is UTC else processor(at)
    return lambda at, _text: processor(at)


def _driver(dialect: Any) -> _Driver:
    known = _DRIVERS.get(dialect.name)
    if known is not None:
        return known
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    time_type = AuditEvent.__table__.c.at.type.dialect_impl(dialect)
    to_db = time_type.bind_processor(dialect) or (lambda v: v)
    from_db = time_type.result_processor(dialect, None) or (lambda v: v)
    driver = _Driver(
        # The chain's head and the time of the last checkpoint, in one round trip. Each row is
        # found by its key's largest value, which both databases read from the end of the primary
        # key; "ORDER BY seq DESC LIMIT 1" left SQLite free to sort the whole log instead, as it
        # did when its statistics were older than the log.
        head=(
            "SELECT seq, hash, (SELECT at FROM audit_checkpoint "
            "WHERE seq = (SELECT max(seq) FROM audit_checkpoint)) "
            "FROM audit_event WHERE seq = (SELECT max(seq) FROM audit_event)"
        ),
        insert=(
            f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) "  # noqa: S608 (fixed names)  # nosec B608
            f"VALUES ({', '.join([mark] * len(_COLUMNS))})"
        ),
        sqlite=dialect.name == "sqlite" and mark == "?",
        time_to_db=_time_to_db(dialect, to_db),
        time_from_db=from_db,
        inserts={},
        last_checkpoint=[(None, None)],
    )
    _DRIVERS[dialect.name] = driver
    return driver


_LOCK = f"SELECT pg_advisory_xact_lock({0x63617365})"  # "case": serialises PostgreSQL writers

# In a session's info: appends held until the transaction commits (DEFER set), and the queue.
DEFER = "casework.audit.defer"
_QUEUE = "casework.audit.queue"
_MARKS = "casework.audit.savepoints"  # each open savepoint's place in the queue


def record(
    actor: User | None,
    tag: Tag,
    obj: Any = None,
    *,
    outcome: str = "ok",
    object_type: str | None = None,
    object_id: object = None,
    immediate: bool = False,
    **details: object,
) -> ChainRow | None:
    """Append an event. Details are ids and field names only: never a person's data.

    In a request (its session's info holds DEFER) the event is queued and appended, with the
    request's other events, just before its transaction commits (install()): the chain's lock
    (SQLite's write lock, PostgreSQL's advisory lock) is then held for the appends and the commit
    only, not while the page is put together. A rollback drops the queue with the rest of the
    transaction (a savepoint's: what was queued since it began). Returns None then.

    `immediate` appends at once (the queue first) and returns the event as stored, read-only: it
    is inserted, never tracked by the session, so nothing can try to flush a change to it later
    (the database would refuse). Outside a request every event is appended at once.
    """
    for key, value in details.items():
        if not isinstance(value, (int, str, bool, list, tuple, type(None))):
            raise TypeError(f"audit detail {key!r} must be an id, a field name or a list of them")
    tag_value = tag._value_ if type(tag) is Tag else Tag(tag)._value_
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    if actor is None:
        actor_id = actor_unit_id = actor_partner_id = actor_role = None
    else:
        actor_id = getattr(actor, "id", None)
        actor_unit_id = getattr(actor, "unit_id", None)
        actor_partner_id = getattr(actor, "partner_id", None)
        # Nothing is stored as None, never as an empty string: the hash encodes both alike, so the
        # verifier treats an empty string as an edit.
        actor_role = getattr(actor, "role", None) or None
    if has_request_context():
        request_id = g.get("request_id") or None
        client_address = request.remote_addr or None
    else:
        request_id = client_address = None
    item = (  # the event's fields after seq and at, as hashed
        actor_id,
        actor_unit_id,
        actor_partner_id,
        actor_role,
        tag_value,
        object_type or None,
        None if object_id is None or object_id == "" else str(object_id),
        outcome,
        request_id,
        client_address,
        _encode_details(details) if details else "{}",
    )
    session = db.session()
    info = session.info
    if info.get(DEFER) and not immediate:
        queue = info.get(_QUEUE)
        if queue is None:
            queue = info[_QUEUE] = []
        queue.append(item)
        return None
    queue = info.pop(_QUEUE, None) or []
    queue.append(item)
    return _append(queue)


def queued(session: Any) -> int:
    """How many of the session's events wait for its commit."""
    return len(session.info.get(_QUEUE) or ())


def append_queued(session: Any) -> None:
    """Append the events the session holds, in its transaction (a no-op when there are none)."""
    queue = session.info.pop(_QUEUE, None)
    if queue:
        _append(queue)


def _at_savepoint(session: Any, transaction: Any) -> None:
    if transaction.nested:  # where its queue stood: a rollback of the savepoint goes back to it
        marks = session.info.setdefault(_MARKS, {})
        marks[transaction] = len(session.info.get(_QUEUE) or ())


def _after_rollback(session: Any, previous: Any) -> None:
    info = session.info
    if previous.nested:  # only what was queued inside the savepoint goes
        mark = info.get(_MARKS, {}).pop(previous, None)
        if mark is not None and info.get(_QUEUE):
            del info[_QUEUE][mark:]
    elif previous.parent is None:
        info.pop(_QUEUE, None)
        info.pop(_MARKS, None)


def _before_commit(session: Any) -> None:
    from casework.db import reading

    session.info.pop(_MARKS, None)  # savepoints released: their events stay
    if not reading():  # a read-only transaction's events follow it in a writer's (casework.db)
        append_queued(session)


def install(session_class: Any) -> None:
    """Append queued events before each commit; drop them with a rollback (idempotent)."""
    from sqlalchemy import event

    for name, hook in (
        ("before_commit", _before_commit),
        ("after_transaction_create", _at_savepoint),
        ("after_soft_rollback", _after_rollback),
    ):
        if not event.contains(session_class, name, hook):
            event.listen(session_class, name, hook)


def _append(items: list[tuple[Any, ...]]) -> ChainRow:
    """Append the events (their fields after seq and at) to the chain, in the session's
    transaction, under the chain's lock; returns the last one."""
    conn = db.session.connection()
    dialect = conn.dialect
    driver = _DRIVERS.get(dialect.name) or _driver(dialect)
    # One driver cursor for the append's statements (a failing one closes it).
    cursor = driver_execute(conn, _LOCK) if dialect.name == "postgresql" else None
    cursor = driver_execute(conn, driver.head, (), cursor)
    made: list[ChainRow] = []
    try:
        head = cursor.fetchone()
        seq = head[0] if head else 0
        prev_hash = bytes(head[1]) if head else GENESIS
        at = utcnow()
        at_text = _utc_text(at)
        stored_at = driver.time_to_db(at, at_text)
        for item in items:
            seq += 1
            digest = _digest(prev_hash, (seq, at_text, *item))
            event: ChainRow = _new_row(ChainRow, (seq, at, *item, prev_hash, digest))
            if driver.sqlite:
                sql, values = driver.sqlite_insert(
                    (
                        item[0] is None,
                        item[1] is None,
                        item[2] is None,
                        item[3] is None,
                        item[5] is None,
                        item[6] is None,
                        item[8] is None,
                        item[9] is None,
                    )
                )
                row = (seq, stored_at, *item, bytearray(prev_hash), bytearray(digest))
                driver_execute(conn, sql, values(row), cursor)
            else:
                driver_execute(
                    conn, driver.insert, (seq, stored_at, *item, prev_hash, digest), cursor
                )
            made.append(event)
            prev_hash = digest
    finally:
        cursor.close()
    last_checkpoint = driver.checkpoint_time(head[2]) if head else None
    for event in made:
        if checkpoints.due(event.seq, last_checkpoint):
            last_checkpoint = checkpoints.make_checkpoint(event).at
    return made[-1]
