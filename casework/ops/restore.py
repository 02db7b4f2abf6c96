"""`casework restore ARCHIVE`: put a backup back, erase again what the shred ledger lists, and
prove the audit chain, before the app may start.

Order, so that a failure never leaves a server that starts on doubtful data:
1. decrypt the archive and check every part against the manifest (nothing is touched yet);
2. on SQLite, verify the backup's audit chain in the unpacked copy (still nothing touched);
3. write the restore state file: from here on `create_app` refuses to start until the end;
4. replace the database (SQLite backup API into the live file, or pg_restore) and the attachments;
5. verify the chain of the restored database, and that it holds the audit event the manifest names;
6. upgrade the schema if the backup is older than the code;
7. replay the shred ledger: every person and case erased since the backup is erased again;
8. run the encryption self-check, then remove the state file.
A refusal at 5–8 leaves the state file, with the reason, and the app does not start.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_restore with a list of arguments, never a shell
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casework.audit.rows import Reader, app_reader
from casework.audit.verify import Report, stitch, stored_anchors, verify_range
from casework.crypto import files, shredding
from casework.db import utcnow
from casework.extensions import db
from casework.ops import archive, backup

STATE_FILE = "restore-pending.json"
_PARTS = {backup.MANIFEST, backup.SQLITE_PART, backup.PG_PART, backup.FILES_PART}


class RestoreRefused(Exception):
    """The archive cannot be restored, or the restored data failed a check; says why, in the
    language of the moment it is shown."""


@dataclass(frozen=True)
class Summary:
    manifest: dict[str, Any]
    replayed: int
    upgraded: bool


def state_path(app: Flask) -> Path:
    configured = app.config.get("RESTORE_STATE_FILE")
    return Path(configured) if configured else Path(app.instance_path) / STATE_FILE


def unfinished(app: Flask) -> str | None:
    """Why the app must not start (a restore began and did not finish), or None: in the language
    chosen for the moment (the command line's), in English without one (a server's log)."""
    path = state_path(app)
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        locale = get_locale()
        worded = state.get("reasons") or {}
        reason = worded.get(str(locale)) if locale is not None else None
        reason = str(reason or state.get("reason") or _("it was interrupted"))
    except (OSError, ValueError, AttributeError):
        reason = _("its state file is unreadable")
    return _(
        "a restore did not finish (%(reason)s); the data cannot be trusted until "
        "`casework restore ARCHIVE` succeeds with a good archive",
        reason=reason,
    )


def _worded(text: object, language: str) -> str:
    with force_locale(language):
        return str(text)


def _write_state(app: Flask, path: Path, **state: object) -> None:
    """Write the state file; a reason is kept in English (as a log reads it) and in each of the
    app's languages (as the refusal to start shows it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    reason = state.get("reason")
    if reason is not None:
        state["reason"] = _worded(reason, "en")
        state["reasons"] = {lang: _worded(reason, lang) for lang in app.config["LANGUAGES"]}
    state["at"] = utcnow().isoformat(timespec="seconds")
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state), encoding="utf-8")
    os.replace(partial, path)


# --- Unpacking and checking -------------------------------------------------------------------


