"""`casework audit verify`, `casework audit checkpoint` and `casework audit keys`."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select

from casework.audit import checkpoints
from casework.audit.models import AuditCheckpoint
from casework.audit.service import record
from casework.audit.tags import Tag
from casework.audit.verify import BATCH, RANGE, Report, head_seq, verify_database
from casework.crypto import signing
from casework.extensions import db


@click.group("audit")
def audit_group() -> None:
    """The audit log: verify its chain, make and export signed checkpoints."""


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An exported checkpoint: the log must still reach it, with the same hash.",
)
@click.option("--batch", default=BATCH, show_default=True, help="Events read per query.")
@click.option(
    "--jobs",
    default=os.cpu_count() or 1,
    show_default="the number of CPUs",
    help="Worker processes for a long log (ranges of 250,000 events each).",
)
@click.option("--range-size", default=RANGE, hidden=True)
@with_appcontext
def verify_command(checkpoint_file: Path | None, batch: int, jobs: int, range_size: int) -> None:
    """Recompute every hash and link; report the first broken sequence number. Exit 0 or 1."""
    exported = None
    if checkpoint_file is not None:
        try:
            exported = checkpoints.parse_export(checkpoint_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, checkpoints.CheckpointFileError) as exc:
            click.echo(
                _(
                    "Error: %(file)s is not a checkpoint file: %(reason)s",
                    file=str(checkpoint_file),
                    reason=str(exc),
                ),
                err=True,
            )
            record(None, Tag.AUDIT_CHAIN_VERIFY, outcome="error", reason="checkpoint_file")
            db.session.commit()
            sys.exit(1)
    with click.progressbar(length=max(head_seq(), 1), label=_("Verifying"), file=sys.stderr) as bar:
        report = verify_database(
            exported=exported,
            batch=max(batch, 1),
            progress=bar.update,
            jobs=max(jobs, 1),
            range_size=max(range_size, 1),
        )
    _record_run(report, exported)
    if report.ok:
        click.echo(
            ngettext(
                "Audit log intact: %(events)s event (up to seq %(last)s); signed checkpoints that "
                "match: %(checkpoints)s.",
                "Audit log intact: %(events)s events (up to seq %(last)s); signed checkpoints that "
                "match: %(checkpoints)s.",
                report.checked,
                events=format_number(report.checked),
                last=format_number(report.last_seq),
                checkpoints=format_number(report.checkpoints_checked),
            )
        )
        sys.exit(0)
    first = report.problems[0]
    click.echo(_("Audit log BROKEN at seq %(seq)d: %(what)s", seq=first.seq, what=first.what))
    if report.problem_count > 1:
        click.echo(
            _(
                "%(count)s problems in all; the first %(shown)d:",
                count=format_number(report.problem_count),
                shown=len(report.problems),
            )
        )
        for problem in report.problems:
            click.echo("  " + _("seq %(seq)d: %(what)s", seq=problem.seq, what=problem.what))
    sys.exit(1)


def _record_run(report: Report, exported: checkpoints.SignedHead | None) -> None:
    """The run itself is an event, committed on its own: counts and sequence numbers only."""
    details: dict[str, object] = {
        "checked": report.checked,
        "last_seq": report.last_seq,
        "checkpoints_checked": report.checkpoints_checked,
        "problems": report.problem_count,
    }
    if report.problems:
        details["first_broken_seq"] = report.problems[0].seq
    if exported is not None:
        details["exported_checkpoint_seq"] = exported.seq
    # "error": the log failed the check (the table's outcomes are ok, refused and error).
    outcome = "ok" if report.ok else "error"
    record(None, Tag.AUDIT_CHAIN_VERIFY, object_type="audit_event", outcome=outcome, **details)
    db.session.commit()


@audit_group.command("checkpoint")
@click.option(
    "--export",
    "export_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the checkpoint to this file ('-' for the screen), to keep outside the server.",
)
@with_appcontext
def checkpoint_command(export_file: Path | None) -> None:
    """Sign the chain's head now (one is also made every 1,000 events)."""
    checkpoint = checkpoints.checkpoint_now(None, exported=export_file is not None)
    db.session.commit()
    text = checkpoints.export_text(checkpoint)
    if export_file is not None and str(export_file) == "-":
        click.echo(text, nl=False)
        return
    if export_file is not None:
        try:
            export_file.write_text(text, encoding="utf-8")
        except OSError as exc:
            click.echo(
                _(
                    "Error: cannot write %(file)s: %(reason)s",
                    file=str(export_file),
                    reason=type(exc).__name__,
                ),
                err=True,
            )
            sys.exit(1)
    seq = format_number(checkpoint.seq)
    if export_file is None:
        click.echo(
            _("Checkpoint at seq %(seq)s signed with key %(key)s.", seq=seq, key=checkpoint.key_id)
        )
    else:
        click.echo(
            _(
                "Checkpoint at seq %(seq)s signed with key %(key)s; written to %(file)s.",
                seq=seq,
                key=checkpoint.key_id,
                file=str(export_file),
            )
        )


@audit_group.command("keys")
@with_appcontext
def keys_command() -> None:
    """List the checkpoint signing keys this instance trusts (public keys only)."""
    keyring = current_app.config["MASTER_KEYRING"]
    last = dict(
        db.session.execute(
            select(AuditCheckpoint.key_id, func.max(AuditCheckpoint.seq))
            .where(AuditCheckpoint.algorithm == checkpoints.ED25519)
            .group_by(AuditCheckpoint.key_id)
        ).all()
    )
    for master in keyring.keys.values():
        signer = signing.signer_for(master)
        role = _("primary") if master.id == keyring.primary_id else _("held")
        signed = last.get(signer.key_id)
        # What a keyring kept by hand (CASEWORK_MASTER_KEYS) needs before removing the master key.
        if signed:
            about = _(
                "%(role)s (master key %(key)s); last signed seq %(seq)d",
                role=role,
                key=master.id,
                seq=signed,
            )
        else:
            about = _("%(role)s (master key %(key)s); has signed nothing", role=role, key=master.id)
        click.echo(f"{signer.key_id}  {_b64(signer.public)}  {about}")
    for retired in keyring.retired_signers.values():
        about = _("retired: checkpoints up to seq %(seq)s", seq=format_number(retired.upto_seq))
        click.echo(f"{retired.id}  {_b64(retired.public)}  {about}")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
