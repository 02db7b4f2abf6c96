"""audit.record(): append one event to the hash chain, in the caller's transaction.

Writers are serialised so the chain never forks: SQLite transactions begin IMMEDIATE (see
casework.db.configure_sqlite), PostgreSQL takes a transaction-scoped advisory lock before reading the
head. Every 1,000 events (and at the first event 10 minutes after the last checkpoint) the new head is
signed as a checkpoint in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context, request
from sqlalchemy import insert, select, text

from casework.audit import checkpoints
from casework.audit.models import AuditCheckpoint, AuditEvent
from casework.audit.tags import Tag
from casework.db import utcnow
from casework.extensions import db

if TYPE_CHECKING:
    from casework.accounts.models import User

GENESIS = b"\x00" * 32
DOMAIN = b"casework/audit/v1\x00"
_PG_LOCK_KEY = 0x63617365  # "case"


_NOTHING = (0).to_bytes(4, "big")
_SIZES = [n.to_bytes(4, "big") for n in range(256)]


def event_hash(event: AuditEvent) -> bytes:
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


_COLUMNS = tuple(c.name for c in AuditEvent.__table__.columns)
_INSERT = insert(AuditEvent.__table__)  # one statement, compiled once

# The chain's head and the time of the last checkpoint, in one round trip.
# Core statements on the session's connection: an append is on every request's path, and the ORM
# layer would only add cost (nothing here needs pending objects flushed first).
_EVENTS = AuditEvent.__table__
_CHECKPOINTS = AuditCheckpoint.__table__
_HEAD = (
    select(
        _EVENTS.c.seq,
        _EVENTS.c.hash,
        select(_CHECKPOINTS.c.at)
        .order_by(_CHECKPOINTS.c.seq.desc())
        .limit(1)
        .scalar_subquery()
        .label("checkpoint_at"),
    )
    .order_by(_EVENTS.c.seq.desc())
    .limit(1)
)
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


def record(
    actor: User | None,
    tag: Tag,
    obj: Any = None,
    *,
    outcome: str = "ok",
    object_type: str | None = None,
    object_id: object = None,
    **details: object,
) -> AuditEvent:
    """Append an event. Details are ids and field names only: never a person's data."""
    for key, value in details.items():
        if not isinstance(value, (int, str, bool, list, tuple, type(None))):
            raise TypeError(f"audit detail {key!r} must be an id, a field name or a list of them")
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"k": _PG_LOCK_KEY})
    head = conn.execute(_HEAD).first()
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
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
        request_id=(g.get("request_id") or None) if has_request_context() else None,
        client_address=(request.remote_addr or None) if has_request_context() else None,
        details=json.dumps(details, sort_keys=True, separators=(",", ":"), default=list),
        prev_hash=head.hash if head else GENESIS,
    )
    event.hash = event_hash(event)
    # A plain INSERT, not session.add(): the event is never tracked by the session, so nothing can
    # try to flush a change to it later (the database would refuse), and an append stays cheap.
    conn.execute(_INSERT, {c: getattr(event, c) for c in _COLUMNS})
    if checkpoints.due(event.seq, head.checkpoint_at if head else None):
        checkpoints.make_checkpoint(event)
    return event
