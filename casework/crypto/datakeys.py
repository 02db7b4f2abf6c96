"""Data keys: created, wrapped and unwrapped here, and cached for one unit of work only.

Hierarchy: master key (outside the database) → key-encryption key, derived from it with HKDF for
this one purpose → wraps (AES key wrap, RFC 3394) a random 256-bit data key per person and per case.

Unwrapped keys live in the SQLAlchemy session's `info`, never in a module global: they are dropped
at the end of every transaction (so at the end of every request, and whenever a session closes).
"""

from __future__ import annotations

import itertools
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from flask import Flask, current_app
from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session

from casework.crypto.errors import DataKeyMissing, KeyShredded, UnwrapFailed
from casework.crypto.keyring import Keyring, KeyringError, MasterKey, UnknownKey, load_keyring
from casework.crypto.models import OWNER_KINDS, DataKey

log = logging.getLogger(__name__)

DATA_KEY_BYTES = 32
KEK_INFO = b"casework/data-key-wrap/v1"
_UOW = "casework.crypto.uow"
_STATE = "casework.crypto"
_tokens = itertools.count(1)


# --- The keyring of the running app, reloaded when its file changes ----------------------------


@dataclass
class KeyringFile:
    """Where this process's keyring came from, and the file's identity when it was read."""

    path: Path | None
    stamp: tuple[int, int, int] | None = None


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def init_keyring_file(app: Flask) -> None:
    path = app.config.get("MASTER_KEYRING_FILE")
    source = KeyringFile(Path(path) if path else None)
    if source.path is not None:
        source.stamp = _stamp(source.path)
    app.extensions[_STATE] = source


def keyring_file(app: Flask) -> KeyringFile:
    return app.extensions.get(_STATE) or KeyringFile(None)


def reload_if_changed(app: Flask) -> bool:
    """Pick up a keyring file rewritten by `casework keys rotate` in another process."""
    source = keyring_file(app)
    if source.path is None:
        return False
    stamp = _stamp(source.path)
    if stamp is None or stamp == source.stamp:
        return False
    try:
        app.config["MASTER_KEYRING"] = load_keyring(None, source.path)
    except KeyringError:
        # Keep serving with the keys we have; the file is replaced atomically, so this is an
        # operator's hand edit that the self-check will report at the next start.
        log.warning("master keyring file changed but cannot be read; keeping the loaded keyring")
        return False
    source.stamp = stamp
    log.info("master keyring reloaded (primary %s)", app.config["MASTER_KEYRING"].primary_id)
    return True


def current_keyring(*, fresh: bool = False) -> Keyring:
    if fresh:
        reload_if_changed(current_app)
    return current_app.config["MASTER_KEYRING"]


def master_key(key_id: str) -> MasterKey:
    """The master key with this id; a key added by a rotation elsewhere is picked up once."""
    try:
        return current_keyring().get(key_id)
    except UnknownKey:
        return current_keyring(fresh=True).get(key_id)


# --- Wrapping ---------------------------------------------------------------------------------


