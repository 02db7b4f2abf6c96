"""`casework deadlines check`: the cron job that tells the parent units of overdue deadlines."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from casework.extensions import db


@click.group("deadlines")
def deadlines_group() -> None:
    """Deadlines of Decision 2605 and the laws behind it."""


@deadlines_group.command("check")
@with_appcontext
def deadlines_check() -> None:
    """Notify the parent unit's reviewers of every newly overdue deadline (run every few minutes)."""
    from casework.cases.workflow import timers

    count = timers.notify_overdue()
    db.session.commit()
    click.echo(f"{count} overdue deadline(s) notified.")
