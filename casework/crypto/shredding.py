"""Crypto-shredding: destroy a person's or a case's data key, and with it every value it protects.

The row of the key stays as a tombstone (owner, version, shredded_at; no key bytes), so reading an
erased value raises KeyShredded instead of looking like missing data. The blind indexes of the
owner's rows are cleared too. De-identified columns (dates, outcomes, unit) stay for statistics.

The bytes must also leave the storage: on SQLite the update runs with `PRAGMA secure_delete=ON`
(freed cells are zeroed) and, once the transaction has committed, the WAL is checkpointed with
TRUNCATE so that no older page image holding the key survives in it. On PostgreSQL the table is
vacuumed after the commit (see docs/crypto.md for what that does and does not guarantee).

Every shred is first appended to a ledger outside the database (instance/shred-ledger.jsonl), and
fsynced, before the transaction can commit: restoring an older backup and replaying the ledger
shreds again whatever the backup brought back.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from casework.crypto import datakeys, fields
from casework.crypto.models import OWNER_KINDS, DataKey
from casework.db import utcnow
from casework.extensions import db

log = logging.getLogger(__name__)

_SCRUB = "casework.crypto.scrub"


@dataclass(frozen=True)
class LedgerEntry:
    owner_kind: str
    owner_id: uuid.UUID
    at: str


def ledger_path() -> Path:
    configured = current_app.config.get("SHRED_LEDGER_FILE")
    return (
        Path(configured) if configured else Path(current_app.instance_path) / "shred-ledger.jsonl"
    )


def append_to_ledger(owner_kind: str, owner_id: uuid.UUID, at: str) -> None:
    """Append one line and fsync it: ids and a time, nothing about the person."""
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"owner_kind": owner_kind, "owner_id": str(owner_id), "at": at}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_ledger(path: Path | None = None) -> Iterator[LedgerEntry]:
    path = path or ledger_path()
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                kind = data["owner_kind"]
                if kind not in OWNER_KINDS:
                    raise ValueError(kind)
                yield LedgerEntry(kind, uuid.UUID(data["owner_id"]), str(data["at"]))
            except (ValueError, KeyError, TypeError):
                raise ValueError(
                    _l("shred ledger line %(line)d is malformed", line=number)
                ) from None


def _clear_indexes(session: Session, owner_kind: str, owner_id: uuid.UUID) -> None:
    """Blind indexes of the owner's rows go too: an index of an erased value is still a trace."""
    metadata = current_app.extensions.get("casework.crypto.metadata", [])
    for spec in fields.encrypted_models(metadata):
        by_owner: dict[str, list[fields.EncryptedField[object]]] = {}
        for f in spec.indexed:
            if f.key_owner == owner_kind:
                by_owner.setdefault(f.owner_attr, []).append(f)
        for owner_attr, indexed in by_owner.items():
            values: dict[str, object] = {f.index_attr: None for f in indexed}
            session.execute(
                update(spec.model)
                .where(getattr(spec.model, owner_attr) == owner_id)
                .values(values)
                .execution_options(synchronize_session=False)
            )


def shred(actor: object, owner_kind: str, owner_id: uuid.UUID, *, ledger: bool = True) -> int:
    """Destroy every data key of a person or a case; returns how many keys were destroyed.

    Records `crypto:data_key:shred`. The caller commits; the storage is scrubbed after the commit.
    """
    from casework.audit import service as audit
    from casework.audit.tags import Tag

    if owner_kind not in OWNER_KINDS:
        raise ValueError(f"unknown owner kind {owner_kind!r}")
    session = db.session()
    at = utcnow()
    if ledger:
        # Written ahead of the commit: an entry means "must be shredded", even if this
        # transaction fails and is retried.
        append_to_ledger(owner_kind, owner_id, at.isoformat(timespec="seconds"))
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        session.execute(text("PRAGMA secure_delete=ON"))
    rows = session.execute(
        select(DataKey.id, DataKey.wrapped_key).where(
            DataKey.owner_kind == owner_kind,
            DataKey.owner_id == owner_id,
            DataKey.shredded_at.is_(None),
        )
    ).all()
    for row in rows:
        # Overwrite in place first, then drop the value: no version of the row keeps the key.
        session.execute(
            update(DataKey)
            .where(DataKey.id == row.id)
            .values(wrapped_key=bytes(len(row.wrapped_key or b"")))
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(DataKey)
            .where(DataKey.id == row.id)
            .values(wrapped_key=None, master_key_id=None, shredded_at=at)
            .execution_options(synchronize_session=False)
        )
    _clear_indexes(session, owner_kind, owner_id)
    if sqlite:
        session.execute(text("PRAGMA secure_delete=FAST"))
    datakeys.unit_of_work(session).forget_owner(owner_kind, owner_id)
    session.info.pop(datakeys._UOW, None)  # instances decrypt afresh (and now fail)
    session.info[_SCRUB] = True
    audit.record(
        actor,
        Tag.DATA_KEY_SHRED,
        object_type=owner_kind,
        object_id=owner_id,
        keys=len(rows),
        replay=not ledger,
    )
    session.flush()
    log.info("data keys of %s %s shredded (%d)", owner_kind, owner_id, len(rows))
    return len(rows)


def replay_ledger(actor: object = None) -> int:
    """After restoring a backup: shred again every owner the ledger lists; returns how many."""
    entries = {(e.owner_kind, e.owner_id) for e in read_ledger()}
    live = datakeys.owners_with_live_keys(db.session(), entries)
    for owner_kind, owner_id in sorted(live, key=str):
        shred(actor, owner_kind, owner_id, ledger=False)
    return len(live)


def scrub_storage(engine: Engine) -> bool:
    """After a committed shred: push the zeroed pages out of the WAL (SQLite) or vacuum (PG).

    Returns False when SQLite could not truncate the WAL (a reader held it); the next shred or
    `casework keys scrub` tries again.
    """
    if engine.dialect.name == "sqlite":
        # The raw connection: a checkpoint cannot run inside the BEGIN IMMEDIATE that SQLAlchemy
        # would open (configure_sqlite leaves pysqlite in autocommit).
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            busy, _log, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cursor.close()
        finally:
            raw.close()
        if busy:
            log.warning("WAL checkpoint after a shred was blocked by a reader; retry later")
        return not busy
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM data_key")
    return True


def after_commit(session: Session) -> None:
    """after_commit hook: scrub once the shred is durable, whoever committed it."""
    if session.info.pop(_SCRUB, False):
        scrub_storage(session.get_bind())  # type: ignore[arg-type]
