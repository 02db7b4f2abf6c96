"""`casework retention run|report` (run daily from cron) and `casework processing-register`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from casework.extensions import db


@click.group("retention")
def retention_group() -> None:
    """Erase closed cases whose retention period is over; what was erased and when."""


def _local(moment) -> str:  # type: ignore[no-untyped-def]
    from casework.cases.support import local_tz

    return moment.astimezone(local_tz()).date().isoformat()


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be erased; change nothing.")
@with_appcontext
def run_command(dry_run: bool) -> None:
    """Crypto-shred the personal data of closed cases past their period, unless held."""
    from casework.cases.support import local_today
    from casework.crypto import files
    from casework.retention import service

    day = local_today()
    items = service.due(day)
    held = [item for item in items if item.held]
    todo = [item for item in items if not item.held]
    click.echo(
        f"Retention on {day.isoformat()} (Vietnam): {len(items)} closed case(s) past their "
        f"period, {len(held)} under a legal hold, {len(todo)} to erase."
    )
    for item in items:
        if item.held:
            action = f"held until {item.hold_until.isoformat() if item.hold_until else 'lifted'}"
        else:
            action = "would be erased" if dry_run else "erase"
        click.echo(
            f"  {item.code}  closed {_local(item.closed_at)}  {item.years} years  "
            f"expired {item.expires_on.isoformat()}  {action}"
        )
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was erased.")
        return
    run = service.start_run(None, day)
    db.session.commit()
    erased = 0
    for item in todo:
        # One transaction per case: a failure stops the run with every earlier erasure kept, and
        # the shred ledger already names the case being erased (restores re-apply it).
        record = service.erase_case(None, run, item)
        db.session.commit()
        if record is not None:
            erased += 1
            files.remove_owner_files("case", item.case_id)  # unreadable now; free the space
    service.finish_run(None, run, expired=len(items), erased=erased, held=len(held))
    db.session.commit()
    skipped = len(todo) - erased
    click.echo(
        f"Run {run.id}: {erased} case(s) erased"
        + (f", {skipped} skipped (reopened, held or erased meanwhile)" if skipped else "")
        + "."
    )


@retention_group.command("report")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Erasures on or after this day.")
@click.option("--csv", "as_csv", is_flag=True, help="Comma-separated, for a spreadsheet.")
@with_appcontext
def report_command(since, as_csv: bool) -> None:  # type: ignore[no-untyped-def]
    """What retention erased and when: case codes, dates and counts, never personal data."""
    from casework.retention import report

    rows = report.erasures(since=since.date() if since else None, limit=None)
    if as_csv:
        click.echo(report.erasures_csv(rows), nl=False)
        return
    click.echo(
        f"{'case':<20} {'closed':<10} {'years':>5} {'expired':<10} {'erased':<10} {'run':>4}"
    )
    for row in rows:
        click.echo(
            f"{row.code:<20} {row.closed_on:<10} {row.years:>5} {row.expired_on:<10} "
            f"{row.erased_on:<10} {row.run_id:>4}"
        )
    click.echo(f"{len(rows)} case(s) erased by retention.")


@click.command("processing-register")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "html"]),
    default="markdown",
    show_default=True,
)
@click.option("--lang", default="vi", show_default=True, help="Language of the register (vi, en).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@with_appcontext
def processing_register_command(fmt: str, lang: str, output: Path | None) -> None:
    """The register of processing (purposes, legal bases, data, retention) from the configuration."""
    from flask import current_app
    from flask_babel import force_locale

    from casework.retention import register

    if lang not in current_app.config["LANGUAGES"]:
        click.echo(f"Error: --lang must be one of {', '.join(current_app.config['LANGUAGES'])}")
        sys.exit(1)
    with force_locale(lang):
        text = register.markdown() if fmt == "markdown" else register.html(lang)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"Error: cannot write {output}: {type(exc).__name__}", err=True)
        sys.exit(1)
    click.echo(f"Processing register written to {output}.")