def kek(master: MasterKey) -> bytes:
    """The key-encryption key: one key per purpose, even when both come from one master key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEK_INFO).derive(
        master.material
    )


def wrap(kek_bytes: bytes, data_key: bytes) -> bytes:
    return aes_key_wrap(kek_bytes, data_key)


def unwrap(kek_bytes: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(kek_bytes, wrapped)
    except (InvalidUnwrap, ValueError):
        raise UnwrapFailed("a data key did not unwrap under its master key") from None


# --- The unit of work ---------------------------------------------------------------------------


@dataclass(eq=False)
class UnitOfWork:
    """Unwrapped keys for one transaction of one session. Identity doubles as a cache token."""

    keys: dict[tuple[str, uuid.UUID, int], bytes] = field(default_factory=dict, repr=False)
    aeads: dict[tuple[str, uuid.UUID, int], AESGCM] = field(default_factory=dict, repr=False)
    latest: dict[tuple[str, uuid.UUID], int] = field(default_factory=dict)
    keks: dict[str, bytes] = field(default_factory=dict, repr=False)
    derived: dict[tuple[object, ...], bytes] = field(default_factory=dict, repr=False)
    # Owners of rows loaded in this unit of work whose keys are not unwrapped yet: the first read
    # unwraps them together (one query for a page of rows, not one per row).
    wanted: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    # Instances cache decrypted values under this token: a new unit of work decrypts afresh.
    token: int = field(default_factory=lambda: next(_tokens))

    def __repr__(self) -> str:
        return f"<UnitOfWork keys={len(self.keys)}>"

    def kek_for(self, master: MasterKey) -> bytes:
        found = self.keks.get(master.id)
        if found is None:
            found = self.keks[master.id] = kek(master)
        return found

    def remember(self, kind: str, owner_id: uuid.UUID, version: int, key: bytes) -> None:
        self.keys[(kind, owner_id, version)] = key
        if version >= self.latest.get((kind, owner_id), 0):
            self.latest[(kind, owner_id)] = version

    def aead(self, kind: str, owner_id: uuid.UUID, version: int) -> AESGCM:
        ident = (kind, owner_id, version)
        found = self.aeads.get(ident)
        if found is None:
            found = self.aeads[ident] = AESGCM(self.keys[ident])
        return found

    def forget_owner(self, kind: str, owner_id: uuid.UUID) -> None:
        for ident in [k for k in self.keys if k[:2] == (kind, owner_id)]:
            self.keys.pop(ident, None)
            self.aeads.pop(ident, None)
        self.latest.pop((kind, owner_id), None)


def unit_of_work(session: Session) -> UnitOfWork:
    uow = session.info.get(_UOW)
    if uow is None:
        uow = session.info[_UOW] = UnitOfWork()
    return uow


def end_unit_of_work(session: Session, transaction: Any = None) -> None:
    """Drop every unwrapped key of this session: bound to after_transaction_end, it runs when a
    real transaction or a savepoint ends (not the internal one each flush opens)."""
    if transaction is None or transaction.parent is None or transaction.nested:
        session.info.pop(_UOW, None)


# --- Looking keys up --------------------------------------------------------------------------


def _check_kind(kind: str) -> None:
    if kind not in OWNER_KINDS:
        raise ValueError(f"unknown data key owner kind {kind!r}")


def _unwrap_row(uow: UnitOfWork, master_key_id: str, wrapped: bytes) -> bytes:
    kek_bytes = uow.keks.get(master_key_id)
    if kek_bytes is None:
        kek_bytes = uow.kek_for(master_key(master_key_id))
    return unwrap(kek_bytes, wrapped)


def for_read(session: Session, kind: str, owner_id: uuid.UUID, version: int) -> AESGCM:
    """The cipher for a stored value: the key is chosen by owner and version, never by trying."""
    uow = unit_of_work(session)
    ident = (kind, owner_id, version)
    if ident not in uow.keys and uow.wanted:
        _preload_wanted(session, uow, kind, owner_id)
    if ident not in uow.keys:
        with session.no_autoflush:
            row = session.execute(
                select(DataKey.master_key_id, DataKey.wrapped_key, DataKey.shredded_at).where(
                    DataKey.owner_kind == kind,
                    DataKey.owner_id == owner_id,
                    DataKey.key_version == version,
                )
            ).first()
        if row is None:
            raise DataKeyMissing(f"no data key for {kind} {owner_id} version {version}")
        if row.shredded_at is not None or row.wrapped_key is None:
            raise KeyShredded(f"the data key of {kind} {owner_id} was shredded")
        uow.remember(kind, owner_id, version, _unwrap_row(uow, row.master_key_id, row.wrapped_key))
    return uow.aead(kind, owner_id, version)


def for_write(
    session: Session, kind: str, owner_id: uuid.UUID, *, new_owner: bool = False
) -> tuple[int, AESGCM]:
    """The newest data key of an owner, created (wrapped by the primary master key) if none.

    new_owner: the owner row is being inserted now, so it has no key yet (saves a query; were it
    wrong, the unique constraint on owner and version would refuse the second key)."""
    _check_kind(kind)
    uow = unit_of_work(session)
    version = uow.latest.get((kind, owner_id))
    if version is not None:
        return version, uow.aead(kind, owner_id, version)
    if new_owner:
        return 1, uow.aead(kind, owner_id, create(session, kind, owner_id))
    with session.no_autoflush:
        row = session.execute(
            select(
                DataKey.key_version, DataKey.master_key_id, DataKey.wrapped_key, DataKey.shredded_at
            )
            .where(DataKey.owner_kind == kind, DataKey.owner_id == owner_id)
            .order_by(DataKey.key_version.desc())
            .limit(1)
        ).first()
    if row is None:
        return 1, uow.aead(kind, owner_id, create(session, kind, owner_id))
    if row.shredded_at is not None or row.wrapped_key is None:
        raise KeyShredded(f"the data key of {kind} {owner_id} was shredded")
    uow.remember(
        kind, owner_id, row.key_version, _unwrap_row(uow, row.master_key_id, row.wrapped_key)
    )
    return row.key_version, uow.aead(kind, owner_id, row.key_version)


def create(session: Session, kind: str, owner_id: uuid.UUID, version: int = 1) -> int:
    """Make a fresh data key for an owner, wrapped under the current primary master key."""
    _check_kind(kind)
    uow = unit_of_work(session)
    primary = current_keyring(fresh=True).primary
    key = os.urandom(DATA_KEY_BYTES)
    session.add(
        DataKey(
            owner_kind=kind,
            owner_id=owner_id,
            key_version=version,
            master_key_id=primary.id,
            wrapped_key=wrap(uow.kek_for(primary), key),
        )
    )
    uow.remember(kind, owner_id, version, key)
    return version


def raw_key(session: Session, kind: str, owner_id: uuid.UUID, version: int) -> bytes:
    """The unwrapped bytes, for deriving per-purpose subkeys (files). Never log or return them."""
    for_read(session, kind, owner_id, version)
    return unit_of_work(session).keys[(kind, owner_id, version)]


def remember_wrapped(
    session: Session,
    kind: str,
    owner_id: uuid.UUID,
    version: int,
    master_key_id: str,
    wrapped: bytes,
) -> None:
    """Unwrap a key that a caller fetched along with its rows (one query instead of two)."""
    uow = unit_of_work(session)
    if (kind, owner_id, version) not in uow.keys:
        uow.remember(kind, owner_id, version, _unwrap_row(uow, master_key_id, wrapped))


PRELOAD_LIMIT = 500  # owners per query: well under every driver's parameter limit


def _preload_wanted(session: Session, uow: UnitOfWork, kind: str, owner_id: uuid.UUID) -> None:
    """Unwrap, with one query, the keys of every owner loaded so far whose values may be read: a
    case file reads the case's and its people's, so both kinds are fetched together."""
    batch = {(kind, owner_id)}
    for wanted in list(uow.wanted):
        if len(batch) >= PRELOAD_LIMIT:
            break
        batch.add(wanted)
        uow.wanted.discard(wanted)
    uow.wanted.discard((kind, owner_id))
    with session.no_autoflush:
        _preload_pairs(session, uow, batch)


# Built once: a file page asks for its keys on every view, and building the statement cost more
# than running it.
_LIVE_KEYS = select(
    DataKey.owner_kind,
    DataKey.owner_id,
    DataKey.key_version,
    DataKey.master_key_id,
    DataKey.wrapped_key,
).where(
    DataKey.owner_kind.in_(bindparam("kinds", expanding=True)),
    DataKey.owner_id.in_(bindparam("owners", expanding=True)),
    DataKey.wrapped_key.is_not(None),
)


def _preload_pairs(session: Session, uow: UnitOfWork, pairs: set[tuple[str, uuid.UUID]]) -> None:
    wanted = {p for p in pairs if p not in uow.latest}
    if not wanted:
        return
    rows = session.execute(
        _LIVE_KEYS, {"kinds": sorted({k for k, _o in wanted}), "owners": [o for _k, o in wanted]}
    )
    for row in rows:
        if (row.owner_kind, row.owner_id) in wanted:
            key = _unwrap_row(uow, row.master_key_id, row.wrapped_key)
            uow.remember(row.owner_kind, row.owner_id, row.key_version, key)


def note_loaded(uow: UnitOfWork, kind: str, owner_id: uuid.UUID) -> None:
    if (kind, owner_id) not in uow.latest:
        uow.wanted.add((kind, owner_id))


def preload(session: Session, kind: str, owner_ids: Iterable[uuid.UUID]) -> None:
    """Unwrap the live keys of many owners with one query (search candidates, exports)."""
    uow = unit_of_work(session)
    wanted = [o for o in set(owner_ids) if (kind, o) not in uow.latest]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(
                DataKey.owner_id, DataKey.key_version, DataKey.master_key_id, DataKey.wrapped_key
            ).where(
                DataKey.owner_kind == kind,
                DataKey.owner_id.in_(chunk),
                DataKey.wrapped_key.is_not(None),
            )
        )
        for row in rows:
            key = _unwrap_row(uow, row.master_key_id, row.wrapped_key)
            uow.remember(kind, row.owner_id, row.key_version, key)


def owners_with_live_keys(
    session: Session, owners: Iterable[tuple[str, uuid.UUID]]
) -> set[tuple[str, uuid.UUID]]:
    """Which of these owners still have a key that is not shredded."""
    found: set[tuple[str, uuid.UUID]] = set()
    pending = list(owners)
    for start in range(0, len(pending), 500):
        chunk = pending[start : start + 500]
        rows = session.execute(
            select(DataKey.owner_kind, DataKey.owner_id)
            .where(tuple_(DataKey.owner_kind, DataKey.owner_id).in_(chunk))
            .where(DataKey.shredded_at.is_(None))
        )
        found.update((r.owner_kind, r.owner_id) for r in rows)
    return found
