"""The field ciphertext format: AES-256-GCM under a data key, bound to where the value lives.

    offset  size  content
    0       1     format version (1)
    1       1     algorithm (1 = AES-256-GCM)
    2       4     data-key version, unsigned big-endian
    6       12    nonce, random for every encryption
    18      n+16  ciphertext and GCM tag

The associated data is a length-prefixed packing of (format version and algorithm, purpose, table,
column, row id, data-key version), so a value copied to another row, column, purpose or key version
no longer authenticates. Not Fernet: Fernet has no associated data, uses AES-128 and leaks the time.
"""

from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from casework.crypto.errors import MalformedCiphertext

FORMAT_VERSION = 1
ALG_AES256GCM = 1
NONCE_BYTES = 12
TAG_BYTES = 16
_HEADER = struct.Struct(">BBI")
HEADER_BYTES = _HEADER.size + NONCE_BYTES
OVERHEAD = HEADER_BYTES + TAG_BYTES


def pack(*parts: bytes | str) -> bytes:
    """Length-prefixed packing (count, then each part's length and bytes): no two inputs collide."""
    out = [struct.pack(">I", len(parts))]
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        out.append(struct.pack(">I", len(raw)))
        out.append(raw)
    return b"".join(out)


@dataclass(frozen=True)
class Binding:
    """Where a value lives: what its associated data binds it to."""

    purpose: str
    table: str
    column: str
    row_id: str

    def aad(self, key_version: int) -> bytes:
        # Same bytes as pack(format, purpose, table, column, row id, key version); the first
        # four parts are packed once per column.
        row, version = self.row_id.encode("utf-8"), str(key_version).encode("ascii")
        return b"".join(
            (
                _aad_prefix(self.purpose, self.table, self.column),
                struct.pack(">I", len(row)),
                row,
                struct.pack(">I", len(version)),
                version,
            )
        )


@functools.lru_cache(maxsize=1024)
def _aad_prefix(purpose: str, table: str, column: str) -> bytes:
    """pack()'s count (six parts) and its first four parts."""
    parts = [
        bytes([FORMAT_VERSION, ALG_AES256GCM]),
        purpose.encode(),
        table.encode(),
        column.encode(),
    ]
    return struct.pack(">I", 6) + b"".join(struct.pack(">I", len(p)) + p for p in parts)


def key_version_of(blob: bytes) -> int:
    """The data-key version a value was encrypted under (read before choosing the key)."""
    if len(blob) < OVERHEAD:
        raise MalformedCiphertext("ciphertext is truncated")
    version, algorithm, key_version = _HEADER.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise MalformedCiphertext("unknown ciphertext format version")
    if algorithm != ALG_AES256GCM:
        raise MalformedCiphertext("unknown ciphertext algorithm")
    return int(key_version)


def encrypt(aead: AESGCM, key_version: int, binding: Binding, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    header = _HEADER.pack(FORMAT_VERSION, ALG_AES256GCM, key_version) + nonce
    return header + aead.encrypt(nonce, plaintext, binding.aad(key_version))


def decrypt(aead: AESGCM, binding: Binding, blob: bytes) -> bytes:
    """Decrypt a value; the caller chose `aead` by the key version in the header."""
    key_version = key_version_of(blob)
    nonce = blob[_HEADER.size : HEADER_BYTES]
    try:
        return aead.decrypt(nonce, blob[HEADER_BYTES:], binding.aad(key_version))
    except InvalidTag:
        raise MalformedCiphertext("ciphertext failed authentication") from None
