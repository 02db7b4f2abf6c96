"""The encrypted backup archive: a tar of named parts, sealed chunk by chunk with AES-256-GCM.

```
header  "CWBACKUP" ‖ version 1 ‖ len (2) ‖ JSON {master_key_id, salt, chunk_size}      plain
chunk   AES-256-GCM(key, nonce = chunk index (12 bytes), plaintext chunk) ‖ tag          1 MiB
```

The archive key is derived by casework.crypto (derived.Purpose.BACKUP_ARCHIVE: HKDF-SHA256 of a
master key from the keyring, never from the database, with a random salt per archive and its own
info string): one key per purpose, a fresh key per archive, so counter nonces never repeat. Every
chunk's associated data is the whole header, its index and a final flag: a reordered, dropped,
swapped or appended chunk fails, and so does an archive cut at a chunk boundary (its new last chunk
was not sealed as final). Whoever holds the keyring can read a backup; the database's own data keys
stay wrapped inside it, as they were.
"""

from __future__ import annotations

import json
import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask_babel import lazy_gettext as _l

from casework.crypto.derived import SALT_BYTES, Purpose, derive_key
from casework.crypto.keyring import Keyring, KeyringError

MAGIC = b"CWBACKUP"
VERSION = 1
CHUNK = 1024 * 1024
_TAG = 16
_MAX_HEADER = 4096


class ArchiveError(Exception):
    """The file is not a casework backup, was altered or cut, or its key is not in the keyring."""


def _key(keyring: Keyring, key_id: str | None, salt: bytes) -> tuple[str, AESGCM]:
    """The archive's AES-GCM key under master key key_id (the primary when None), and that id."""
    master_id, key = derive_key(keyring, Purpose.BACKUP_ARCHIVE, key_id=key_id, salt=salt)
    return master_id, AESGCM(key)


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if final else 0)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def seal(source: BinaryIO, target: BinaryIO, keyring: Keyring) -> str:
    """Encrypt source into target under the primary master key; returns that key's id."""
    salt = secrets.token_bytes(SALT_BYTES)
    master_id, aead = _key(keyring, None, salt)
    meta = {"master_key_id": master_id, "salt": salt.hex(), "chunk_size": CHUNK}
    body = json.dumps(meta, sort_keys=True).encode("utf-8")
    header = MAGIC + bytes([VERSION]) + struct.pack(">H", len(body)) + body
    target.write(header)
    index = 0
    chunk = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        final = not following
        target.write(aead.encrypt(_nonce(index), chunk, _aad(header, index, final)))
        if final:
            return master_id
        chunk, index = following, index + 1


def read_header(source: BinaryIO) -> tuple[bytes, dict[str, object]]:
    start = source.read(len(MAGIC) + 3)
    if len(start) < len(MAGIC) + 3 or not start.startswith(MAGIC):
        raise ArchiveError(_l("this is not a casework backup archive"))
    if start[len(MAGIC)] != VERSION:
        raise ArchiveError(_l("unknown archive version %(version)d", version=start[len(MAGIC)]))
    (size,) = struct.unpack(">H", start[-2:])
    if size > _MAX_HEADER:
        raise ArchiveError(_l("the archive's header is damaged"))
    body = source.read(size)
    try:
        meta = json.loads(body)
        str(meta["master_key_id"]), int(meta["chunk_size"])
        if len(bytes.fromhex(meta["salt"])) != SALT_BYTES:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ArchiveError(_l("the archive's header is damaged")) from None
    return start + body, meta


def unseal(source: BinaryIO, keyring: Keyring) -> Iterator[bytes]:
    """The plaintext, chunk by chunk; raises ArchiveError on the first chunk that fails."""
    header, meta = read_header(source)
    key_id = str(meta["master_key_id"])
    try:
        _master_id, aead = _key(keyring, key_id, bytes.fromhex(str(meta["salt"])))
    except KeyringError:
        raise ArchiveError(
            _l(
                "the archive was sealed with master key %(key)s, which the keyring does not hold: "
                "install the keyring from the offline key backup made when the archive was",
                key=repr(key_id),
            )
        ) from None
    size = int(meta["chunk_size"]) + _TAG  # type: ignore[call-overload]
    index = 0
    sealed = source.read(size)
    while True:
        following = source.read(size)
        final = not following
        try:
            yield aead.decrypt(_nonce(index), sealed, _aad(header, index, final))
        except InvalidTag:
            raise ArchiveError(
                _l(
                    "chunk %(index)d of the archive fails its check: the file was altered or cut",
                    index=index,
                )
            ) from None
        if final:
            return
        sealed, index = following, index + 1


def seal_file(plain: Path, out: Path, keyring: Keyring) -> str:
    """Seal a file into out atomically (a temporary name, fsync, rename), readable by the owner."""
    partial = out.with_name(out.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as target, plain.open("rb") as source:
            key_id = seal(source, target, keyring)
            target.flush()
            os.fsync(target.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return key_id


def unseal_file(archive: Path, plain: Path, keyring: Keyring) -> None:
    fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as target, archive.open("rb") as source:
        for chunk in unseal(source, keyring):
            target.write(chunk)