def unpack(app: Flask, archive_path: Path, folder: Path) -> dict[str, Any]:
    """Decrypt the archive into folder and check the manifest and every part's SHA-256."""
    bundle = folder / "bundle.tar"
    try:
        archive.unseal_file(archive_path, bundle, app.config["MASTER_KEYRING"])
    except archive.ArchiveError as exc:
        raise RestoreRefused(exc) from None  # its message, worded when shown
    except OSError as exc:
        raise RestoreRefused(
            _l("cannot read %(file)s: %(error)s", file=str(archive_path), error=type(exc).__name__)
        ) from None
    with tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            if member.name not in _PARTS or not member.isfile():
                raise RestoreRefused(
                    _l("the archive holds an unexpected entry %(name)s", name=repr(member.name))
                )
            source = tar.extractfile(member)
            if source is None:
                raise RestoreRefused(
                    _l("the archive's entry %(name)s cannot be read", name=repr(member.name))
                )
            with source, (folder / member.name).open("wb") as target:
                shutil.copyfileobj(source, target)
    bundle.unlink()
    try:
        manifest = json.loads((folder / backup.MANIFEST).read_text(encoding="utf-8"))
        parts = dict(manifest["parts"])
        ok = manifest["format"] == backup.FORMAT and manifest["version"] == 1
    except (OSError, ValueError, KeyError, TypeError):
        raise RestoreRefused(_l("the archive's manifest is missing or damaged")) from None
    if not ok:
        raise RestoreRefused(_l("the archive's manifest is of an unknown format"))
    for name, expected in parts.items():
        path = folder / name
        if name not in _PARTS or not path.is_file():
            raise RestoreRefused(
                _l("the part %(name)s named by the manifest is missing", name=repr(name))
            )
        if backup.sha256_of(path) != expected.get("sha256"):
            raise RestoreRefused(
                _l(
                    "the part %(name)s does not match its SHA-256 in the manifest",
                    name=repr(name),
                )
            )
    return manifest  # type: ignore[no-any-return]


def verify_chain(reader: Reader) -> Report:
    """The whole chain, its links and its signed checkpoints, as `casework audit verify` does."""
    anchors, problems = stored_anchors(reader)
    report = stitch([verify_range(reader, 1, reader.head(), anchors)], anchors)
    report.problem_count += len(problems)
    report.problems = sorted([*report.problems, *problems], key=lambda p: p.seq)
    return report


def check_chain(reader: Reader, manifest: dict[str, Any]) -> None:
    report = verify_chain(reader)
    if not report.ok:
        first = report.problems[0]
        raise RestoreRefused(
            _l(
                "the audit chain is broken at seq %(seq)d: %(what)s",
                seq=first.seq,
                what=first.what,
            )
        )
    head = manifest.get("audit_head") or {}
    seq = int(head.get("seq") or 0)
    if seq:
        rows = next(reader.batches(seq, seq, 1), [])
        if not rows or bytes(rows[0][-1]).hex() != head.get("hash"):
            raise RestoreRefused(
                _l(
                    "the restored audit log does not hold event %(seq)d as the manifest records "
                    "it: this is not the database the archive was made from",
                    seq=seq,
                )
            )


