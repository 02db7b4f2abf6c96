"""The `casework` command group (a Flask CLI): init, demo, units, users, keys, run, db."""

from __future__ import annotations

import sys
from contextvars import ContextVar
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from casework.crypto.cli import bare_app, keys_group
from casework.extensions import db
from casework.ops.cli import backup_command, restore_command

# False only while `casework restore` loads the app (see casework.ops.cli).
STARTUP_CHECKS: ContextVar[bool] = ContextVar("STARTUP_CHECKS", default=True)


def _create_app() -> Flask:
    from casework import ConfigError, create_app

    # Built in the context of a bare app that speaks the first language, so that a refusal to start
    # (the configuration, an unfinished restore, the self-check) is worded for the operator.
    with bare_app().app_context():
        try:
            return create_app(startup_checks=STARTUP_CHECKS.get())
        except ConfigError as exc:
            click.echo(_("casework: configuration error: %(reason)s", reason=str(exc)), err=True)
            sys.exit(1)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """casework: case management for the Vietnam Women's Union."""


def _fail(message: str) -> NoReturn:
    """Say what went wrong, in the default language (Vietnamese), and exit 1 having changed nothing.
    Messages are translated where they are made (inside the app context)."""
    click.echo(_("Error: %(message)s", message=message), err=True)
    sys.exit(1)


def _cannot_read(path: Path, exc: Exception) -> NoReturn:
    _fail(
        _(
            "cannot read %(file)s: %(reason)s (the file must be UTF-8 text)",
            file=str(path),
            reason=type(exc).__name__,
        )
    )


def _report_lines(errors: list[tuple[int, str]]) -> None:
    """Every bad line of an input file, with its line number."""
    for line, message in errors:
        click.echo(_("line %(line)d: %(message)s", line=line, message=message), err=True)


def _upgrade() -> None:
    from flask_migrate import upgrade

    upgrade(directory=str(Path(__file__).parent / "migrations"))


@click.command("init")
@click.option("--admin-username", default=None, help="Create the first admin with this username.")
@click.option("--admin-unit", default="TW", show_default=True, help="Code of the admin's unit.")
@click.option("--admin-unit-name", default="Trung ương Hội LHPN Việt Nam", show_default=True)
@with_appcontext
def init_command(admin_username: str | None, admin_unit: str, admin_unit_name: str) -> None:
    """Create or upgrade the database; optionally the first admin (prints a temporary password)."""
    from casework.accounts import units
    from casework.accounts import users as user_admin
    from casework.accounts.models import Unit
    from casework.errors import Invalid

    _upgrade()
    click.echo(_("The database is at the latest schema."))
    from casework.cases.workflow import pending
    from casework.db import refresh_statistics

    rebuilt = pending.ensure_current()
    refresh_statistics(db.session)
    db.session.commit()
    if rebuilt:
        click.echo(_("Deadlines computed again for every open case."))
    if admin_username:
        unit = db.session.scalar(select(Unit).where(Unit.code == admin_unit))
        try:
            if unit is None:
                unit = units.create_unit(
                    None,
                    code=admin_unit,
                    name=admin_unit_name,
                    level=units.levels()[0],
                    parent=None,
                )
            _user, password = user_admin.create_user(
                None, username=admin_username, display_name=admin_username, role="admin", unit=unit
            )
        except Invalid as exc:
            db.session.rollback()
            _fail(str(exc.message))
        db.session.commit()
        click.echo(
            _(
                "Admin %(username)s created. Temporary password (change at first sign-in): "
                "%(password)s",
                username=admin_username,
                password=password,
            )
        )


@click.group("units")
def units_group() -> None:
    """The unit tree."""


@units_group.command("import")
@click.argument("csv_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--official", is_flag=True, help="Load central, 34 provinces and 3,321 communes.")
@with_appcontext
def units_import(csv_file: Path | None, official: bool) -> None:
    """Import units from a CSV (code,name,level,parent_code) or the official national list."""
    from casework.accounts import units

    if official == (csv_file is not None):
        _fail(_("Give either --official or a CSV file, not both and not neither."))
    if official:
        report = units.import_official(None)
    else:
        try:
            text = csv_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            _cannot_read(csv_file, exc)
        report = units.import_csv(None, text)
    if not report.ok:
        db.session.rollback()
        _report_lines(report.errors)
        count = len(report.errors)
        _fail(
            ngettext(
                "%(num)d problem; nothing was imported",
                "%(num)d problems; nothing was imported",
                count,
            )
        )
    db.session.commit()
    click.echo(ngettext("%(num)d unit imported.", "%(num)d units imported.", report.created))


