"""Signed checkpoints: the chain's head (sequence number and hash) signed with a key of its own.

The signing key is derived (HKDF, its own info string) from a master key, whose id is stored with the
checkpoint. A checkpoint exported to a small text file and kept outside the database lets anyone with
the keyring prove later that the log still reaches that sequence number with that hash: a truncated
or rewritten tail no longer matches.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import insert, select

from casework.audit.models import AuditCheckpoint, AuditEvent
from casework.crypto.keyring import Keyring, UnknownKey
from casework.db import utcnow
from casework.extensions import db

HKDF_INFO = b"casework/audit/checkpoint/v1"
SIGNED_DOMAIN = b"casework/audit/checkpoint/v1\x00"
FILE_HEADER = "casework audit checkpoint v1"
EVERY_EVENTS = 1000
EVERY_MINUTES = 10


class CheckpointFileError(Exception):
    """An exported checkpoint file cannot be read."""


@dataclass(frozen=True)
class SignedHead:
    """A checkpoint as exported or stored: what is signed, and the signature."""

    seq: int
    hash: bytes
    at: datetime
    key_id: str
    signature: bytes


def _signing_key(material: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(material)


def _message(seq: int, head_hash: bytes, at: datetime, key_id: str) -> bytes:
    parts = [
        str(seq).encode(),
        head_hash,
        at.isoformat(timespec="microseconds").encode(),
        key_id.encode(),
    ]
    return SIGNED_DOMAIN + b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def sign(keyring: Keyring, seq: int, head_hash: bytes, at: datetime) -> tuple[str, bytes]:
    """Sign a head with the primary master key's checkpoint key; returns (key id, signature)."""
    key = keyring.primary
    mac = hmac.new(_signing_key(key.material), _message(seq, head_hash, at, key.id), hashlib.sha256)
    return key.id, mac.digest()


def signature_valid(keyring: Keyring, head: SignedHead | AuditCheckpoint) -> bool:
    """True when the signature was made by the named master key over exactly these values."""
    try:
        material = keyring.get(head.key_id).material
    except UnknownKey:
        return False
    expected = hmac.new(
        _signing_key(material), _message(head.seq, head.hash, head.at, head.key_id), hashlib.sha256
    ).digest()
    return hmac.compare_digest(expected, head.signature)


def _keyring() -> Keyring:
    return current_app.config["MASTER_KEYRING"]


def make_checkpoint(event: AuditEvent) -> AuditCheckpoint:
    """Sign the chain's head at this (inserted) event, in the caller's transaction."""
    at = utcnow()
    key_id, signature = sign(_keyring(), event.seq, event.hash, at)
    checkpoint = AuditCheckpoint(
        seq=event.seq, hash=event.hash, at=at, key_id=key_id, signature=signature
    )
    # Inserted, not tracked by the session (like the events): nothing may update it later.
    db.session.connection().execute(
        insert(AuditCheckpoint.__table__),
        {"seq": event.seq, "hash": event.hash, "at": at, "key_id": key_id, "signature": signature},
    )
    return checkpoint


def due(seq: int, last_at: datetime | None) -> bool:
    """A checkpoint is due every 1,000 events, and at the first event 10 minutes after the last one
    (last_at: when the latest checkpoint was signed, None when there is none yet)."""
    every = current_app.config.get("AUDIT_CHECKPOINT_EVERY", EVERY_EVENTS)
    if seq % every == 0 or last_at is None:
        return True
    minutes = current_app.config.get("AUDIT_CHECKPOINT_MINUTES", EVERY_MINUTES)
    return utcnow() - last_at >= timedelta(minutes=minutes)


def latest() -> AuditCheckpoint | None:
    return db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))


# --- The exported file -------------------------------------------------------------------------


def export_text(head: SignedHead | AuditCheckpoint) -> str:
    """The small text file kept outside the database (no personal data: numbers and hashes)."""
    return (
        f"{FILE_HEADER}\n"
        f"seq: {head.seq}\n"
        f"hash: {head.hash.hex()}\n"
        f"at: {head.at.isoformat(timespec='microseconds')}\n"
        f"key_id: {head.key_id}\n"
        f"signature: {head.signature.hex()}\n"
    )


def parse_export(text: str) -> SignedHead:
    """Read an exported checkpoint; raises CheckpointFileError when it is not one."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines or lines[0] != FILE_HEADER:
        raise CheckpointFileError(f"the first line must be {FILE_HEADER!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise CheckpointFileError(f"not a 'name: value' line: {line[:40]!r}")
        fields[name.strip()] = value.strip()
    try:
        head = SignedHead(
            seq=int(fields["seq"]),
            hash=bytes.fromhex(fields["hash"]),
            at=datetime.fromisoformat(fields["at"]),
            key_id=fields["key_id"],
            signature=bytes.fromhex(fields["signature"]),
        )
    except KeyError as exc:
        raise CheckpointFileError(f"missing field {exc.args[0]!r}") from None
    except ValueError:
        raise CheckpointFileError("a field is malformed") from None
    if head.seq < 1 or len(head.hash) != 32 or head.at.tzinfo is None:
        raise CheckpointFileError("a field is out of range")
    return head


def checkpoint_now(actor: object, *, exported: bool = False) -> AuditCheckpoint:
    """Record the request, then sign the head that includes it (on demand, or for an export)."""
    from casework.audit.service import record
    from casework.audit.tags import Tag

    event = record(
        actor,  # type: ignore[arg-type]
        Tag.AUDIT_CHECKPOINT_CREATE,
        object_type="audit_checkpoint",
        exported=exported,
    )
    existing = db.session.get(AuditCheckpoint, event.seq)  # record() may have made it already
    return existing if existing is not None else make_checkpoint(event)
