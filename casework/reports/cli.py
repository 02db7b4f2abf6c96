"""`casework reports refresh`: rebuild the monthly summary that large reports read (nightly cron)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_babel import ngettext

from casework.extensions import db


@click.group("reports")
def reports_group() -> None:
    """Reports and their monthly summary."""


@reports_group.command("refresh")
@with_appcontext
def reports_refresh() -> None:
    """Rebuild the monthly summary from the cases as they are now (run nightly)."""
    from casework.reports import summary

    rows = summary.refresh()
    db.session.commit()
    click.echo(
        ngettext(
            "Report summary rebuilt: %(num)d row.", "Report summary rebuilt: %(num)d rows.", rows
        )
    )
