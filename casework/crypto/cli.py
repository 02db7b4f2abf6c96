"""`casework keys`: init, status, rotate, shred, replay-ledger, scrub, check."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext
from flask_babel import Babel, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select

from casework.extensions import db


def _fail(message: str) -> None:
    click.echo(_("Error: %(message)s", message=message), err=True)
    sys.exit(1)


def bare_app() -> Flask:
    """The app's name, instance folder and catalogues without its configuration (which refuses to
    load until a keyring exists): enough to find the keyring's place and speak the first language."""
    from casework.config import DEFAULTS

    app = Flask("casework", instance_relative_config=True)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULTS["LANGUAGES"][0]
    Babel(app)
    return app


@click.group("keys")
def keys_group() -> None:
    """Master keys, data keys, rotation and crypto-shredding."""


@keys_group.command("init")
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the keyring (default: instance/keys/master.json).",
)
def keys_init(path: Path | None) -> None:
    """Write a new master keyring with one primary key (refused when one exists)."""
    # Runs without the app: the app refuses to start until a keyring exists.
    from casework.crypto.keyring import write_new_keyring

    app = bare_app()
    with app.app_context():
        if os.environ.get("CASEWORK_MASTER_KEYS"):
            _fail(_("CASEWORK_MASTER_KEYS is set: the keyring comes from the environment"))
        if path is None:
            path = Path(app.instance_path) / "keys" / "master.json"
        if path.exists():
            _fail(
                _(
                    "%(file)s exists: a keyring is never overwritten (use `casework keys rotate`)",
                    file=str(path),
                )
            )
        keyring = write_new_keyring(path)
        click.echo(
            _(
                "Master keyring written to %(file)s (primary key %(key)s).",
                file=str(path),
                key=keyring.primary_id,
            )
        )
        click.echo(_("Copy it to the offline key backup now: without it no backup can be read."))


@keys_group.command("status")
@with_appcontext
def keys_status() -> None:
    """Which master keys wrap how many data keys (and seal seeds, index rows, sign checkpoints)."""
    from casework.crypto import datakeys, rotation, shredding
    from casework.crypto.models import DataKey

    keyring = current_app.config["MASTER_KEYRING"]
    source = datakeys.keyring_file(current_app).path
    if source:
        click.echo(_("Keyring: %(file)s", file=str(source)))
    else:
        click.echo(_("Keyring: from the environment or configuration"))
    usage = rotation.usage(current_app)
    columns = (_("master key"), _("data keys"), _("seeds"), _("index rows"), _("checkpoints"))
    # Each column at least as wide as its (translated) heading.
    widths = [max(w, len(c)) for w, c in zip((28, 10, 7, 11, 12), columns, strict=True)]

    def row(label: str, *counts: object) -> str:
        cells = [f"{c:>{w}}" for c, w in zip(counts, widths[1:], strict=True)]
        return " ".join([f"{label:<{widths[0]}}", *cells])

    click.echo(row(*columns))
    for key_id in sorted(set(keyring.keys) | set(usage)):
        used = usage.get(key_id, rotation.Usage())
        marks = []
        if key_id == keyring.primary_id:
            marks.append(_("primary"))
        if key_id not in keyring.keys:
            marks.append(_("NOT IN KEYRING"))
        label = f"{key_id} {'(' + ', '.join(marks) + ')' if marks else ''}"
        click.echo(row(label, used.data_keys, used.seeds, used.indexed_rows, used.checkpoints))
    shredded = db.session.scalar(
        select(func.count()).select_from(DataKey).where(DataKey.shredded_at.is_not(None))
    )
    ledger = sum(1 for _entry in shredding.read_ledger())
    click.echo(
        _(
            "Shredded data keys: %(shredded)d; shred ledger entries: %(ledger)d",
            shredded=shredded or 0,
            ledger=ledger,
        )
    )
    pending = rotation.pending_work(current_app, keyring)
    if pending:
        click.echo(
            ngettext(
                "A rotation is unfinished: %(num)d item still on an old key (rerun `keys rotate`).",
                "A rotation is unfinished: %(num)d items still on old keys (rerun `keys rotate`).",
                pending,
            )
        )


