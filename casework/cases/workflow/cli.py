"""`casework deadlines check`: the cron job that tells the parent units of overdue deadlines."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import ngettext

from casework.extensions import db


@click.group("deadlines")
def deadlines_group() -> None:
    """Deadlines of Decision 2605 and the laws behind it."""


@deadlines_group.command("check")
@with_appcontext
def deadlines_check() -> None:
    """Notify the parent unit's reviewers of every newly overdue deadline (run every few minutes)."""
    from casework.cases.workflow import boards, pending, timers
    from casework.db import refresh_statistics

    refresh_statistics(db.session)
    if pending.ensure_current():
        # The limits or public holidays changed: every open case's deadlines follow them.
        click.echo(_("Deadlines computed again for every open case."), err=True)
    count = boards.notify_overdue()
    db.session.commit()
    click.echo(
        ngettext("%(num)d overdue deadline notified.", "%(num)d overdue deadlines notified.", count)
    )
    year = timers.local_now().year
    if not timers.holidays_configured(year):
        # Counting every weekday makes working-day deadlines come earlier, never later: safe, but
        # the administrator should enter the year's public holidays (docs/operations.md).
        click.echo(
            _(
                "No public holiday is configured for %(year)d: working-day deadlines count every "
                "weekday. Set PUBLIC_HOLIDAYS (docs/operations.md, Public holidays).",
                year=year,
            ),
            err=True,
        )


@deadlines_group.command("rebuild")
@with_appcontext
def deadlines_rebuild() -> None:
    """Compute every open case's deadlines again (nightly, a safety net beside the per-commit
    upkeep)."""
    from casework.cases.workflow import pending

    changed = pending.rebuild()
    click.echo(
        ngettext(
            "%(num)d pending deadline corrected.", "%(num)d pending deadlines corrected.", changed
        )
    )
