"""Password hashing (argon2id) and the strength rule: 12+ characters, not a common password."""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app


def hasher() -> PasswordHasher:
    cfg = current_app.config
    return _hasher(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_KIB"], cfg["ARGON2_PARALLELISM"])


@cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)


_DUMMY: dict[tuple[int, int, int], str] = {}


def burn_verification_time(password: str) -> None:
    """Spend the time of one verification, so an unknown username answers as slowly as a known one."""
    cfg = current_app.config
    key = (cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_KIB"], cfg["ARGON2_PARALLELISM"])
    if key not in _DUMMY:
        _DUMMY[key] = hasher().hash("casework-timing-equaliser")
    verify_password(_DUMMY[key], password)


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("casework.data").joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Reasons this password is refused, as message ids for the caller to translate."""
    from flask_babel import gettext as _

    problems = []
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < min_length:
        problems.append(_("Use at least %(n)d characters.", n=min_length))
    folded = password.casefold()
    if folded in common_passwords() or len(set(folded)) <= 3:
        problems.append(_("This password is too common or too simple; choose another."))
    if username and len(username) >= 3 and username.casefold() in folded:
        problems.append(_("The password must not contain your username."))
    return problems
