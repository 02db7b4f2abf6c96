"""Personal access tokens: create after the password, list, revoke, and find the one a request shows.

A token works until it expires, is revoked, or its owner's sessions are all ended (deactivation, a
password change or reset, a role change: accounts.service.end_all_sessions revokes them too).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from casework import audit
from casework.accounts import passwords
from casework.accounts.models import User
from casework.api.models import SCOPES, ApiToken
from casework.audit import Tag
from casework.db import begin_writing, reading, utcnow
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import Permission, require

SECRET_PREFIX = "cwp_"  # noqa: S105 (not a secret: makes tokens recognisable in a leaked file or to a secret scanner)  # nosec B105
PREFIX_SHOWN = 12
NAME_MAX = 80
# Writing last_used_at on every call would turn each read into a write; a minute's precision is enough.
LAST_USED_PRECISION = timedelta(seconds=60)


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def max_days() -> int:
    return int(current_app.config["API_TOKEN_MAX_DAYS"])


def create_token(
    user: User, *, name: str, scope: str, days: int, current_password: str
) -> tuple[ApiToken, str]:
    """A new token after the owner re-enters her password; returns it with its secret (shown once)."""
    require(user, Permission.ACCOUNT_SELF)
    if not passwords.verify_password(user.password_hash, current_password or ""):
        message = _l("The current password is not correct.")
        raise Invalid(message, current_password=message)
    label = (name or "").strip()
    if not label or len(label) > NAME_MAX:
        message = _l("Give the token a name of at most %(n)d characters.", n=NAME_MAX)
        raise Invalid(message, name=message)
    if scope not in SCOPES:
        message = _l("Choose a value from the list.")
        raise Invalid(message, scope=message)
    if not 1 <= days <= max_days():
        message = _l("A token lasts from 1 to %(n)d days.", n=max_days())
        raise Invalid(message, days=message)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        name=label,
        scope=scope,
        prefix=secret[:PREFIX_SHOWN],
        secret_hash=secret_hash(secret),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(user, Tag.API_TOKEN_CREATE, token, scope=scope, days=days)
    return token, secret


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too, for the record)."""
    require(user, Permission.ACCOUNT_SELF)
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def get_token(token_id: int) -> ApiToken | None:
    return db.session.get(ApiToken, token_id)


def revoke(actor: User, token: ApiToken) -> None:
    require(actor, Permission.ACCOUNT_SELF, token, hide=True)
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    token.revoke_reason = "revoked"
    db.session.flush()
    audit.record(actor, Tag.API_TOKEN_REVOKE, token, reason="revoked")


def revoke_all(user: User, reason: str) -> int:
    """Revoke every live token of the user (called wherever all her sessions end)."""
    ids = list(
        db.session.scalars(
            select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        )
    )
    if not ids:
        return 0
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id.in_(ids))
        .values(revoked_at=utcnow(), revoke_reason=reason[:32])
        .execution_options(synchronize_session=False)
    )
    for token_id in ids:
        # The event that ended the sessions names who did it; this one names the token.
        audit.record(
            None, Tag.API_TOKEN_REVOKE, object_type="api_token", object_id=token_id, reason=reason
        )
    return len(ids)


def authenticate(secret: str, now: datetime | None = None) -> ApiToken | None:
    """The usable token with this secret, or None (unknown, revoked, expired, owner deactivated)."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.secret_hash == secret_hash(secret)))
    now = now or utcnow()
    if token is None or not token.usable(now):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        if reading():
            begin_writing(db.session)  # then read again, in the writer's transaction
            return authenticate(secret, now)
        token.last_used_at = now
    return token
