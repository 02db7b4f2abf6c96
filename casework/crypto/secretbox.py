"""Sealing small system secrets (second-factor seeds) under the master keyring.

Case and person fields use per-record data keys (crypto.fields); a staff member's TOTP seed is a
system secret, sealed with a key derived from a master key for one purpose and bound to its row.
Format: version byte, key-id length, key id, 96-bit nonce, AES-256-GCM ciphertext and tag.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.crypto.errors import MalformedCiphertext
from casework.crypto.keyring import Keyring

__all__ = ["MalformedCiphertext", "key_id_of", "seal", "unseal"]

VERSION = 1


def _derive(material: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"casework/secretbox/" + purpose.encode(),
    ).derive(material)


def _aad(purpose: str, binding: str) -> bytes:
    p, b = purpose.encode(), binding.encode()
    return len(p).to_bytes(2, "big") + p + len(b).to_bytes(2, "big") + b


def seal(keyring: Keyring, purpose: str, binding: str, plaintext: bytes) -> bytes:
    """Encrypt under the primary master key, bound to purpose and binding (e.g. a row id)."""
    key = keyring.primary
    kid = key.id.encode()
    nonce = os.urandom(12)
    body = AESGCM(_derive(key.material, purpose)).encrypt(nonce, plaintext, _aad(purpose, binding))
    return bytes([VERSION, len(kid)]) + kid + nonce + body


def key_id_of(blob: bytes) -> str:
    """The id of the master key a sealed value was made with (rotation reseals the others)."""
    if len(blob) < 2 or blob[0] != VERSION or len(blob) < 2 + blob[1]:
        raise MalformedCiphertext("unknown sealed-value format")
    return blob[2 : 2 + blob[1]].decode("ascii", errors="replace")


def unseal(keyring: Keyring, purpose: str, binding: str, blob: bytes) -> bytes:
    """Decrypt a sealed value; the key is chosen by the id stored with it."""
    if len(blob) < 2 or blob[0] != VERSION:
        raise MalformedCiphertext("unknown sealed-value format")
    kid_len = blob[1]
    if len(blob) < 2 + kid_len + 12 + 16:
        raise MalformedCiphertext("sealed value is truncated")
    kid = blob[2 : 2 + kid_len].decode("ascii", errors="replace")
    nonce = blob[2 + kid_len : 14 + kid_len]
    body = blob[14 + kid_len :]
    key = keyring.get(kid)
    try:
        return AESGCM(_derive(key.material, purpose)).decrypt(nonce, body, _aad(purpose, binding))
    except InvalidTag:
        raise MalformedCiphertext("sealed value failed authentication") from None
