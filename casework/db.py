"""Declarative base, naming convention, UTC time and the one-commit-per-request rule."""

from __future__ import annotations

import os
import threading
import uuid
import warnings
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, String, TypeDecorator, any_, func, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import FunctionElement

# Named constraints make Alembic's batch migrations on SQLite deterministic.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __repr__(self) -> str:
        # Ids only: a repr must never carry a person's data into a log or traceback.
        ident = getattr(self, "id", None)
        return f"<{type(self).__name__} id={ident}>"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


class uuid_text(FunctionElement[str]):
    """A UUID column as text written the way str(uuid) writes it (lower case, with hyphens), on
    every database: how row ids are kept in text columns such as the audit log's object_id.

    Compared the other way round (the text turned into a UUID) an index on the text column could not
    be used, and a text that is not a UUID would fail on PostgreSQL.
    """

    type = String()
    inherit_cache = True
    name = "uuid_text"


@compiles(uuid_text)
def _uuid_text(element: uuid_text, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS VARCHAR)"  # PostgreSQL's own form


@compiles(uuid_text, "sqlite")
def _uuid_text_sqlite(element: uuid_text, compiler: Any, **kw: Any) -> str:
    # SQLAlchemy keeps a UUID on SQLite as 32 hex digits without hyphens.
    x = compiler.process(element.clauses, **kw)
    parts = [f"substr({x}, {start}, {length})" for start, length in _UUID_GROUPS]
    return "lower(" + " || '-' || ".join(parts) + ")"


_UUID_GROUPS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def in_subquery(column: Any, subquery: Any, dialect: str) -> Any:
    """column IN (subquery), written so that an index on the column serves it under an OR too.

    PostgreSQL turns IN (subquery) under an OR into a filter checked row by row; as
    = ANY(ARRAY(subquery)) the subquery runs once and the column's index answers the rest (a
    bitmap OR with the other terms). SQLite answers IN (subquery) from the index as it is.
    """
    if dialect == "postgresql":
        return column == any_(func.array(subquery.scalar_subquery()))
    return column.in_(subquery)


# --- SQLite writers ------------------------------------------------------------------------------

BUSY_TIMEOUT_MS = 10_000  # SQLite's own wait for the write lock
GATE_TIMEOUT_S = 5.0  # the in-process queue's wait, before SQLite's own
_HOLDS = "casework.writer_gate"  # in a connection's info: the gate it holds


class WriterGate:
    """This process's writers to one SQLite database, queued on a lock before BEGIN IMMEDIATE.

    SQLite makes a second writer wait in its busy handler, which sleeps in growing steps (1, 2, 5,
    10 … 100 ms) and so leaves the database idle after the first writer has committed; queued on a
    lock, the next writer starts the moment the last one has committed. An optimisation only:
    SQLite's lock still serialises writers. Other processes, and a writer that waited here longer
    than the timeout, go on to SQLite's own wait; a gate lost with its connection frees itself after
    the timeout the same way. Held from BEGIN until COMMIT or ROLLBACK has run, never longer.
    """

    def __init__(self, timeout: float = GATE_TIMEOUT_S) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self._lock.locked()

    def enter(self, info: dict[Any, Any]) -> None:
        if info.get(_HOLDS) is self:
            return  # this connection's transaction still has it (a failed COMMIT, retried)
        if self._lock.acquire(timeout=self.timeout):
            info[_HOLDS] = self

    def leave(self, info: dict[Any, Any] | None) -> None:
        if info is not None and info.pop(_HOLDS, None) is self:
            self._lock.release()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent's holder does not exist here


_GATES: dict[str, WriterGate] = {}
_GATES_LOCK = threading.Lock()


def writer_gate(engine: Any) -> WriterGate:
    """The gate of the engine's database file: one per file in this process, so that every engine
    on it queues together (an in-memory database is its engine's own)."""
    name = engine.url.database or ""
    if not name or name == ":memory:" or name.startswith("file:"):
        return WriterGate()
    key = os.path.realpath(name)
    with _GATES_LOCK:
        return _GATES.setdefault(key, WriterGate())


def _reset_gates_after_fork() -> None:
    for gate in _GATES.values():
        gate._after_fork()


os.register_at_fork(after_in_child=_reset_gates_after_fork)


def _info_of(connection: Any) -> dict[Any, Any] | None:
    """A pooled connection's info; None for the bare one SQLAlchemy makes at the first connect."""
    try:
        return connection.info  # type: ignore[no-any-return]
    except (AttributeError, NotImplementedError):
        return None


