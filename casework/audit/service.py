"""audit.record(): append one event to the hash chain, in the caller's transaction.

Writers are serialised so the chain never forks: SQLite transactions begin IMMEDIATE (see
casework.db_setup), PostgreSQL takes a transaction-scoped advisory lock before reading the head.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context, request
from sqlalchemy import select, text

from casework.audit.models import AuditEvent
from casework.audit.tags import Tag
from casework.db import utcnow
from casework.extensions import db

if TYPE_CHECKING:
    from casework.accounts.models import User

GENESIS = b"\x00" * 32
DOMAIN = b"casework/audit/v1\x00"
_PG_LOCK_KEY = 0x63617365  # "case"


def _field(value: object) -> bytes:
    raw = b"" if value is None else str(value).encode("utf-8")
    return len(raw).to_bytes(4, "big") + raw


def event_hash(event: AuditEvent) -> bytes:
    """Domain-separated SHA-256 over a length-prefixed encoding of every field and the previous hash."""
    parts = [
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
    ]
    h = hashlib.sha256(DOMAIN)
    h.update(event.prev_hash)
    for part in parts:
        h.update(_field(part))
    return h.digest()


def _lock_chain() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


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
    _lock_chain()
    head = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_unit_id=getattr(actor, "unit_id", None),
        actor_partner_id=getattr(actor, "partner_id", None),
        actor_role=getattr(actor, "role", None),
        tag=Tag(tag).value,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        outcome=outcome,
        request_id=g.get("request_id") if has_request_context() else None,
        client_address=request.remote_addr if has_request_context() else None,
        details=json.dumps(details, sort_keys=True, separators=(",", ":"), default=list),
        prev_hash=head.hash if head else GENESIS,
    )
    event.hash = event_hash(event)
    db.session.add(event)
    db.session.flush()
    return event
