"""Sign-in, sessions, second factor and user administration.

Services take the acting user explicitly, check the policy, change data, record the audit event and
flush; the request (or CLI command) commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from casework import audit
from casework.accounts import passwords, totp
from casework.accounts.models import LoginFailure, RecoveryCode, Unit, User, UserSession
from casework.audit import Tag
from casework.crypto import secretbox
from casework.db import utcnow
from casework.errors import Invalid, SignInFailed, StaleEdit, Throttled
from casework.extensions import db
from casework.policy import Permission, Role, require

if TYPE_CHECKING:
    from casework.referrals.models import Partner


def generic_failure() -> object:
    """The one message for every failed sign-in, whatever the cause."""
    return _l(
        "Sign-in failed. Check your username and password (or code). After %(n)d failed attempts "
        "the account is locked for %(minutes)d minutes.",
        n=_cfg("LOGIN_LOCK_FAILURES"),
        minutes=_cfg("LOGIN_LOCK_MINUTES"),
    )


TOTP_PURPOSE = "totp-seed"


def _cfg(name: str) -> int:
    return int(current_app.config[name])


def normalise_username(username: str) -> str:
    return username.strip().casefold()


# --- Throttling -------------------------------------------------------------------------------


def address_blocked_until(address: str, now: datetime | None = None) -> datetime | None:
    """When this address may try again, if it has failed too often in the window."""
    now = now or utcnow()
    limit = _cfg("ADDRESS_THROTTLE_FAILURES")
    window = timedelta(minutes=_cfg("ADDRESS_THROTTLE_WINDOW_MINUTES"))
    block = timedelta(minutes=_cfg("ADDRESS_THROTTLE_BLOCK_MINUTES"))
    recent = db.session.scalars(
        select(LoginFailure.at)
        .where(LoginFailure.address == address, LoginFailure.at > now - window - block)
        .order_by(LoginFailure.at.desc())
        .limit(limit)
    ).all()
    if len(recent) < limit or recent[0] - recent[-1] > window:
        return None
    until = recent[0] + block
    return until if until > now else None


def _refuse_if_throttled(address: str) -> None:
    until = address_blocked_until(address)
    if until is not None:
        audit.record(None, Tag.LOGIN_THROTTLED, outcome="refused")
        raise Throttled(
            _l(
                "Too many failed sign-ins from this network. Try again in %(minutes)d minutes.",
                minutes=_cfg("ADDRESS_THROTTLE_BLOCK_MINUTES"),
            )
        )


def _count_failure(user: User | None, address: str, tag: Tag) -> None:
    db.session.add(LoginFailure(address=address))
    if user is not None:
        user.failed_logins += 1
        if user.failed_logins >= _cfg("LOGIN_LOCK_FAILURES"):
            user.locked_until = utcnow() + timedelta(minutes=_cfg("LOGIN_LOCK_MINUTES"))
            user.failed_logins = 0
    audit.record(user, tag, user, outcome="refused")


def _locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


# --- Sign-in ----------------------------------------------------------------------------------


def check_password(username: str, password: str, address: str) -> User:
    """First step of sign-in: the password. Raises one generic SignInFailed for every failure."""
    _refuse_if_throttled(address)
    user = db.session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        passwords.burn_verification_time(password)
        _count_failure(None, address, Tag.LOGIN_PASSWORD)
        raise SignInFailed(generic_failure())
    if not user.active or _locked(user):
        passwords.burn_verification_time(password)
        _count_failure(user, address, Tag.LOGIN_PASSWORD)
        raise SignInFailed(generic_failure())
    if not passwords.verify_password(user.password_hash, password):
        _count_failure(user, address, Tag.LOGIN_PASSWORD)
        raise SignInFailed(generic_failure())
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    audit.record(user, Tag.LOGIN_PASSWORD, user)
    return user


def second_factor_required(user: User) -> bool:
    return user.role in current_app.config["TOTP_REQUIRED_ROLES"] or user.totp_enabled


def _seed(user: User) -> bytes:
    if user.totp_secret_sealed is None:
        raise SignInFailed(generic_failure())
    return secretbox.unseal(
        current_app.config["MASTER_KEYRING"],
        TOTP_PURPOSE,
        f"user:{user.id}",
        user.totp_secret_sealed,
    )


def check_second_factor(user: User, code: str, address: str) -> None:
    """Second step: a TOTP code (now ±30 s, never one already used) or an unused recovery code."""
    _refuse_if_throttled(address)
    if not user.active or _locked(user) or not user.totp_enabled:
        _count_failure(user, address, Tag.LOGIN_SECOND_FACTOR)
        raise SignInFailed(generic_failure())
    compact = "".join(code.split()).replace("-", "")
    if len(compact) == totp.DIGITS:
        step = totp.match_step(_seed(user), compact, last_step=user.totp_last_step)
        if step is None:
            _count_failure(user, address, Tag.LOGIN_SECOND_FACTOR)
            raise SignInFailed(generic_failure())
        # Guarded update: two requests racing with the same code cannot both succeed.
        won = db.session.execute(
            update(User)
            .where(User.id == user.id)
            .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
            .values(totp_last_step=step, version=User.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            _count_failure(user, address, Tag.LOGIN_SECOND_FACTOR)
            raise SignInFailed(generic_failure())
        db.session.refresh(user)
        audit.record(user, Tag.LOGIN_SECOND_FACTOR, user)
        return
    row = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(compact),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        _count_failure(user, address, Tag.LOGIN_SECOND_FACTOR)
        raise SignInFailed(generic_failure())
    row.used_at = utcnow()
    audit.record(user, Tag.LOGIN_RECOVERY_CODE, user, recovery_code_id=row.id)


# --- Sessions ---------------------------------------------------------------------------------


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def start_session(user: User) -> str:
    """Open a server-side session after full sign-in; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    db.session.add(UserSession(token_hash=_token_hash(token), user_id=user.id))
    db.session.flush()
    return token