def _revisions(app: Flask) -> tuple[set[str], set[str]]:
    """(every known revision, the heads) of the code's migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
    script = ScriptDirectory.from_config(config)
    return {r.revision for r in script.walk_revisions()}, set(script.get_heads())


# --- Replacing the data -----------------------------------------------------------------------


def _replace_sqlite(staged: Path) -> None:
    source = sqlite3.connect(staged)
    live = sqlite3.connect(backup.sqlite_path())
    try:
        source.backup(live)  # page by page into the live file, its WAL included
        live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        live.close()
        source.close()


def _replace_postgresql(dump: Path) -> None:
    dbname, env = backup.libpq_target(db.engine.url)
    try:
        tool = backup.pg_tool("pg_restore")
    except backup.BackupError as exc:
        raise RestoreRefused(exc) from None
    done = subprocess.run(  # noqa: S603  # nosec B603  # fixed tool, list of arguments
        [
            tool,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            dbname,
            str(dump),
        ],
        env=env,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        message = backup._first_line(done.stderr)
        raise RestoreRefused(
            _l(
                "pg_restore failed (exit %(code)d): %(message)s",
                code=done.returncode,
                message=message,
            )
        )


def _replace_attachments(tar_path: Path) -> None:
    root = files.root()
    fresh = root.with_name(root.name + ".restoring")
    old = root.with_name(root.name + ".replaced")
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    fresh.mkdir(mode=0o700, parents=True)
    with tarfile.open(tar_path) as tar:
        # The "data" filter refuses absolute paths, "..", links and devices.
        tar.extractall(fresh, filter="data")
    if root.exists():
        root.rename(old)
    fresh.rename(root)
    shutil.rmtree(old, ignore_errors=True)


# --- The whole restore ------------------------------------------------------------------------


def restore(app: Flask, archive_path: Path) -> Summary:
    """Run the whole restore in an app context; raises RestoreRefused with the reason."""
    from casework.audit import service as audit
    from casework.audit.tags import Tag
    from casework.crypto import selfcheck

    state = state_path(app)
    dialect = db.engine.dialect.name
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="restore-", dir=app.instance_path) as work:
        folder = Path(work)
        os.chmod(folder, 0o700)
        manifest = unpack(app, archive_path, folder)
        if manifest.get("dialect") != dialect:
            raise RestoreRefused(
                _l(
                    "the archive holds a %(archived)s database; this server uses %(dialect)s",
                    archived=str(manifest.get("dialect")),
                    dialect=dialect,
                )
            )
        revision = manifest.get("schema_revision")
        known, heads = _revisions(app)
        if revision is not None and revision not in known:
            raise RestoreRefused(
                _l(
                    "the archive's schema revision %(revision)s is unknown to this version of "
                    "casework (made by a newer one?)",
                    revision=str(revision),
                )
            )
        if dialect == "sqlite":
            staged = sqlite3.connect(folder / backup.SQLITE_PART)
            try:
                check_chain(Reader(staged, qmark=True), manifest)
            finally:
                staged.close()
        _write_state(app, state, archive=archive_path.name, stage="replacing")
        db.session.remove()
        db.engine.dispose()
        try:
            if dialect == "sqlite":
                _replace_sqlite(folder / backup.SQLITE_PART)
            else:
                _replace_postgresql(folder / backup.PG_PART)
            _replace_attachments(folder / backup.FILES_PART)
        except (OSError, sqlite3.Error, tarfile.TarError, RestoreRefused) as exc:
            reason = exc if isinstance(exc, RestoreRefused) else type(exc).__name__
            _write_state(app, state, archive=archive_path.name, stage="replacing", reason=reason)
            raise RestoreRefused(
                _l("replacing the data failed: %(reason)s", reason=reason)
            ) from None
    try:
        reader = app_reader()
        try:
            check_chain(reader, manifest)
        finally:
            reader.close()
        upgraded = revision is not None and revision not in heads
        if upgraded:
            from flask_migrate import upgrade

            upgrade(directory=str(Path(__file__).parent.parent / "migrations"))
        owners = {(e.owner_kind, e.owner_id) for e in shredding.read_ledger()}
        replayed = shredding.replay_ledger(None)
        audit.record(None, Tag.SHRED_LEDGER_REPLAY, object_type="data_key", shredded=replayed)
        audit.record(
            None,
            Tag.BACKUP_RESTORE,
            object_type="backup",
            created_at=str(manifest.get("created_at")),
            audit_seq=int((manifest.get("audit_head") or {}).get("seq") or 0),
            replayed=replayed,
        )
        db.session.commit()
        for owner_kind, owner_id in owners:
            files.remove_owner_files(owner_kind, owner_id)  # unreadable now: free the space
        try:
            selfcheck.check_database(app)
        except selfcheck.SelfCheckFailed as exc:
            raise RestoreRefused(
                _l("the encryption self-check failed: %(reason)s", reason=exc)
            ) from None
        finally:
            db.session.remove()
    except RestoreRefused as exc:
        db.session.rollback()
        _write_state(app, state, archive=archive_path.name, stage="checking", reason=exc)
        raise
    except ValueError as exc:  # a malformed shred ledger line
        db.session.rollback()
        _write_state(app, state, archive=archive_path.name, stage="checking", reason=exc)
        raise RestoreRefused(exc) from None
    state.unlink()
    return Summary(manifest, replayed, upgraded)
