"""Master-key rotation: a new primary key, then every user of the old keys moved to it.

The job is resumable and safe to run while the app serves:
- the keyring file is replaced atomically (temporary file, fsync, rename); running processes reload
  it when it changes (before each request, before wrapping a new key, and on an unknown key id);
- one rotation at a time: a second one is refused while the first holds a lock beside the keyring
  (released by the system when its holder dies, however it dies);
- data keys are rewrapped in batches, one transaction each, with a compare-and-swap update (a key
  shredded or rewrapped meanwhile is left alone, a shredded key is never brought back);
- second-factor seeds are resealed and blind indexes recomputed the same way;
- a key is retired (removed from the keyring) only when nothing uses it any more, and only after a
  grace period, so that a request that wrapped a key just before the switch has committed.
Killed at any point, the job is rerun: it finds the old key still in use and carries on (and
removes the temporary keyring file a kill during a replacement left behind).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, inspect, select, text, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table

from casework.crypto import blindindex, datakeys, fields, secretbox, signing
from casework.crypto.errors import KeyShredded
from casework.crypto.keyring import Keyring, KeyringError, MasterKey, RetiredSigner, load_keyring
from casework.crypto.keyring_file import (
    RotationError,
    add_primary_key,
    install,
    keyring_path,
    remove_leftovers,
    rotation_lock,
)
from casework.crypto.models import DataKey
from casework.db import utcnow
from casework.extensions import db

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclass
class Usage:
    data_keys: int = 0
    seeds: int = 0
    indexed_rows: int = 0
    checkpoints: int = 0

    @property
    def movable(self) -> int:
        return self.data_keys + self.seeds + self.indexed_rows

    @property
    def total(self) -> int:
        return self.movable + self.checkpoints


@dataclass
class Report:
    primary: str
    started: bool = False
    rewrapped: int = 0
    resealed: int = 0
    reindexed: int = 0
    finished: bool = False
    retired: list[str] = field(default_factory=list)
    kept: dict[str, Usage] = field(default_factory=dict)


# --- Who uses which key -------------------------------------------------------------------------


def _tables() -> set[str]:
    return set(inspect(db.session.connection()).get_table_names())


def _seed_rows() -> list[Any]:
    if "user_account" not in _tables():
        return []
    return list(
        db.session.execute(
            text(
                "SELECT id, totp_secret_sealed FROM user_account WHERE totp_secret_sealed IS NOT NULL"
            )
        )
    )


# Other values sealed with crypto.secretbox: table, sealed column, purpose (binding: the row id).
SEALED_ROWS = (("data_breach", "description_sealed", "breach"),)


def _sealed_rows() -> list[tuple[Any, str, Any, bytes]]:
    """(table, purpose, row id, sealed bytes) of every value listed in SEALED_ROWS."""
    tables = _tables()
    out = []
    for name, column_name, purpose in SEALED_ROWS:
        if name not in tables:
            continue
        t = sql_table(name, sql_column("id"), sql_column(column_name))
        rows = db.session.execute(select(t.c.id, t.c[column_name]))
        out += [(t, purpose, row_id, bytes(blob)) for row_id, blob in rows]
    return out


def _indexed_models(app: Flask) -> list[fields.ModelFields]:
    metadata = app.extensions.get("casework.crypto.metadata", [])
    return [spec for spec in fields.encrypted_models(metadata) if spec.indexed]


def usage(app: Flask) -> dict[str, Usage]:
    """For every master key id in use: how many data keys, seeds, indexed rows, checkpoints."""
    out: dict[str, Usage] = {}
    for key_id, count in db.session.execute(
        select(DataKey.master_key_id, func.count())
        .where(DataKey.master_key_id.is_not(None))
        .group_by(DataKey.master_key_id)
    ):
        out.setdefault(key_id, Usage()).data_keys = count
    for row in _seed_rows():
        out.setdefault(secretbox.key_id_of(bytes(row[1])), Usage()).seeds += 1
    for *_where, blob in _sealed_rows():
        out.setdefault(secretbox.key_id_of(blob), Usage()).seeds += 1
    for spec in _indexed_models(app):
        column = getattr(spec.model, fields.BIDX_KEY_ATTR)
        for key_id, count in db.session.execute(
            select(column, func.count()).where(column.is_not(None)).group_by(column)
        ):
            out.setdefault(key_id, Usage()).indexed_rows += count
    if "audit_checkpoint" in _tables():
        # Only the HMAC checkpoints made before Ed25519 need their master key to be verified.
        for key_id, count in db.session.execute(
            text(
                "SELECT key_id, count(*) FROM audit_checkpoint "
                "WHERE algorithm = 'hmac-sha256' GROUP BY key_id"
            )
        ):
            out.setdefault(key_id, Usage()).checkpoints = count
    return out


# --- The batches --------------------------------------------------------------------------------


def rewrap_batch(keyring: Keyring, batch_size: int) -> int:
    """Rewrap up to batch_size data keys held by old master keys; the caller commits.

    Plain driver SQL: ids travel back exactly as the driver returned them, and a million keys
    rewrap in about a minute instead of spending most of it converting parameters."""
    old_ids = [k for k in keyring.keys if k != keyring.primary_id]
    if not old_ids:
        return 0
    conn = db.session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    # No ORDER BY: rewrapped rows leave the set, and sorting would cost a scan per batch.
    # The statements are built from placeholders and an int only; every value is a parameter.
    marks = ", ".join([mark] * len(old_ids))
    rows = conn.exec_driver_sql(
        "SELECT id, master_key_id, wrapped_key FROM data_key "  # noqa: S608 (placeholders only)  # nosec B608
        f"WHERE master_key_id IN ({marks}) LIMIT {int(batch_size)}",
        tuple(old_ids),
    ).all()
    if not rows:
        return 0
    keks = {key_id: datakeys.kek(keyring.get(key_id)) for key_id in {r[1] for r in rows}}
    primary_kek, primary_id = datakeys.kek(keyring.primary), keyring.primary_id
    unwrap, wrap = datakeys.unwrap, datakeys.wrap
    column_type = DataKey.__table__.c.rewrapped_at.type
    to_db = column_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    now = to_db(utcnow()) if to_db else utcnow()
    params = [
        (
            primary_id,
            wrap(primary_kek, unwrap(keks[key_id], bytes(wrapped))),
            now,
            ident,
            key_id,
            wrapped,
        )
        for ident, key_id, wrapped in rows
    ]
    # Compare-and-swap: a key shredded or rewrapped meanwhile is left as it is.
    conn.exec_driver_sql(
        f"UPDATE data_key SET master_key_id = {mark}, wrapped_key = {mark}, rewrapped_at = {mark} "  # noqa: S608 (placeholders only)  # nosec B608
        f"WHERE id = {mark} AND master_key_id = {mark} AND wrapped_key = {mark}",
        params,
    )
    return len(rows)


def reseal_seeds(keyring: Keyring) -> int:
    """Reseal second-factor seeds and the other sealed values (SEALED_ROWS) made under old master
    keys (small tables: one pass)."""
    from casework.accounts.service import TOTP_PURPOSE

    count = 0
    for user_id, blob in _seed_rows():
        blob = bytes(blob)
        if secretbox.key_id_of(blob) == keyring.primary_id:
            continue
        binding = f"user:{user_id}"
        seed = secretbox.unseal(keyring, TOTP_PURPOSE, binding, blob)
        fresh = secretbox.seal(keyring, TOTP_PURPOSE, binding, seed)
        # Core update with compare-and-swap: no version bump, no lost re-enrolment.
        result = db.session.execute(
            text(
                "UPDATE user_account SET totp_secret_sealed = :new "
                "WHERE id = :id AND totp_secret_sealed = :old"
            ),
            {"new": fresh, "id": user_id, "old": blob},
        )
        count += result.rowcount  # type: ignore[attr-defined]
    for t, purpose, row_id, blob in _sealed_rows():
        if secretbox.key_id_of(blob) == keyring.primary_id:
            continue
        binding = str(uuid.UUID(str(row_id)))
        plain = secretbox.unseal(keyring, purpose, binding, blob)
        sealed = t.c[t.c.keys()[1]]
        result = db.session.execute(
            update(t)
            .where(t.c.id == row_id, sealed == blob)
            .values({sealed: secretbox.seal(keyring, purpose, binding, plain)})
        )
        count += result.rowcount  # type: ignore[attr-defined]
    return count


def reindex_batch(app: Flask, keyring: Keyring, batch_size: int) -> int:
    """Recompute the blind indexes of up to batch_size rows indexed under old master keys."""
    old_ids = [k for k in keyring.keys if k != keyring.primary_id]
    if not old_ids:
        return 0
    session = db.session()
    for spec in _indexed_models(app):
        rows = _reindex_rows(session, spec, old_ids, batch_size)
        if rows:
            _reindex(session, spec, keyring.primary, rows)
            return len(rows)
    return 0


def _reindex_rows(
    session: Any, spec: fields.ModelFields, old_ids: list[str], limit: int
) -> list[Any]:
    model = spec.model
    key_col = getattr(model, fields.BIDX_KEY_ATTR)
    owners = sorted({f.owner_attr for f in spec.indexed} - {"id"})
    columns = [model.id, key_col, *(getattr(model, a) for a in owners)]  # type: ignore[attr-defined]
    columns += [getattr(model, f.ct_attr) for f in spec.indexed]
    query = select(*columns).where(key_col.in_(old_ids)).order_by(model.id).limit(limit)  # type: ignore[attr-defined]
    return list(session.execute(query))


def _reindex(session: Any, spec: fields.ModelFields, primary: MasterKey, rows: list[Any]) -> None:
    for f in spec.indexed:
        datakeys.preload(session, f.key_owner, (getattr(r, f.owner_attr) for r in rows))
    params = []
    for row in rows:
        entry: dict[str, Any] = {"b_id": row.id, "b_old_key": getattr(row, fields.BIDX_KEY_ATTR)}
        any_index = False
        for f in spec.indexed:
            blob = getattr(row, f.ct_attr)
            entry[f"b_ct_{f.name}"] = blob
            wanted = None
            if blob is not None and f.index is not None:
                try:
                    plain = f.decrypt_raw(session, row.id, getattr(row, f.owner_attr), blob)
                    wanted = f.index.normaliser(str(plain))
                except KeyShredded:
                    wanted = None
            index = None
            if wanted is not None and f.index is not None:
                index = blindindex.value_for(
                    session, primary, f.table_name, f.column_name, wanted, f.index.bits
                )
            entry[f"b_idx_{f.name}"] = index
            any_index = any_index or index is not None
        entry["b_new_key"] = primary.id if any_index else None
        params.append(entry)
    table = spec.model.__table__  # type: ignore[attr-defined]
    conditions = [table.c.id == bindparam("b_id"), table.c.bidx_key_id == bindparam("b_old_key")]
    # Compare-and-swap on every ciphertext: a row edited meanwhile was indexed by its editor.
    conditions += [
        table.c[f.column_name].is_not_distinct_from(bindparam(f"b_ct_{f.name}"))
        for f in spec.indexed
    ]
    values: dict[str, Any] = {
        f"{f.column_name}_bidx": bindparam(f"b_idx_{f.name}") for f in spec.indexed
    }
    values["bidx_key_id"] = bindparam("b_new_key")
    session.execute(update(table).where(*conditions).values(values), params)


# --- The job ------------------------------------------------------------------------------------


def pending_work(app: Flask, keyring: Keyring) -> int:
    """Data keys, seeds and indexed rows still under a non-primary key."""
    return sum(u.movable for k, u in usage(app).items() if k != keyring.primary_id)


def run(
    app: Flask,
    *,
    actor: object = None,
    batch_size: int = 1000,
    max_batches: int | None = None,
    grace_seconds: float = 60.0,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Report:
    """Rotate, or resume a rotation left unfinished: see the module docstring.

    Commits after every batch. max_batches stops early, as a kill would, but politely. Refused
    (RotationError) while another rotation runs."""
    path = keyring_path(app)
    with rotation_lock(path):
        remove_leftovers(path)
        _start_from_file(app, path)
        return _run(
            app,
            path,
            actor=actor,
            batch_size=batch_size,
            max_batches=max_batches,
            grace_seconds=grace_seconds,
            progress=progress,
            on_start=on_start,
        )


def _start_from_file(app: Flask, path: Path) -> None:
    """Rotate from the keyring file as it is now, not as this process read it at start: another
    rotation (perhaps killed) may have added a key since, which must not be dropped."""
    try:
        keyring = load_keyring(None, path)
    except KeyringError as exc:
        raise RotationError(_l("the keyring file cannot be read: %(reason)s", reason=exc)) from None
    app.config["MASTER_KEYRING"] = keyring
    datakeys.init_keyring_file(app)


def _run(
    app: Flask,
    path: Path,
    *,
    actor: object,
    batch_size: int,
    max_batches: int | None,
    grace_seconds: float,
    progress: Progress | None,
    on_start: Callable[[int], None] | None,
) -> Report:
    from casework.audit import service as audit
    from casework.audit.tags import Tag

    keyring: Keyring = app.config["MASTER_KEYRING"]
    pending = pending_work(app, keyring)
    report = Report(primary=keyring.primary_id)
    if pending == 0:
        key = add_primary_key(app)
        keyring = app.config["MASTER_KEYRING"]
        report.primary, report.started = key.id, True
        audit.record(actor, Tag.KEYS_ROTATE, object_type="master_key", object_id=key.id)
        db.session.commit()
        pending = pending_work(app, keyring)
    if on_start:
        on_start(pending)
    tick = progress or (lambda _n: None)
    batches = 0

    def drain() -> bool:
        nonlocal batches
        steps = (
            ("rewrapped", lambda: rewrap_batch(keyring, batch_size)),
            ("reindexed", lambda: reindex_batch(app, keyring, batch_size)),
        )
        for counter, step in steps:
            while True:
                if max_batches is not None and batches >= max_batches:
                    return False
                done = step()
                db.session.commit()
                if not done:
                    break
                batches += 1
                setattr(report, counter, getattr(report, counter) + done)
                tick(done)
        report.resealed += reseal_seeds(keyring)
        db.session.commit()
        return True

    if not drain():
        return report
    # Requests that wrapped a key under the old primary just before the switch must commit before
    # the last sweep: wait out the grace period, counted from the keyring file's change.
    age = time.time() - path.stat().st_mtime
    if age < grace_seconds:
        time.sleep(grace_seconds - age)
    if not drain():
        return report
    report.finished = True
    report.retired, report.kept = retire_unused(app, actor, usage(app))
    db.session.commit()
    return report


def retire_unused(
    app: Flask, actor: object, in_use: dict[str, Usage]
) -> tuple[list[str], dict[str, Usage]]:
    """Remove from the keyring every non-primary key that nothing uses any more."""
    from casework.audit import service as audit
    from casework.audit.tags import Tag

    keyring: Keyring = app.config["MASTER_KEYRING"]
    retired, kept = [], {}
    for key_id in list(keyring.keys):
        if key_id == keyring.primary_id:
            continue
        used = in_use.get(key_id, Usage())
        if used.total:
            kept[key_id] = used
        else:
            retired.append(key_id)
    if retired:
        remaining = {k: v for k, v in keyring.keys.items() if k not in retired}
        signers = {**keyring.retired_signers, **_signers_to_keep(keyring, retired)}
        install(app, keyring_path(app), Keyring(keyring.primary_id, remaining, signers))
        for key_id in retired:
            audit.record(actor, Tag.KEYS_RETIRE, object_type="master_key", object_id=key_id)
            log.info("master key %s retired", key_id)
    return retired, kept


def _signers_to_keep(keyring: Keyring, retired: list[str]) -> dict[str, RetiredSigner]:
    """The public checkpoint keys of the master keys being retired that signed any checkpoint, each
    trusted up to the last sequence number it signed: old checkpoints stay verifiable, and a leaked
    retired key cannot vouch for anything newer."""
    if "audit_checkpoint" not in _tables():
        return {}
    kept = {}
    for key_id in retired:
        signer = signing.signer_for(keyring.keys[key_id])
        upto = db.session.execute(
            text("SELECT max(seq) FROM audit_checkpoint WHERE key_id = :k"), {"k": signer.key_id}
        ).scalar()
        if upto is not None:
            kept[signer.key_id] = RetiredSigner(signer.key_id, signer.public, int(upto))
    return kept
