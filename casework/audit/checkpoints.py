"""Signed checkpoints: the chain's head (sequence number and hash) signed with Ed25519.

The signing key is derived from the primary master key (casework.crypto.signing); its id and public
key are stored with the checkpoint and written into the exported file, which therefore verifies on
its own. This instance trusts only the keys its keyring vouches for: those of the master keys it
holds and the retired ones listed in the keyring file, so a checkpoint stays verifiable after its
master key is retired and a key put into the database by an attacker is refused. A checkpoint kept
outside the database proves later that the log still reaches that sequence number with that hash: a
truncated or rewritten tail no longer matches. docs/audit.md has the formats.

Checkpoints made before Ed25519 (algorithm "hmac-sha256") are still verified with their master key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from casework.audit.models import AuditCheckpoint
from casework.crypto import signing
from casework.crypto.derived import Purpose, derive_key
from casework.crypto.keyring import Keyring, UnknownKey
from casework.db import utcnow
from casework.extensions import db

if TYPE_CHECKING:
    from casework.audit.service import ChainRow

ED25519 = signing.ALGORITHM
LEGACY = "hmac-sha256"
SIGNED_DOMAIN = b"casework/audit/checkpoint/v2\x00"
FILE_HEADER = "casework audit checkpoint v2"
EVERY_EVENTS = 1000
EVERY_MINUTES = 10
# Before Ed25519: HMAC-SHA256 under a key that casework.crypto derives from the master key named by
# key_id (derived.Purpose.AUDIT_CHECKPOINT_HMAC, whose HKDF info string this is).
LEGACY_HKDF_INFO = Purpose.AUDIT_CHECKPOINT_HMAC.value
LEGACY_DOMAIN = b"casework/audit/checkpoint/v1\x00"
LEGACY_FILE_HEADER = "casework audit checkpoint v1"


class CheckpointFileError(Exception):
    """An exported checkpoint file cannot be read."""


@dataclass(frozen=True)
class SignedHead:
    """A checkpoint as exported or stored: what is signed, the signature, and how to check it."""

    seq: int
    hash: bytes
    at: datetime
    key_id: str
    signature: bytes
    algorithm: str = ED25519
    public_key: bytes | None = None  # as the file or the row carries it: checked, never trusted


def _message(domain: bytes, seq: int, head_hash: bytes, at: datetime, key_id: str) -> bytes:
    parts = [
        str(seq).encode(),
        head_hash,
        at.isoformat(timespec="microseconds").encode(),
        key_id.encode(),
    ]
    return domain + b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def message(head: SignedHead | AuditCheckpoint) -> bytes:
    """The bytes an Ed25519 checkpoint signature covers."""
    return _message(SIGNED_DOMAIN, head.seq, head.hash, head.at, head.key_id)


def sign(keyring: Keyring, seq: int, head_hash: bytes, at: datetime) -> SignedHead:
    """Sign a head with the primary master key's checkpoint signing key."""
    signer = signing.signer_for(keyring.primary)
    signature = signer.sign(_message(SIGNED_DOMAIN, seq, head_hash, at, signer.key_id))
    return SignedHead(seq, head_hash, at, signer.key_id, signature, ED25519, signer.public)


def signature_valid(
    keyring: Keyring,
    head: SignedHead | AuditCheckpoint,
    trusted_keys: dict[str, signing.Trusted] | None = None,
) -> bool:
    """True when a key this keyring trusts signed exactly these values (and, when the head carries
    a public key, it is that trusted key). trusted_keys: signing.trusted_keys(keyring), computed
    once by a caller that checks many."""
    if head.algorithm == LEGACY:
        return _legacy_valid(keyring, head)
    if head.algorithm != ED25519:
        return False
    if trusted_keys is None:
        trusted_keys = signing.trusted_keys(keyring)
    trusted = trusted_keys.get(head.key_id)
    if trusted is None or (trusted.upto_seq is not None and head.seq > trusted.upto_seq):
        return False
    if head.public_key is not None and not hmac.compare_digest(head.public_key, trusted.public):
        return False
    return signing.signature_ok(trusted.public, head.signature, message(head))


def valid_on_its_own(head: SignedHead) -> bool:
    """An exported file checked with nothing but itself: its key id is its public key's fingerprint
    and the signature holds. (Whether to trust that key is another question: signature_valid.)"""
    if head.algorithm != ED25519 or head.public_key is None:
        return False
    if signing.key_id_of(head.public_key) != head.key_id:
        return False
    return signing.signature_ok(head.public_key, head.signature, message(head))


def _legacy_valid(keyring: Keyring, head: SignedHead | AuditCheckpoint) -> bool:
    try:
        _master_id, key = derive_key(keyring, Purpose.AUDIT_CHECKPOINT_HMAC, key_id=head.key_id)
    except UnknownKey:
        return False
    signed = _message(LEGACY_DOMAIN, head.seq, head.hash, head.at, head.key_id)
    expected = hmac.new(key, signed, hashlib.sha256).digest()
    return hmac.compare_digest(expected, head.signature)