@keys_group.command("rotate")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--grace",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds to wait after the switch before the last sweep and retiring the old key.",
)
@click.option("--max-batches", default=None, type=click.IntRange(1), hidden=True)
@with_appcontext
def keys_rotate(batch_size: int, grace: float, max_batches: int | None) -> None:
    """Add a master key, make it primary, move every data key to it; resumes an unfinished run."""
    from casework.crypto import rotation

    bar = None

    def start(total: int) -> None:
        nonlocal bar
        primary = current_app.config["MASTER_KEYRING"].primary_id
        click.echo(
            _("Primary master key: %(key)s. Items to move: %(total)d.", key=primary, total=total)
        )
        bar = click.progressbar(length=total, label=_("Rewrapping"), file=sys.stderr)
        bar.__enter__()

    try:
        report = rotation.run(
            current_app,
            batch_size=batch_size,
            grace_seconds=grace,
            max_batches=max_batches,
            on_start=start,
            progress=lambda n: bar.update(n) if bar else None,
        )
    except rotation.RotationError as exc:
        _fail(str(exc))
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(
        _(
            "Rewrapped %(rewrapped)d data keys, reindexed %(reindexed)d rows, "
            "resealed %(resealed)d seeds.",
            rewrapped=report.rewrapped,
            reindexed=report.reindexed,
            resealed=report.resealed,
        )
    )
    if not report.finished:
        click.echo(_("Stopped before the end: run `casework keys rotate` again to finish."))
        return
    for key_id in report.retired:
        click.echo(
            _("Retired master key %(key)s: it is no longer in the keyring file.", key=key_id)
        )
    for key_id, used in report.kept.items():
        click.echo(
            ngettext(
                "Kept master key %(key)s: %(num)d audit checkpoint is signed with it.",
                "Kept master key %(key)s: %(num)d audit checkpoints are signed with it.",
                used.checkpoints,
                key=key_id,
            )
        )
    click.echo(
        _("Rotation complete. Backups made before it need the old keyring: keep it offline.")
    )


@keys_group.command("shred")
@click.argument("owner_kind", type=click.Choice(["person", "case"]))
@click.argument("owner_id", type=click.UUID)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def keys_shred(owner_kind: str, owner_id: uuid.UUID, yes: bool) -> None:
    """Crypto-shred a person or a case: its personal data becomes unreadable for good."""
    from casework.crypto import shredding

    if not yes:
        if owner_kind == "person":
            question = _("Erase person %(id)s for good?", id=str(owner_id))
        else:
            question = _("Erase case %(id)s for good?", id=str(owner_id))
        click.confirm(question, abort=True)
    count = shredding.shred(None, owner_kind, owner_id)
    db.session.commit()
    if owner_kind == "person":
        done = ngettext(
            "Shredded %(num)d data key of person %(id)s.",
            "Shredded %(num)d data keys of person %(id)s.",
            count,
            id=str(owner_id),
        )
    else:
        done = ngettext(
            "Shredded %(num)d data key of case %(id)s.",
            "Shredded %(num)d data keys of case %(id)s.",
            count,
            id=str(owner_id),
        )
    click.echo(done)


@keys_group.command("replay-ledger")
@click.pass_context
def keys_replay_ledger(ctx: click.Context) -> None:
    """After restoring a backup: shred again everything the shred ledger lists."""
    from casework import cli
    from casework.audit import service as audit
    from casework.audit.tags import Tag
    from casework.crypto import shredding

    # Loaded without the start-up self-check: it refuses exactly the database this repairs.
    token = cli.STARTUP_CHECKS.set(False)
    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    finally:
        cli.STARTUP_CHECKS.reset(token)
    with app.app_context():
        count = shredding.replay_ledger()
        audit.record(None, Tag.SHRED_LEDGER_REPLAY, object_type="data_key", shredded=count)
        db.session.commit()
        click.echo(
            ngettext(
                "Shred ledger replayed: %(num)d owner shredded again.",
                "Shred ledger replayed: %(num)d owners shredded again.",
                count,
            )
        )


@keys_group.command("scrub")
@with_appcontext
def keys_scrub() -> None:
    """Checkpoint the SQLite WAL (or vacuum on PostgreSQL) so shredded keys leave the files."""
    from casework.crypto import shredding

    if not shredding.scrub_storage(db.engine):
        _fail(_("a reader kept the WAL busy: try again"))
    click.echo(_("Storage scrubbed."))


@keys_group.command("check")
@with_appcontext
def keys_check() -> None:
    """Run the start-up self-check now."""
    from casework import ConfigError
    from casework.crypto import selfcheck

    try:
        selfcheck.run(current_app._get_current_object())  # type: ignore[attr-defined]
    except ConfigError as exc:
        _fail(str(exc))
    click.echo(_("Encryption self-check passed."))
