"""Ed25519 signing keys for audit checkpoints, derived from master keys; which public keys to trust.

Each master key yields one signing key: HKDF-SHA256 (info below) gives the 32-byte Ed25519 seed, so
the key needs no storage of its own and is the same in every process. Its id is a fingerprint of its
public key. Verifying needs the public key only, so a checkpoint stays verifiable after the master
key that signed it is retired: rotation keeps the retired signer's public key (and the last sequence
number it signed) in the keyring file, never in the database, whose contents an attacker with write
access to it could replace.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from casework.crypto.keyring import Keyring, MasterKey

HKDF_INFO = b"casework/audit/checkpoint/ed25519/v1"
FINGERPRINT_DOMAIN = b"casework/checkpoint-key-id/v1\x00"
ALGORITHM = "ed25519"


@dataclass(frozen=True)
class Signer:
    key_id: str
    public: bytes
    private: Ed25519PrivateKey = field(repr=False)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def key_id_of(public: bytes) -> str:
    """The id of a signing key: 'ck-' and 64 bits of a domain-separated SHA-256 of its public key.

    Only a label for finding the trusted key: verification always uses the trusted key's own bytes.
    """
    return "ck-" + hashlib.sha256(FINGERPRINT_DOMAIN + public).hexdigest()[:16]


def signer_for(master: MasterKey) -> Signer:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        master.material
    )
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Signer(key_id_of(public), public, private)


@dataclass(frozen=True)
class Trusted:
    public: bytes
    upto_seq: int | None  # None: the key's master is held, it may sign anything


def trusted_keys(keyring: Keyring) -> dict[str, Trusted]:
    """Public keys this instance trusts: the signers of the master keys it holds, and the retired
    signers the keyring file lists (each for sequence numbers up to the last one it signed)."""
    trusted = {s.id: Trusted(s.public, s.upto_seq) for s in keyring.retired_signers.values()}
    for master in keyring.keys.values():
        signer = signer_for(master)
        trusted[signer.key_id] = Trusted(signer.public, None)
    return trusted


def signature_ok(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
