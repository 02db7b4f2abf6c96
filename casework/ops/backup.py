"""`casework backup`: an online, consistent copy of the database and the attachments, sealed.

SQLite is copied with its online backup API (a consistent snapshot while the app keeps serving);
PostgreSQL with `pg_dump --format=custom` (one snapshot). The encrypted attachment files are added
as they are. A manifest names what the archive holds: when it was made, the schema revision, the
audit chain's head (sequence number and hash: a restore must find exactly that event again) and the
SHA-256 of every part. The shred ledger and the keyring are never in a backup: the ledger must
outlive every backup so a restore can erase again, and the keyring must be kept apart (docs/crypto.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_dump and pg_restore, with argument lists, never a shell
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from casework.audit.rows import Reader
from casework.crypto import files
from casework.db import utcnow
from casework.extensions import db
from casework.ops import archive

FORMAT = "casework-backup"
MANIFEST = "manifest.json"
SQLITE_PART = "database.sqlite3"
PG_PART = "database.pgdump"
FILES_PART = "attachments.tar"


class BackupError(Exception):
    """The backup could not be made; nothing was written at the target."""


@dataclass(frozen=True)
class Result:
    path: Path
    manifest: dict[str, Any]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """The database as pg_dump and pg_restore take it; the password goes in the environment, never
    on a command line that other accounts could read."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            _l("%(tool)s is not installed: install the PostgreSQL client tools", tool=name)
        )
    return found


def audit_head(reader: Reader) -> dict[str, Any]:
    seq = reader.head()
    if seq == 0:
        return {"seq": 0, "hash": None}
    [row] = next(reader.batches(seq, seq, 1))
    return {"seq": seq, "hash": bytes(row[-1]).hex()}


def schema_revision(connection: Any) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:":
        raise BackupError(_l("an in-memory SQLite database cannot be backed up"))
    return Path(database)


def _snapshot_sqlite(target: Path) -> tuple[dict[str, Any], str | None]:
    source = sqlite3.connect(sqlite_path())
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # the online backup API: a consistent copy, writers keep going
    finally:
        source.close()
    try:
        # Head and revision read from the copy itself, so they describe exactly what was saved.
        head = audit_head(Reader(copy, qmark=True))
        row = copy.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        revision = (
            copy.execute("SELECT version_num FROM alembic_version").fetchone()[0] if row else None
        )
    finally:
        copy.close()
    return head, revision


def _dump_postgresql(target: Path) -> tuple[dict[str, Any], str | None]:
    # Read before the dump: the dump's snapshot is at least as new, so it holds this event.
    reader = Reader(db.engine.raw_connection(), qmark=False)
    try:
        head = audit_head(reader)
    finally:
        reader.close()
    with db.engine.connect() as conn:
        revision = schema_revision(conn)
    dbname, env = libpq_target(db.engine.url)
    command = [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
    done = subprocess.run(  # noqa: S603  # nosec B603  # fixed tool, list of arguments
        [*command, "--file", str(target), "--dbname", dbname],
        env=env,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(
            _l(
                "pg_dump failed (exit %(code)d): %(message)s",
                code=done.returncode,
                message=_first_line(done.stderr),
            )
        )
    return head, revision


def _first_line(stderr: bytes) -> str | LazyString:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[0][:300] if lines else _l("no message")


def _tar_attachments(target: Path) -> int:
    """Encrypted attachment files as they are (ids as names; their keys are in the database)."""
    root = files.root()
    count = 0
    with tarfile.open(target, "w") as tar:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.name.endswith(".tmp"):
                    tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
                    count += 1
    return count


def make_backup(app: Flask, out: Path) -> Result:
    """Write an encrypted archive of the database and attachments to out (a file or a folder)."""
    if out.is_dir():
        out = out / f"casework-{utcnow().strftime('%Y%m%dT%H%M%SZ')}.cwbackup"
    if out.exists():
        raise BackupError(_l("%(file)s exists: a backup never overwrites a file", file=str(out)))
    dialect = db.engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise BackupError(_l("no backup method for %(dialect)s", dialect=dialect))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # Plain parts stay in a private folder of the instance, removed when the archive is sealed.
    with tempfile.TemporaryDirectory(prefix="backup-", dir=app.instance_path) as work:
        folder = Path(work)
        os.chmod(folder, 0o700)
        part = SQLITE_PART if dialect == "sqlite" else PG_PART
        if dialect == "sqlite":
            head, revision = _snapshot_sqlite(folder / part)
        else:
            head, revision = _dump_postgresql(folder / part)
        attachments = _tar_attachments(folder / FILES_PART)
        keyring = app.config["MASTER_KEYRING"]
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": 1,
            "created_at": utcnow().isoformat(timespec="seconds"),
            "dialect": dialect,
            "schema_revision": revision,
            "audit_head": head,
            "attachments": attachments,
            "master_key_id": keyring.primary_id,
            "parts": {
                name: {"sha256": sha256_of(folder / name), "size": (folder / name).stat().st_size}
                for name in (part, FILES_PART)
            },
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        bundle = folder / "bundle.tar"
        with tarfile.open(bundle, "w") as tar:
            for name in (MANIFEST, part, FILES_PART):
                tar.add(folder / name, arcname=name)
        archive.seal_file(bundle, out, keyring)
    return Result(out, manifest)
