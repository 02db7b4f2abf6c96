"""Keys derived from a master key for code outside this package: a closed list of purposes.

Backups (casework.ops.archive) and the audit checkpoints made before Ed25519
(casework.audit.checkpoints) need a symmetric key of their own. They ask for it here by purpose and
master key id and never see master-key bytes: casework.crypto stays the only code that touches keys.

Each purpose has its own HKDF-SHA256 info string, so no two purposes ever share a key, and none
shares one with the data-key wrapping, blind-index, sealing or signing keys (docs/crypto.md §2). The
info strings are part of the stored formats: changing one makes every backup or checkpoint made
under it unreadable, so a new derivation gets a new purpose, never a new string for an old one.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.crypto.keyring import Keyring

DERIVED_KEY_BYTES = 32
SALT_BYTES = 16


class Purpose(enum.Enum):
    """What a derived key is for; its value is the HKDF info string."""

    # AES-256-GCM key of one backup archive: a fresh random salt per archive (in its header).
    BACKUP_ARCHIVE = b"casework/backup-archive/v1"
    # HMAC-SHA256 key of audit checkpoints signed before Ed25519: verification only, no salt.
    AUDIT_CHECKPOINT_HMAC = b"casework/audit/checkpoint/v1"


# Which purposes take a per-use salt: a backup key is fresh for every archive.
_SALTED = {Purpose.BACKUP_ARCHIVE: True, Purpose.AUDIT_CHECKPOINT_HMAC: False}


def derive_key(
    keyring: Keyring, purpose: Purpose, *, key_id: str | None = None, salt: bytes | None = None
) -> tuple[str, bytes]:
    """The 32-byte key for this purpose under the master key named key_id (the primary when None),
    with that master key's id: the id to store beside what the key protects.

    Raises UnknownKey when the keyring does not hold key_id, ValueError when the purpose is not in
    the list or its salt is missing, of the wrong size or not expected."""
    if not isinstance(purpose, Purpose):
        raise ValueError(f"unknown key purpose {purpose!r}")
    if _SALTED[purpose]:
        if salt is None or len(salt) != SALT_BYTES:
            raise ValueError(f"{purpose.name} needs a {SALT_BYTES}-byte salt")
    elif salt is not None:
        raise ValueError(f"{purpose.name} takes no salt")
    master = keyring.primary if key_id is None else keyring.get(key_id)
    key = HKDF(
        algorithm=hashes.SHA256(), length=DERIVED_KEY_BYTES, salt=salt, info=purpose.value
    ).derive(master.material)
    return master.id, key
