"""Encrypted attachments in the instance folder, streamed in chunks, never whole in memory.

    header   "CWF" 0x01(version) 0x01(AES-256-GCM) key_version(4) chunk_size(4)      = 13 bytes
    chunks   nonce(12) ‖ AES-256-GCM(chunk)(len+16), every chunk full-size but the last

Each file has its own key, derived with HKDF from its owner's data key and the file id. A chunk's
associated data packs the header, the owner, the file id, the chunk's index and a final flag: a
reordered, dropped or swapped chunk fails, and so does a file cut at a chunk boundary (its new last
chunk was not sealed as final). Paths hold only ids: <root>/<owner kind>/<owner id>/<file id>.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from casework.crypto import datakeys
from casework.crypto.cipher import ALG_AES256GCM, NONCE_BYTES, TAG_BYTES, pack
from casework.crypto.errors import MalformedCiphertext
from casework.crypto.models import OWNER_KINDS

MAGIC = b"CWF"
VERSION = 1
CHUNK_SIZE = 64 * 1024
_HEADER = struct.Struct(">3sBBII")


@dataclass(frozen=True)
class StoredFile:
    id: uuid.UUID
    owner_kind: str
    owner_id: uuid.UUID
    size: int  # plaintext bytes


def root() -> Path:
    configured = current_app.config.get("ATTACHMENT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "attachments"


def path_of(owner_kind: str, owner_id: uuid.UUID, file_id: uuid.UUID) -> Path:
    if owner_kind not in OWNER_KINDS:
        raise ValueError(f"unknown owner kind {owner_kind!r}")
    return root() / owner_kind / str(uuid.UUID(str(owner_id))) / str(uuid.UUID(str(file_id)))


def _file_key(data_key: bytes, file_id: uuid.UUID) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=pack("casework/file/v1", file_id.bytes),
    ).derive(data_key)
    return AESGCM(derived)


def _aad(
    header: bytes, owner_kind: str, owner_id: uuid.UUID, file_id: uuid.UUID, index: int, final: bool
) -> bytes:
    return pack(header, owner_kind, owner_id.bytes, file_id.bytes, struct.pack(">QB", index, final))


def _read_full(source: BinaryIO, size: int) -> bytes:
    parts, remaining = [], size
    while remaining:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def store(
    session: Session,
    owner_kind: str,
    owner_id: uuid.UUID,
    source: BinaryIO,
    *,
    file_id: uuid.UUID | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> StoredFile:
    """Encrypt a stream into the attachment store under its owner's data key (created if none).

    Written to a temporary file beside the target and renamed: a crash leaves no half file.
    """
    file_id = file_id or uuid.uuid4()
    key_version, _aead = datakeys.for_write(session, owner_kind, owner_id)
    aead = _file_key(datakeys.raw_key(session, owner_kind, owner_id, key_version), file_id)
    header = _HEADER.pack(MAGIC, VERSION, ALG_AES256GCM, key_version, chunk_size)
    target = path_of(owner_kind, owner_id, file_id)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(header)
            index = 0
            chunk = _read_full(source, chunk_size)
            while True:
                following = _read_full(source, chunk_size) if len(chunk) == chunk_size else b""
                final = not following
                nonce = os.urandom(NONCE_BYTES)
                aad = _aad(header, owner_kind, owner_id, file_id, index, final)
                out.write(nonce + aead.encrypt(nonce, chunk, aad))
                size += len(chunk)
                if final:
                    break
                chunk, index = following, index + 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return StoredFile(file_id, owner_kind, owner_id, size)


def open_stream(
    session: Session, owner_kind: str, owner_id: uuid.UUID, file_id: uuid.UUID
) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk, each authenticated before it is yielded.

    A file cut short or altered raises MalformedCiphertext when the damage is reached; a caller
    streaming to a browser must then abort the response rather than end it normally.
    """
    path = path_of(owner_kind, owner_id, file_id)
    with path.open("rb") as fh:
        header = fh.read(_HEADER.size)
        if len(header) != _HEADER.size:
            raise MalformedCiphertext("attachment is truncated")
        magic, version, algorithm, key_version, chunk_size = _HEADER.unpack(header)
        if magic != MAGIC or version != VERSION or algorithm != ALG_AES256GCM:
            raise MalformedCiphertext("unknown attachment format")
        if not 0 < chunk_size <= 16 * 1024 * 1024:
            raise MalformedCiphertext("attachment header is corrupt")
        datakeys.for_read(session, owner_kind, owner_id, key_version)  # KeyShredded if erased
        aead = _file_key(datakeys.raw_key(session, owner_kind, owner_id, key_version), file_id)
        record = NONCE_BYTES + chunk_size + TAG_BYTES
        index = 0
        current = fh.read(record)
        while True:
            if len(current) < NONCE_BYTES + TAG_BYTES:
                raise MalformedCiphertext("attachment is truncated")
            following = fh.read(record) if len(current) == record else b""
            final = not following
            aad = _aad(header, owner_kind, owner_id, file_id, index, final)
            try:
                yield aead.decrypt(current[:NONCE_BYTES], current[NONCE_BYTES:], aad)
            except InvalidTag:
                raise MalformedCiphertext("attachment failed authentication") from None
            if final:
                if fh.read(1):
                    raise MalformedCiphertext("attachment has data after its final chunk")
                return
            current, index = following, index + 1


def copy_to(
    session: Session, owner_kind: str, owner_id: uuid.UUID, file_id: uuid.UUID, target: BinaryIO
) -> int:
    """Decrypt into a writable stream; returns the number of bytes written."""
    written = 0
    for chunk in open_stream(session, owner_kind, owner_id, file_id):
        target.write(chunk)
        written += len(chunk)
    return written


def remove_owner_files(owner_kind: str, owner_id: uuid.UUID) -> None:
    """Delete an owner's attachments (after shredding they are unreadable anyway)."""
    folder = root() / owner_kind / str(owner_id)
    if folder.is_dir():
        shutil.rmtree(folder)


# --- Files written in a transaction that does not commit ---------------------------------------

_NEW_FILES = "casework.crypto.new_files"


def remove_unless_committed(session: Session, path: Path) -> None:
    """Delete this newly written file when the session's transaction ends without committing:
    the row naming it is rolled back, and the file would stay on disk with nothing pointing to it."""
    session.connection()  # the transaction whose end decides the file's fate has begun
    session.info.setdefault(_NEW_FILES, []).append(path)


def _committed(session: Session) -> None:
    session.info.pop(_NEW_FILES, None)


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:  # a savepoint: the outer transaction decides
        return
    for path in session.info.pop(_NEW_FILES, []):
        path.unlink(missing_ok=True)


def install(session_class: type[Session]) -> None:
    """Session hooks: after a commit the new files stay; at any other end they are deleted."""
    for name, fn in (("after_commit", _committed), ("after_transaction_end", _ended)):
        if not event.contains(session_class, name, fn):
            event.listen(session_class, name, fn)
