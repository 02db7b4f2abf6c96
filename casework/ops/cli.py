"""`casework backup OUT` and `casework restore ARCHIVE`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext
from flask_babel import gettext as _
from flask_babel import ngettext

from casework.extensions import db


def _fail(message: str) -> None:
    click.echo(_("Error: %(message)s", message=message), err=True)
    sys.exit(1)


@click.command("backup")
@click.argument("out", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(out: Path) -> None:
    """Write an encrypted archive of the database and attachments (online; a file or a folder)."""
    from casework.audit import service as audit
    from casework.audit.tags import Tag
    from casework.ops import backup

    try:
        result = backup.make_backup(current_app._get_current_object(), out)  # type: ignore[attr-defined]
    except (backup.BackupError, OSError) as exc:
        message = str(exc) if isinstance(exc, backup.BackupError) else type(exc).__name__
        _fail(_("no backup was made: %(reason)s", reason=message))
    manifest = result.manifest
    head = manifest["audit_head"]
    # The event names the archive by its time and chain head only (a path may say anything).
    audit.record(
        None,
        Tag.BACKUP_CREATE,
        object_type="backup",
        created_at=manifest["created_at"],
        audit_seq=head["seq"],
        attachments=manifest["attachments"],
    )
    db.session.commit()
    click.echo(
        ngettext(
            "Backup written to %(file)s (audit log up to event %(seq)d, %(num)d attachment "
            "file, sealed with master key %(key)s).",
            "Backup written to %(file)s (audit log up to event %(seq)d, %(num)d attachment "
            "files, sealed with master key %(key)s).",
            manifest["attachments"],
            file=str(result.path),
            seq=head["seq"],
            key=manifest["master_key_id"],
        )
    )
    click.echo(_("Keep the keyring's offline copy: the archive cannot be read without it."))


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def restore_command(ctx: click.Context, archive: Path, yes: bool) -> None:
    """Replace the database and attachments with a backup; erase again what the shred ledger
    lists; verify the audit chain. Stop the app first: it will not start until this succeeds."""
    from casework import cli
    from casework.ops import restore

    # The app is loaded without its start-up checks, which refuse a half-restored database; the
    # restore runs them itself at the end. It is loaded before the question, so that the question
    # is asked in the app's language.
    token = cli.STARTUP_CHECKS.set(False)
    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    finally:
        cli.STARTUP_CHECKS.reset(token)
    with app.app_context():
        if not yes:
            click.confirm(
                _("This replaces the database and the attachments with the backup. Continue?"),
                abort=True,
            )
        try:
            summary = restore.restore(app, archive)
        except restore.RestoreRefused as exc:
            _fail(_("restore refused: %(reason)s", reason=str(exc)))
        manifest = summary.manifest
        click.echo(
            _(
                "Restored the backup of %(created)s (audit log verified up to event %(seq)d "
                "and beyond).",
                created=manifest["created_at"],
                seq=manifest["audit_head"]["seq"],
            )
        )
        if summary.upgraded:
            click.echo(_("The schema was upgraded to this version of casework."))
        click.echo(
            ngettext(
                "Shred ledger replayed: %(num)d owner erased again.",
                "Shred ledger replayed: %(num)d owners erased again.",
                summary.replayed,
            )
        )
        click.echo(_("The app may start."))
