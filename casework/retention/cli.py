"""`casework retention run|report` (run daily from cron) and `casework processing-register`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import ngettext

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
        ngettext(
            "Retention on %(day)s (Vietnam): %(num)d closed case past its period, "
            "%(held)d under a legal hold, %(todo)d to erase.",
            "Retention on %(day)s (Vietnam): %(num)d closed cases past their period, "
            "%(held)d under a legal hold, %(todo)d to erase.",
            len(items),
            day=day.isoformat(),
            held=len(held),
            todo=len(todo),
        )
    )
    for item in items:
        if item.held and item.hold_until:
            action = _("held until %(day)s", day=item.hold_until.isoformat())
        elif item.held:
            action = _("held until lifted")
        else:
            action = _("would be erased") if dry_run else _("erase")
        line = ngettext(
            "%(code)s  closed %(closed)s  %(num)d year  expired %(expired)s  %(action)s",
            "%(code)s  closed %(closed)s  %(num)d years  expired %(expired)s  %(action)s",
            item.years,
            code=item.code,
            closed=_local(item.closed_at),
            expired=item.expires_on.isoformat(),
            action=action,
        )
        click.echo(f"  {line}")
    if dry_run:
        db.session.rollback()
        click.echo(_("Dry run: nothing was erased."))
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
    if skipped:
        done = ngettext(
            "Run %(run)d: %(num)d case erased, %(skipped)d skipped (reopened, held or erased "
            "meanwhile).",
            "Run %(run)d: %(num)d cases erased, %(skipped)d skipped (reopened, held or erased "
            "meanwhile).",
            erased,
            run=run.id,
            skipped=skipped,
        )
    else:
        done = ngettext(
            "Run %(run)d: %(num)d case erased.",
            "Run %(run)d: %(num)d cases erased.",
            erased,
            run=run.id,
        )
    click.echo(done)


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
    columns = (_("case"), _("closed"), _("years"), _("expired"), _("erased"), _("run"))
    # Each column at least as wide as its (translated) heading; numbers to the right.
    widths = [max(w, len(c)) for w, c in zip((20, 10, 5, 10, 10, 4), columns, strict=True)]
    right = (False, False, True, False, False, True)

    def line(*cells: object) -> str:
        return " ".join(
            f"{c:>{w}}" if r else f"{c:<{w}}" for c, w, r in zip(cells, widths, right, strict=True)
        )

    click.echo(line(*columns))
    for row in rows:
        click.echo(
            line(row.code, row.closed_on, row.years, row.expired_on, row.erased_on, row.run_id)
        )
    click.echo(
        ngettext(
            "%(num)d case erased by retention.", "%(num)d cases erased by retention.", len(rows)
        )
    )


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
        languages = ", ".join(current_app.config["LANGUAGES"])
        click.echo(_("Error: --lang must be one of %(languages)s", languages=languages))
        sys.exit(1)
    with force_locale(lang):
        text = register.markdown() if fmt == "markdown" else register.html(lang)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(
            _(
                "Error: cannot write %(file)s: %(reason)s",
                file=str(output),
                reason=type(exc).__name__,
            ),
            err=True,
        )
        sys.exit(1)
    click.echo(_("Processing register written to %(file)s.", file=str(output)))