@units_group.command("reorganise")
@click.argument("mapping_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would change, and change nothing.")
@with_appcontext
def units_reorganise(mapping_file: Path, dry_run: bool) -> None:
    """Retire units into their successors (old_code,new_code,effective_date,users)."""
    from casework.accounts import reorganise

    try:
        text = mapping_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        _cannot_read(mapping_file, exc)
    result = reorganise.plan(text)[0] if dry_run else reorganise.apply(text)
    if not result.ok:
        db.session.rollback()
        _report_lines(result.errors)
        count = len(result.errors)
        _fail(
            ngettext(
                "%(num)d problem; nothing was changed",
                "%(num)d problems; nothing was changed",
                count,
            )
        )
    for line in result.summary():
        click.echo(line)
    if dry_run:
        db.session.rollback()
        click.echo(_("Dry run: nothing was changed."))
        return
    db.session.commit()
    click.echo(_("Done."))


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The person's name.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["officer", "reviewer", "partner", "auditor", "admin"]),
)
@click.option("--unit", "unit_code", default=None, help="Unit code (every role but partner).")
@click.option(
    "--partner", "partner_name", default=None, help="Partner organisation (partner role)."
)
@with_appcontext
def users_create(
    username: str, display_name: str, role: str, unit_code: str | None, partner_name: str | None
) -> None:
    """Create an account; prints a temporary password to be changed at first sign-in."""
    from casework.accounts import users as user_admin
    from casework.accounts.models import Unit
    from casework.errors import Invalid
    from casework.referrals.models import Partner

    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
    partner = (
        db.session.scalar(select(Partner).where(Partner.name == partner_name))
        if partner_name
        else None
    )
    if unit_code and unit is None:
        _fail(_("No unit has the code %(code)s.", code=unit_code))
    if partner_name and partner is None:
        _fail(_("No partner organisation has this name."))
    try:
        _user, password = user_admin.create_user(
            None,
            username=username,
            display_name=display_name,
            role=role,
            unit=unit,
            partner=partner,
        )
    except Invalid as exc:
        db.session.rollback()
        _fail(str(exc.message))
    db.session.commit()
    click.echo(
        _("Created. Temporary password (change at first sign-in): %(password)s", password=password)
    )


def _user_or_fail(username: str):  # type: ignore[no-untyped-def]
    from casework.accounts import service as accounts
    from casework.accounts.models import User

    user = db.session.scalar(
        select(User).where(User.username == accounts.normalise_username(username))
    )
    if user is None:
        _fail(_("No account has the username %(username)s.", username=username))
    return user


@users_group.command("deactivate")
@click.argument("username")
@with_appcontext
def users_deactivate(username: str) -> None:
    """Switch an account off and end its sessions."""
    from casework.accounts import users as user_admin
    from casework.errors import Invalid

    try:
        user_admin.deactivate_user(None, _user_or_fail(username))
    except Invalid as exc:
        _fail(str(exc.message))
    db.session.commit()
    click.echo(_("Deactivated; every session of the account has ended."))


@users_group.command("reset-2fa")
@click.argument("username")
@with_appcontext
def users_reset_2fa(username: str) -> None:
    """Remove an account's second factor; it is set up again at the next sign-in."""
    from casework.accounts import users as user_admin

    user_admin.reset_second_factor(None, _user_or_fail(username))
    db.session.commit()
    click.echo(_("Second factor removed; the user sets a new one at her next sign-in."))


@users_group.command("totp-code")
@click.argument("username")
@with_appcontext
def users_totp_code(username: str) -> None:
    """Development only: print the current second-factor code of a demo account."""
    from casework.accounts import service as accounts
    from casework.accounts import totp

    if current_app.config["ENV_NAME"] != "development":
        _fail(_("Only available with CASEWORK_ENV=development."))
    user = _user_or_fail(username)
    if not user.totp_enabled:
        _fail(_("This account has no second factor."))
    seed = accounts._seed(user)
    click.echo(totp.code_at_step(seed, totp.current_step()))


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo organisation (development only) and print every demo login."""
    from casework import demo

    if current_app.config["ENV_NAME"] == "production":
        _fail(_("The demo organisation is refused in production (set CASEWORK_ENV=development)."))
    from casework import demo_cases

    logins = demo.load()
    db.session.commit()
    if made := demo_cases.load():
        db.session.commit()
        click.echo(
            ngettext(
                "%(num)d demo case recorded (invented people).",
                "%(num)d demo cases recorded (invented people).",
                made,
            )
        )
    demo.print_logins(logins)


# `keys` also hangs on the group itself: `casework keys init` must run before a keyring exists, when
# the app refuses to load (FlaskGroup resolves its own commands without loading the app).
main.add_command(keys_group)
# `restore` too: it must run when the app refuses to start (a broken or half-restored database).
main.add_command(restore_command)


def register_commands(app: Flask) -> None:
    from casework.cases.workflow.cli import deadlines_group

    app.cli.add_command(deadlines_group)
    app.cli.add_command(init_command)
    app.cli.add_command(units_group)
    app.cli.add_command(users_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(keys_group)

    from casework.audit.cli import audit_group

    app.cli.add_command(audit_group)

    from casework.reports.cli import reports_group

    app.cli.add_command(reports_group)

    from casework.retention.cli import processing_register_command, retention_group

    app.cli.add_command(retention_group)
    app.cli.add_command(processing_register_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