def driver_execute(conn: Any, statement: str, params: Any = (), cursor: Any = None) -> Any:
    """Run one statement on the connection's own driver cursor, in its transaction; returns the
    cursor. For statements on every request's path (the audit append), where SQLAlchemy's
    execution machinery cost more than the statement. Driver errors come out as SQLAlchemy's
    (OperationalError and the rest), as from any other statement, and close the cursor.

    cursor: one this function returned for the same connection, run again (a new one by default).
    """
    dialect = conn.dialect
    if cursor is None:
        cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(statement, params)
    except dialect.loaded_dbapi.Error as exc:
        cursor.close()
        raise DBAPIError.instance(
            statement, params, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc
    return cursor


# --- Requests that only read ---------------------------------------------------------------------

_READING: ContextVar[bool] = ContextVar("casework_reading", default=False)
_CHANGES = "casework.changes_at_begin"  # in a connection's info: its total_changes at BEGIN


class ReadRequestWrote(RuntimeWarning):
    """A request run as read-only changed the database (see begin_writing())."""


def read_only(view: Any) -> Any:
    """Mark a view that answers a POST without changing anything (a search, whose terms stay out
    of the URL) to run as a reader, as GET requests do."""
    view._read_only = True
    return view


def reading() -> bool:
    """Whether this request only reads: on SQLite its transaction begins DEFERRED, without the
    write lock, so that readers in every process run side by side; the request's audit events
    are appended after it, in a short writer's transaction of their own, before the response
    leaves (casework/__init__.py)."""
    return _READING.get()


def start_reading() -> Any:
    """Run this request's transactions as a reader's; returns the token stop_reading() takes."""
    return _READING.set(True)


def stop_reading(token: Any = None) -> None:
    if token is not None:
        _READING.reset(token)
    else:
        _READING.set(False)


def begin_writing(session: Any) -> None:
    """A request run as read-only is about to write (a session's last-seen time, say): end its
    reader's transaction, which has written nothing, so that the next one begins as a writer's
    (on SQLite a reader's snapshot cannot become a writer's once another has committed). Objects
    loaded so far are read again in the new transaction; queued audit events are kept."""
    if not _READING.get():
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_writing() after a change: call it before changing anything")
    session.commit()  # writes nothing: the audit queue waits while reading
    _READING.set(False)


def configure_sqlite(engine: Any) -> None:
    """Make SQLite safe for concurrent writers and durable across a crash.

    pysqlite's own transaction handling starts transactions late and DEFERRED; two writers that both
    read first then deadlock or fail with SQLITE_BUSY. So every transaction begins IMMEDIATE
    (serialising writers, which also serialises audit-chain appends), in WAL mode with full sync,
    after queueing at the database's WriterGate.
    """
    from sqlalchemy import event

    gate = writer_gate(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    # BEGIN IMMEDIATE is the dialect's own begin, not a "begin" event: with no engine event
    # listened for, SQLAlchemy skips its event dispatch on every transaction, and a refused BEGIN
    # raises SQLAlchemy's error (its rollback gives the gate back). The "commit" and "rollback"
    # events would come before the database has done it: the gate is let go after the dialect's
    # own call instead. A failed COMMIT leaves the transaction open, and the gate with it, to the
    # ROLLBACK that follows. The DB-API connection is called directly, not through the pool's
    # proxy, which finds commit() and rollback() only after a failed attribute lookup.
    dialect = engine.dialect
    plain_commit, plain_rollback = dialect.do_commit, dialect.do_rollback

    def do_begin(dbapi_connection):  # type: ignore[no-untyped-def]
        info = dbapi_connection.info
        if _READING.get():  # a reader's snapshot: no write lock, no gate
            raw = dbapi_connection.dbapi_connection
            raw.execute("BEGIN")
            info[_CHANGES] = raw.total_changes
            return
        gate.enter(info)
        try:
            dbapi_connection.dbapi_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            gate.leave(info)
            raise

    def do_commit(dbapi_connection):  # type: ignore[no-untyped-def]
        raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
        info = _info_of(dbapi_connection)
        began = info.pop(_CHANGES, None) if info is not None else None
        if began is not None and raw.total_changes != began:
            # It worked this time; with another writer between its snapshot and its write it
            # fails ("database is locked"). Such a request must call begin_writing() first.
            warnings.warn("a read-only request wrote to the database", ReadRequestWrote, 2)
        plain_commit(raw)
        if gate.held:  # else no connection holds it, this one neither
            gate.leave(_info_of(dbapi_connection))

    def do_rollback(dbapi_connection):  # type: ignore[no-untyped-def]
        info = _info_of(dbapi_connection)
        if info is not None:
            info.pop(_CHANGES, None)
        try:
            plain_rollback(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))
        finally:
            if gate.held:
                gate.leave(_info_of(dbapi_connection))

    dialect.do_begin, dialect.do_commit, dialect.do_rollback = do_begin, do_commit, do_rollback

    # A connection invalidated or closed in the middle of a transaction gives the gate back.
    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection, record, _exception):  # type: ignore[no-untyped-def]
        gate.leave(record.info)

    @event.listens_for(engine, "close")
    def _on_close(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        gate.leave(record.info)


def configure_postgresql(engine: Any) -> None:
    """Turn PostgreSQL's JIT compiler off in every transaction. The policy's scoped queries are
    short but their cost estimates (subtrees, unions of grants over a million cases) cross the
    JIT threshold, and compiling one took 0.7 s where running it took under a millisecond.
    SET LOCAL, not SET: behind pgbouncer's transaction pooling a session setting would stay on a
    server connection other clients share."""
    from sqlalchemy import event

    @event.listens_for(engine, "begin")
    def _no_jit(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("SET LOCAL jit = off")


def refresh_statistics(session: Any) -> None:
    """Give SQLite's query planner fresh table statistics (a bounded ANALYZE: a few hundredths of
    a second on a million cases), in the session's transaction (the caller commits). Without
    them it may count a month's reports through the severity index rather than the unit's.
    PostgreSQL keeps its own (autovacuum)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(text("PRAGMA analysis_limit=1000"))
    session.execute(text("ANALYZE"))
