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
from datetime import datetime
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


def event_hash(event: AuditEvent | ChainRow) -> bytes:
    """Domain-separated SHA-256 over a length-prefixed encoding of every field and the previous hash.

    Each field is its text in UTF-8 (nothing for None) after a 4-byte big-endian length. Written as
    one join rather than a call per field: verification runs this ten million times.
    """
    out = [DOMAIN, event.prev_hash]
    add = out.append
    for value in (
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
    ):
        if value is None:
            add(_NOTHING)
            continue
        raw = str(value).encode("utf-8")
        size = len(raw)
        add(_SIZES[size] if size < 256 else size.to_bytes(4, "big"))
        add(raw)
    return hashlib.sha256(b"".join(out)).digest()


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


@dataclass(frozen=True)
class _Driver:
    """An append's two statements as driver SQL, and the time converters, for one database.

    Driver SQL on the session connection's own cursor, not Core nor exec_driver_sql: an append is
    on every request's path, and compiling, processing parameters and building results took over
    half its CPU time. The converters are SQLAlchemy's
    own for the column type, so the stored time is exactly what the ORM would write.
    """

    head: str
    insert: str
    time_to_db: Callable[[Any], Any]
    time_from_db: Callable[[Any], Any]


_DRIVERS: dict[str, _Driver] = {}


def _driver(dialect: Any) -> _Driver:
    known = _DRIVERS.get(dialect.name)
    if known is not None:
        return known
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    time_type = AuditEvent.__table__.c.at.type.dialect_impl(dialect)
    to_db = time_type.bind_processor(dialect) or (lambda v: v)
    from_db = time_type.result_processor(dialect, None) or (lambda v: v)
    driver = _Driver(
        # The chain's head and the time of the last checkpoint, in one round trip.
        head=(
            "SELECT seq, hash, (SELECT at FROM audit_checkpoint ORDER BY seq DESC LIMIT 1) "
            "FROM audit_event ORDER BY seq DESC LIMIT 1"
        ),
        insert=(
            f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) "  # noqa: S608 (fixed names)  # nosec B608
            f"VALUES ({', '.join([mark] * len(_COLUMNS))})"
        ),
        time_to_db=to_db,
        time_from_db=from_db,
    )
    _DRIVERS[dialect.name] = driver
    return driver


_LOCK = f"SELECT pg_advisory_xact_lock({0x63617365})"  # "case": serialises PostgreSQL writers


def record(
    actor: User | None,
    tag: Tag,
    obj: Any = None,
    *,
    outcome: str = "ok",
    object_type: str | None = None,
    object_id: object = None,
    **details: object,
) -> ChainRow:
    """Append an event. Details are ids and field names only: never a person's data.

    Returns the event as stored, read-only: it is inserted, never tracked by the session, so
    nothing can try to flush a change to it later (the database would refuse).
    """
    for key, value in details.items():
        if not isinstance(value, (int, str, bool, list, tuple, type(None))):
            raise TypeError(f"audit detail {key!r} must be an id, a field name or a list of them")
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    conn = db.session.connection()
    driver = _driver(conn.dialect)
    if conn.dialect.name == "postgresql":
        driver_execute(conn, _LOCK).close()
    cursor = driver_execute(conn, driver.head)
    head = cursor.fetchone()
    cursor.close()
    in_request = has_request_context()
    unsigned = ChainRow(
        seq=(head[0] + 1) if head else 1,
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_unit_id=getattr(actor, "unit_id", None),
        actor_partner_id=getattr(actor, "partner_id", None),
        # Nothing is stored as None, never as an empty string: the hash encodes both alike, so the
        # verifier treats an empty string as an edit.
        actor_role=getattr(actor, "role", None) or None,
        tag=Tag(tag).value,
        object_type=object_type or None,
        object_id=None if object_id is None or object_id == "" else str(object_id),
        outcome=outcome,
        request_id=(g.get("request_id") or None) if in_request else None,
        client_address=(request.remote_addr or None) if in_request else None,
        details=json.dumps(details, sort_keys=True, separators=(",", ":"), default=list),
        prev_hash=bytes(head[1]) if head else GENESIS,
        hash=b"",
    )
    event = unsigned._replace(hash=event_hash(unsigned))
    driver_execute(conn, driver.insert, (event[0], driver.time_to_db(event.at), *event[2:])).close()
    last_checkpoint = driver.time_from_db(head[2]) if head else None
    if checkpoints.due(event.seq, last_checkpoint):
        checkpoints.make_checkpoint(event)
    return event
