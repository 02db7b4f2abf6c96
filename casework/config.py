"""Configuration: defaults → instance/config.py → CASEWORK_* environment. Fails closed.

Outside development and testing the app refuses to start without its secret key and its master
keyring; nothing here holds a default secret.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from casework.crypto.keyring import Keyring, KeyringError, load_keyring, write_new_keyring


class ConfigError(Exception):
    """The configuration is missing or invalid; the app must not start."""


ENVIRONMENTS = ("production", "development", "testing")

DEFAULTS: dict[str, Any] = {
    "ENV_NAME": "production",
    "SQLALCHEMY_DATABASE_URI": None,  # default: SQLite in the instance folder
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SQLALCHEMY_RECORD_QUERIES": False,
    # Languages: Vietnamese first.
    "BABEL_DEFAULT_LOCALE": "vi",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
    "LANGUAGES": ["vi", "en"],
    # Sessions (SECURITY.md: idle 30 min, 15 for admins; absolute 12 h).
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_IDLE_MINUTES_ADMIN": 15,
    "SESSION_ABSOLUTE_HOURS": 12,
    "SESSION_COOKIE_NAME": "casework_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Strict",
    "SESSION_COOKIE_SECURE": True,
    "PREFERRED_URL_SCHEME": "https",
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the (bounded) session
    # Pages send no Referer (Referrer-Policy: no-referrer), so Flask-WTF's Referer check would refuse
    # every HTTPS form; security.py checks Origin and Sec-Fetch-Site instead.
    "WTF_CSRF_SSL_STRICT": False,
    # Login throttling.
    "LOGIN_LOCK_FAILURES": 5,
    "LOGIN_LOCK_MINUTES": 15,
    "ADDRESS_THROTTLE_FAILURES": 30,
    "ADDRESS_THROTTLE_WINDOW_MINUTES": 10,
    "ADDRESS_THROTTLE_BLOCK_MINUTES": 10,
    "PASSWORD_MIN_LENGTH": 12,  # nosec B105  # a setting's name, not a secret
    # argon2id parameters (SECURITY.md): 64 MiB, 3 passes, 4 lanes.
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_KIB": 65536,
    "ARGON2_PARALLELISM": 4,
    # Second factor: which roles need it. Officers are configurable.
    "TOTP_REQUIRED_ROLES": ["reviewer", "partner", "auditor", "admin"],
    "TOTP_ISSUER": "casework",
    "RECOVERY_CODE_COUNT": 10,
    # Unit levels, from the top. The national tree since 2025 skips "district".
    "UNIT_LEVELS": ["central", "province", "district", "commune"],
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    # JSON API: token lifetime (days, at most), requests per token per minute, body size (bytes).
    "API_TOKEN_MAX_DAYS": 90,  # nosec B105  # a setting's name, not a secret
    "API_RATE_PER_MINUTE": 120,
    "API_MAX_CONTENT_LENGTH": 64 * 1024,
    # Decision 2605 workflow (DOMAIN.md defaults): which severities need a quick report, how fast,
    # and which go on to central.
    "QUICK_REPORT_SEVERITIES": ["S3", "S4"],
    "QUICK_REPORT_CENTRAL_SEVERITIES": ["S4"],
    "QUICK_REPORT_HOURS": 24,
    # Deadlines in hours unless named otherwise (DOMAIN.md "Timers the software watches").
    "DEADLINE_HOURS": {
        "notify_commune_chair": 1,
        "report_child_abuse": 1,
        "child_emergency": 12,
        "contact_ban_decision": 12,
        "medical_referral_pep": 72,
        "medical_referral_ec": 120,
        "referral_answer": 48,
    },
    "CHILD_PLAN_WORKING_DAYS": 5,
    # A contact ban lasts at most this many days (DV law art. 25): her safety is checked before.
    "CONTACT_BAN_DAYS": 3,
    # Public holidays (ISO dates) skipped by working-day deadlines, besides Saturdays and Sundays.
    "PUBLIC_HOLIDAYS": [],
    "SECRET_KEY": None,  # nosec B105  # a setting's name, not a secret
    "MASTER_KEYRING": None,  # a Keyring, loaded below
    "MASTER_KEYRING_FILE": None,  # default instance/keys/master.json; None once loaded from env
    "SHRED_LEDGER_FILE": None,  # default instance/shred-ledger.jsonl (keep it out of DB backups)
    "ATTACHMENT_DIR": None,  # default instance/attachments (encrypted files only)
    "FOLLOW_UP_DAYS": {"imminent": 1, "high": 2, "medium": 7, "low": 30},  # by risk (DOMAIN)
    # Reports: counts from 1 to this minus one are shown as "< 5" beyond the reader's own unit.
    "REPORT_SUPPRESS_BELOW": 5,
    # Retention (docs/operations.md): whole years after closure before a closed case's personal
    # data is crypto-shredded, by case type ("main" or "main.sub"); a case of several types keeps
    # the longest period. Defaults: confirm them with the Union's legal department.
    "RETENTION_DEFAULT_YEARS": 5,
    "RETENTION_YEARS": {
        "domestic_violence": 5,
        "sexual_violence": 10,
        "child_abuse": 15,
        "trafficking": 15,
        "child_marriage": 10,
        "family_dispute": 5,
        "labour_rights": 3,
        "land_property": 5,
        "social_policy": 3,
        "online_violence": 5,
    },
    # Legal holds are set and lifted by reviewers of units at these levels supervising the case.
    "LEGAL_HOLD_LEVELS": ["central", "province"],
    # The controller named in the processing register (Decree 356 impact-assessment file).
    "CONTROLLER_NAME": "Hội Liên hiệp Phụ nữ Việt Nam",
    "DATA_PROTECTION_CONTACT": None,  # the data-protection officer's contact, as published
}


def _read_secret_file(path: Path) -> str | None:
    if path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        return value or None
    return None


def _apply_environment(app: Flask) -> None:
    """Read CASEWORK_* variables (values parsed as JSON where they are JSON)."""
    app.config.from_prefixed_env("CASEWORK")
    url = app.config.pop("DATABASE_URL", None)
    if url:
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    env_name = app.config.pop("ENV", None)
    if env_name:
        app.config["ENV_NAME"] = env_name


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill app.config in order and refuse to continue when a required secret is missing."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        _apply_environment(app)
    else:
        # Tests never read the environment: a developer's CASEWORK_DATABASE_URL must not be wiped.
        app.config["ENV_NAME"] = "testing"
        app.config.update(test_config)

    env_name = app.config["ENV_NAME"]
    if env_name not in ENVIRONMENTS:
        raise ConfigError(
            _l(
                "CASEWORK_ENV must be one of %(names)s, not %(name)s",
                names=", ".join(ENVIRONMENTS),
                name=repr(env_name),
            )
        )
    development = env_name == "development"
    instance = Path(app.instance_path)

    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'casework.db'}"

    if development:
        # Plain http on 127.0.0.1: browsers would drop a Secure cookie on some setups.
        app.config["SESSION_COOKIE_SECURE"] = False
        app.config["PREFERRED_URL_SCHEME"] = "http"

    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _read_secret_file(instance / "secret_key")
    if not app.config["SECRET_KEY"] and development:
        instance.mkdir(parents=True, exist_ok=True)
        path = instance / "secret_key"
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        os.chmod(path, 0o600)
        app.logger.warning("DEVELOPMENT secret key created at %s: never use it in production", path)
        app.config["SECRET_KEY"] = _read_secret_file(path)
    if not app.config["SECRET_KEY"]:
        raise ConfigError(
            _l(
                "No secret key: set CASEWORK_SECRET_KEY or write one to instance/secret_key "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        )
    if len(str(app.config["SECRET_KEY"])) < 32:
        raise ConfigError(_l("The secret key is too short: use at least 32 random characters."))

    if not isinstance(app.config["MASTER_KEYRING"], Keyring):
        keyring_path = Path(app.config["MASTER_KEYRING_FILE"] or instance / "keys" / "master.json")
        try:
            raw = os.environ.get("CASEWORK_MASTER_KEYS") if test_config is None else None
            if raw is None and not keyring_path.exists() and development:
                write_new_keyring(keyring_path)
                app.logger.warning(
                    "DEVELOPMENT master key created at %s: never use it in production",
                    keyring_path,
                )
            app.config["MASTER_KEYRING"] = load_keyring(raw, keyring_path)
        except KeyringError as exc:
            raise ConfigError(exc) from exc  # its message, worded when shown
        # Where the keyring came from: `keys rotate` rewrites this file, running apps reload it.
        app.config["MASTER_KEYRING_FILE"] = None if raw else str(keyring_path)
