"""User administration: accounts created, changed, switched off and reset by an admin (or by the
operator on the command line, actor None).

Each function checks the policy for the acting admin, records the audit event and flushes; the request
(or CLI command) commits.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from casework import audit
from casework.accounts import passwords
from casework.accounts.models import RecoveryCode, Unit, User
from casework.accounts.service import check_new_password, end_all_sessions, normalise_username
from casework.audit import Tag
from casework.db import utcnow
from casework.errors import Invalid, StaleEdit
from casework.extensions import db
from casework.policy import Permission, Role, require

if TYPE_CHECKING:
    from casework.referrals.models import Partner


def temporary_password() -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}"


def _check_display_name(display_name: str) -> None:
    if not display_name or len(display_name) > 120:
        message = _l("Enter the person's name (at most 120 characters).")
        raise Invalid(message, display_name=message)


def _placement(
    role: str, unit: Unit | None, partner: object
) -> tuple[str, Unit | None, Partner | None]:
    """A known role and exactly one place: an active unit, or an organisation for partner staff."""
    from casework.referrals.models import Partner

    try:
        role = Role(role).value
    except ValueError:
        raise Invalid(_l("Choose a role."), role=_l("Choose a role.")) from None
    if role == Role.PARTNER:
        if not isinstance(partner, Partner):
            message = _l("A partner user belongs to a partner organisation: choose one.")
            raise Invalid(message, partner=message)
        return role, None, partner
    if unit is None:
        raise Invalid(_l("Choose the user's unit."), unit=_l("Choose the user's unit."))
    if unit.is_retired:
        message = _l("This unit has been retired; choose its successor.")
        raise Invalid(message, unit=message)
    return role, unit, None


def create_user(
    actor: User | None,
    *,
    username: str,
    display_name: str,
    role: str,
    unit: Unit | None = None,
    partner: object = None,
    password: str | None = None,
) -> tuple[User, str]:
    """Create an account; returns it with the first password (temporary unless one was given).

    actor None is the command line run by the operator (recorded as such in the audit log).
    """
    username = normalise_username(username)
    display_name = display_name.strip()
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        message = _l("A username has letters, digits, dots, dashes or underscores (at most 64).")
        raise Invalid(message, username=message)
    _check_display_name(display_name)
    role, unit, partner = _placement(role, unit, partner)
    if actor is not None:
        require(actor, Permission.USER_MANAGE, unit or partner)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        message = _l("This username is taken.")
        raise Invalid(message, username=message)
    given = password is not None
    first_password = password if given else temporary_password()
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        unit=unit,
        partner=partner,
        password_hash="!",  # noqa: S106 (placeholder that matches no password; replaced below)  # nosec B106
        must_change_password=not given,
    )
    if given:
        check_new_password(user, first_password)
    user.password_hash = passwords.hash_password(first_password)
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor, Tag.USER_CREATE, user, role=role, unit_id=user.unit_id, partner_id=user.partner_id
    )
    return user, first_password


def _check_version(user: User, expected_version: int | None) -> None:
    if expected_version is not None and user.version != expected_version:
        raise StaleEdit(_l("Someone else changed this account meanwhile. Reload and try again."))


def deactivate_user(actor: User | None, user: User, *, expected_version: int | None = None) -> None:
    """Switch an account off: it cannot sign in and every session ends at once."""
    if actor is not None:
        require(actor, Permission.USER_MANAGE, user)
        if actor.id == user.id:
            raise Invalid(_l("You cannot deactivate your own account."))
    _check_version(user, expected_version)
    if not user.active:
        raise Invalid(_l("This account is already deactivated."))
    user.active = False
    user.deactivated_at = utcnow()
    ended = end_all_sessions(user, "deactivated")
    audit.record(actor, Tag.USER_DEACTIVATE, user, sessions_ended=ended)


def reactivate_user(actor: User | None, user: User, *, expected_version: int | None = None) -> None:
    if actor is not None:
        require(actor, Permission.USER_MANAGE, user)
    _check_version(user, expected_version)
    if user.active:
        raise Invalid(_l("This account is already active."))
    user.active = True
    user.deactivated_at = None
    user.failed_logins = 0
    user.locked_until = None
    audit.record(actor, Tag.USER_REACTIVATE, user)


def reset_password(actor: User | None, user: User, *, expected_version: int | None = None) -> str:
    """Give a temporary password to be changed at next sign-in; the user's sessions end."""
    if actor is not None:
        require(actor, Permission.USER_MANAGE, user)
    _check_version(user, expected_version)
    password = temporary_password()
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    ended = end_all_sessions(user, "password_reset")
    audit.record(actor, Tag.USER_RESET_PASSWORD, user, sessions_ended=ended)
    return password


