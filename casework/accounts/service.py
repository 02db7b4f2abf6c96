"""Sign-in, sessions, second factor and one's own account (user administration: accounts/users.py).

Services take the acting user explicitly, check the policy, change data, record the audit event and
flush; the request (or CLI command) commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from casework import audit
from casework.accounts import passwords, totp
from casework.accounts.models import LoginFailure, RecoveryCode, User, UserSession
from casework.audit import Tag
from casework.crypto import secretbox
from casework.db import begin_writing, reading, utcnow
from casework.errors import Invalid, SignInFailed, Throttled
from casework.extensions import db
from casework.policy import Role

if TYPE_CHECKING:
    pass


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


def _sign_in_counters(user: User, *guard: Any, **values: object) -> bool:
    """Change the account's sign-in counters in one statement that reads them as it writes them:
    sign-ins of one account from several browsers at once (a double press, a phone and a desktop,
    or guesses sent in parallel) each count, and none is refused as a stale edit. They are not an
    edit of the account, so its version (which guards the administrators' form) stays. False when
    a guard no longer holds (nothing is changed then)."""
    row = db.session.execute(
        update(User)
        .where(User.id == user.id, *guard)
        .values(**values)
        .returning(User.failed_logins, User.locked_until, User.last_login_at)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        return False
    for name, value in zip(("failed_logins", "locked_until", "last_login_at"), row, strict=True):
        set_committed_value(user, name, value)
    return True


def _count_failure(user: User | None, address: str, tag: Tag) -> None:
    db.session.add(LoginFailure(address=address))
    if user is not None:
        reached = User.failed_logins + 1 >= _cfg("LOGIN_LOCK_FAILURES")
        until = utcnow() + timedelta(minutes=_cfg("LOGIN_LOCK_MINUTES"))
        _sign_in_counters(
            user,
            failed_logins=case((reached, 0), else_=User.failed_logins + 1),
            locked_until=case((reached, until), else_=User.locked_until),
        )
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
        # Only if no sign-in in parallel has rehashed it already (that one's hash stands).
        old = user.password_hash
        db.session.execute(
            update(User)
            .where(User.id == user.id, User.password_hash == old)
            .values(password_hash=passwords.hash_password(password))
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(user, ["password_hash"])
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
    # Only while the password this sign-in checked still stands and the account is active: a
    # password changed or reset meanwhile ended every session, and this one must not start after.
    started = _sign_in_counters(
        user,
        User.password_hash == user.password_hash,
        User.active.is_(True),
        failed_logins=0,
        locked_until=None,
        last_login_at=utcnow(),
    )
    if not started:
        raise SignInFailed(generic_failure())
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
    expired = now - sess.last_seen_at > idle_limit(user) or now - sess.created_at > absolute
    if reading() and (expired or now - sess.last_seen_at > timedelta(seconds=60)):
        begin_writing(db.session)  # then read again, in the writer's transaction
        return resume_session(token)
    if expired:
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
    """End every session; her API tokens go with them (deactivation, password change or reset)."""
    from casework.api.tokens import revoke_all

    revoke_all(user, reason)
    return db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount


# --- Own account ------------------------------------------------------------------------------


def check_new_password(user: User, new_password: str) -> None:
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
    check_new_password(user, new_password)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    ended = end_all_sessions(user, "password_changed")
    audit.record(user, Tag.PASSWORD_CHANGE, user, sessions_ended=ended)


def begin_totp_enrolment(user: User) -> bytes:
    """Give the user a fresh seed to add to her authenticator app (not active until confirmed)."""
    begin_writing(db.session)  # the set-up page (a GET) stores the seed
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