def _keyring() -> Keyring:
    return current_app.config["MASTER_KEYRING"]


def make_checkpoint(event: ChainRow) -> AuditCheckpoint:
    """Sign the chain's head at this (inserted) event, in the caller's transaction."""
    head = sign(_keyring(), event.seq, event.hash, utcnow())
    values = {
        "seq": head.seq,
        "hash": head.hash,
        "at": head.at,
        "key_id": head.key_id,
        "signature": head.signature,
        "algorithm": head.algorithm,
        "public_key": head.public_key,
    }
    # Inserted, not tracked by the session (like the events): nothing may update it later.
    db.session.connection().execute(insert(AuditCheckpoint.__table__), values)
    return AuditCheckpoint(**values)


_SPANS: dict[float, timedelta] = {}  # the time between checkpoints, by its minutes (made once)


def due(seq: int, last_at: datetime | None) -> bool:
    """A checkpoint is due every 1,000 events, and at the first event 10 minutes after the last one
    (last_at: when the latest checkpoint was signed, None when there is none yet)."""
    config = current_app.config
    if seq % config.get("AUDIT_CHECKPOINT_EVERY", EVERY_EVENTS) == 0 or last_at is None:
        return True
    minutes = config.get("AUDIT_CHECKPOINT_MINUTES", EVERY_MINUTES)
    span = _SPANS.get(minutes)
    if span is None:
        span = _SPANS[minutes] = timedelta(minutes=minutes)
    return utcnow() - last_at >= span


def latest() -> AuditCheckpoint | None:
    return db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))


# --- The exported file -------------------------------------------------------------------------


def export_text(head: SignedHead | AuditCheckpoint) -> str:
    """The small text file kept outside the database (no personal data: numbers and hashes)."""
    if head.algorithm == LEGACY:
        return _fields_text(LEGACY_FILE_HEADER, head, ("seq", "hash", "at", "key_id", "signature"))
    return _fields_text(
        FILE_HEADER,
        head,
        ("seq", "hash", "at", "algorithm", "key_id", "public_key", "signature"),
    )


def _fields_text(header: str, head: SignedHead | AuditCheckpoint, names: tuple[str, ...]) -> str:
    lines = [header]
    for name in names:
        value = getattr(head, name)
        if isinstance(value, bytes):
            value = value.hex()
        elif isinstance(value, datetime):
            value = value.isoformat(timespec="microseconds")
        lines.append(f"{name}: {value}")
    return "\n".join(lines) + "\n"


def parse_export(text: str) -> SignedHead:
    """Read an exported checkpoint; raises CheckpointFileError when it is not one."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines or lines[0] not in (FILE_HEADER, LEGACY_FILE_HEADER):
        raise CheckpointFileError(_l("the first line must be %(header)s", header=repr(FILE_HEADER)))
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise CheckpointFileError(
                _l("not a 'name: value' line: %(line)s", line=repr(line[:40]))
            )
        fields[name.strip()] = value.strip()
    legacy = lines[0] == LEGACY_FILE_HEADER
    try:
        head = SignedHead(
            seq=int(fields["seq"]),
            hash=bytes.fromhex(fields["hash"]),
            at=datetime.fromisoformat(fields["at"]),
            key_id=fields["key_id"],
            signature=bytes.fromhex(fields["signature"]),
            algorithm=LEGACY if legacy else fields["algorithm"],
            public_key=None if legacy else bytes.fromhex(fields["public_key"]),
        )
    except KeyError as exc:
        raise CheckpointFileError(_l("missing field %(field)s", field=repr(exc.args[0]))) from None
    except ValueError:
        raise CheckpointFileError(_l("a field is malformed")) from None
    if head.seq < 1 or len(head.hash) != 32 or head.at.tzinfo is None:
        raise CheckpointFileError(_l("a field is out of range"))
    if not legacy and (head.algorithm != ED25519 or len(head.public_key or b"") != 32):
        raise CheckpointFileError(_l("only Ed25519 checkpoints with a 32-byte public key are read"))
    return head


def checkpoint_now(actor: object, *, exported: bool = False) -> AuditCheckpoint:
    """Record the request, then sign the head that includes it (on demand, or for an export)."""
    from casework.audit.service import record
    from casework.audit.tags import Tag

    event = record(
        actor,  # type: ignore[arg-type]
        Tag.AUDIT_CHECKPOINT_CREATE,
        object_type="audit_checkpoint",
        immediate=True,
        exported=exported,
    )
    assert event is not None  # noqa: S101  # nosec B101  # immediate: appended, returned
    existing = db.session.get(AuditCheckpoint, event.seq)  # record() may have made it already
    return existing if existing is not None else make_checkpoint(event)