@dataclass(frozen=True)
class SessionState:
    session: UserSession | None
    expired: bool


def idle_limit(user: User) -> timedelta:
    minutes = _cfg(
        "SESSION_IDLE_MINUTES_ADMIN" if user.role == Role.ADMIN else "SESSION_IDLE_MINUTES"
    )
    return timedelta(minutes=minutes)


def resume_session(token: str) -> SessionState:
    """Find the live session for a cookie token; end it if idle or too old."""
    sess = db.session.scalar(
        select(UserSession).where(UserSession.token_hash == _token_hash(token))
    )
    if sess is None or sess.ended_at is not None:
        return SessionState(None, expired=False)
    now = utcnow()
    user = sess.user
    if not user.active:
        return SessionState(None, expired=False)
    absolute = timedelta(hours=_cfg("SESSION_ABSOLUTE_HOURS"))
    if now - sess.last_seen_at > idle_limit(user) or now - sess.created_at > absolute:
        sess.ended_at = now
        sess.end_reason = "timeout"
        audit.record(user, Tag.SESSION_EXPIRED, user, session_id=sess.id)
        return SessionState(None, expired=True)
    # Writing on every request would make every read a write; a minute's precision is enough.
    if now - sess.last_seen_at > timedelta(seconds=60):
        sess.last_seen_at = now
    return SessionState(sess, expired=False)


def end_session(sess: UserSession) -> None:
    sess.ended_at = utcnow()
    sess.end_reason = "logout"
    audit.record(sess.user, Tag.LOGOUT, sess.user, session_id=sess.id)


def end_all_sessions(user: User, reason: str) -> int:
    return db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount


# --- Own account ------------------------------------------------------------------------------


def _check_new_password(user: User, new_password: str) -> None:
    problems = passwords.password_problems(new_password, username=user.username)
    if problems:
        raise Invalid(" ".join(problems), new_password=" ".join(problems))


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change one's own password; every session of the account ends (the caller starts a new one)."""
    if not passwords.verify_password(user.password_hash, current_password):
        raise Invalid(
            _l("The current password is not correct."),
            current_password=_l("The current password is not correct."),
        )
    if current_password == new_password:
        raise Invalid(
            _l("Choose a password different from the current one."),
            new_password=_l("Choose a password different from the current one."),
        )
    _check_new_password(user, new_password)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    ended = end_all_sessions(user, "password_changed")
    audit.record(user, Tag.PASSWORD_CHANGE, user, sessions_ended=ended)


def begin_totp_enrolment(user: User) -> bytes:
    """Give the user a fresh seed to add to her authenticator app (not active until confirmed)."""
    if user.totp_enabled:
        raise Invalid(_l("A second factor is already set up for this account."))
    seed = totp.new_seed()
    user.totp_secret_sealed = secretbox.seal(
        current_app.config["MASTER_KEYRING"], TOTP_PURPOSE, f"user:{user.id}", seed
    )
    user.totp_last_step = None
    db.session.flush()
    return seed


def pending_seed(user: User) -> bytes | None:
    if user.totp_secret_sealed is None or user.totp_enabled:
        return None
    return _seed(user)


def confirm_totp_enrolment(user: User, code: str) -> list[str]:
    """Activate the second factor with a first valid code; returns new recovery codes (shown once)."""
    seed = pending_seed(user)
    if seed is None:
        raise Invalid(_l("Start the set-up again: no pending second factor was found."))
    step = totp.match_step(seed, code, last_step=None)
    if step is None:
        message = _l("That code is not correct. Check the time on your phone and try again.")
        raise Invalid(message, code=message)
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    audit.record(user, Tag.TOTP_ENROL, user)
    return _replace_recovery_codes(user)


def _recovery_hash(code: str) -> bytes:
    # Recovery codes carry 80 random bits, so a fast keyed hash is enough (no guessing is feasible).
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"recovery:" + code.upper().encode(), hashlib.sha256).digest()


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    codes = []
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    for _ in range(_cfg("RECOVERY_CODE_COUNT")):
        raw = "".join(secrets.choice(alphabet) for _ in range(16))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(raw)))
    db.session.flush()
    return codes


def new_recovery_codes(user: User, current_password: str) -> list[str]:
    """Replace one's recovery codes after re-entering the password."""
    if not passwords.verify_password(user.password_hash, current_password):
        message = _l("The current password is not correct.")
        raise Invalid(message, current_password=message)
    if not user.totp_enabled:
        raise Invalid(_l("Set up the second factor first."))
    codes = _replace_recovery_codes(user)
    audit.record(user, Tag.RECOVERY_CODES_NEW, user)
    return codes


def unused_recovery_codes(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


# --- User administration ----------------------------------------------------------------------


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
        password_hash="!",  # noqa: S106 (placeholder that matches no password; replaced below)
        must_change_password=not given,
    )
    if given:
        _check_new_password(user, first_password)
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