def reset_second_factor(
    actor: User | None, user: User, *, expected_version: int | None = None
) -> None:
    """Remove the user's second factor and recovery codes; she sets a new one at next sign-in."""
    if actor is not None:
        require(actor, Permission.USER_MANAGE, user)
    _check_version(user, expected_version)
    user.totp_secret_sealed = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    ended = end_all_sessions(user, "second_factor_reset")
    audit.record(actor, Tag.USER_RESET_TOTP, user, sessions_ended=ended)


def update_user(
    actor: User | None,
    user: User,
    *,
    display_name: str,
    role: str,
    unit: Unit | None = None,
    partner: object = None,
    expected_version: int | None = None,
) -> list[str]:
    """Change an account's name, role and place; a new role or place ends her sessions.

    Returns the names of the fields that changed. Nobody changes her own role or place.
    """
    if actor is not None:
        require(actor, Permission.USER_MANAGE, user)
    _check_version(user, expected_version)
    display_name = display_name.strip()
    _check_display_name(display_name)
    role, unit, partner = _placement(role, unit, partner)
    changed = [
        name
        for name, old, new in (
            ("display_name", user.display_name, display_name),
            ("role", user.role, role),
            ("unit", user.unit_id, unit.id if unit is not None else None),
            ("partner", user.partner_id, getattr(partner, "id", None)),
        )
        if old != new
    ]
    if not changed:
        return []
    moved = bool({"role", "unit", "partner"} & set(changed))
    if actor is not None:
        if moved and actor.id == user.id:
            raise Invalid(_l("You cannot change your own role, unit or organisation."))
        require(actor, Permission.USER_MANAGE, unit or partner)
    user.display_name = display_name
    user.role = role
    user.unit = unit
    user.partner = partner
    # Her permissions follow from role and place: sessions started under the old ones end, and
    # the next sign-in asks for a second factor if the new role needs one.
    ended = end_all_sessions(user, "role_changed") if moved else 0
    db.session.flush()
    audit.record(
        actor,
        Tag.USER_UPDATE,
        user,
        fields=changed,
        role=role,
        unit_id=user.unit_id,
        partner_id=user.partner_id,
        sessions_ended=ended,
    )
    return changed


def list_users(
    actor: User,
    *,
    role: str | None = None,
    unit: Unit | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[User], int]:
    """One page of the accounts the actor administers (her subtree's units and their partners).

    The filter is the policy's USER_MANAGE rule written in SQL; `unit` narrows to that unit and
    the units below it. Returns the page and the number of matching accounts.
    """
    from casework.accounts.units import subtree_select
    from casework.referrals.models import partner_unit

    require(actor, Permission.USER_MANAGE)
    if actor.unit_id is None:
        return [], 0
    if unit is not None:
        require(actor, Permission.USER_MANAGE, unit)
        scope = User.unit_id.in_(subtree_select(unit.id))
    else:
        subtree = subtree_select(actor.unit_id)
        if actor.unit is not None and actor.unit.parent_id is None:
            partners = User.partner_id.is_not(None)
        else:
            partners = User.partner_id.in_(
                select(partner_unit.c.partner_id).where(partner_unit.c.unit_id.in_(subtree))
            )
        scope = User.unit_id.in_(subtree) | partners
    query = select(User).where(scope)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(User.username, User.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total
