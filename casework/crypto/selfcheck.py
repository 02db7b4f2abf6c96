"""The start-up self-check: refuse to serve with keys that cannot read the data.

Cheap enough for every start (a few indexed queries and one unwrap per master key in use):
1. the keyring is present and every key has 32 bytes (load_config already refuses otherwise);
2. the code still decrypts a known-answer value (a committed vector under a test-only key);
3. every master key id named by a data key, a sealed second-factor seed or an HMAC audit checkpoint is
   in the keyring;
4. for every master key in use, one of the data keys it wraps unwraps (AES key wrap carries its own
   integrity check: a wrong key with the right id fails here, not at the first case opened);
5. the shred ledger lists no owner whose key is alive (a backup restored without replaying it).
"""

from __future__ import annotations

import base64

from flask import Flask
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from casework.crypto import cipher, datakeys, secretbox, shredding
from casework.crypto.errors import CryptoError
from casework.crypto.keyring import MasterKey
from casework.crypto.models import DataKey
from casework.extensions import db

# A test-only key and one of the golden vectors (tests/crypto/golden_vectors.json): not a secret.
KAT_MASTER = MasterKey("mk-golden-test-only", bytes(range(32)))
KAT_WRAPPED = "EOyBOYCNAFwqTN8KaiXtKNKPfJiCf3dvpXQC7XLnPYAeKnUkS7gmyw=="
KAT_BINDING = cipher.Binding("field", "golden", "value", "00000000-0000-4000-8000-000000000000")
KAT_CIPHERTEXT = "AQEAAAAB3NgKU2rOfmfLwewjldtr2EIPU9IfwVximsVEV0OgGcWGF1nXH2HiiA=="
KAT_PLAINTEXT = b"known answer"


class SelfCheckFailed(Exception):
    """Raised inside the check; create_app turns it into a ConfigError."""


def known_answer() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        key = datakeys.unwrap(datakeys.kek(KAT_MASTER), base64.b64decode(KAT_WRAPPED))
        plain = cipher.decrypt(AESGCM(key), KAT_BINDING, base64.b64decode(KAT_CIPHERTEXT))
    except CryptoError as exc:
        raise SelfCheckFailed(
            _l("the known-answer value does not decrypt (%(error)s)", error=type(exc).__name__)
        ) from None
    if plain != KAT_PLAINTEXT:
        raise SelfCheckFailed(_l("the known-answer value decrypted to something else"))


def _distinct(column: object, table: object) -> list[str]:
    """Distinct values of an indexed column by skip scan: cheap however many rows there are."""
    found: list[str] = []
    while True:
        query = select(func.min(column)).select_from(table)  # type: ignore[arg-type]
        if found:
            query = query.where(column > found[-1])  # type: ignore[operator]
        value = db.session.scalar(query)
        if value is None:
            return found
        found.append(value)


def _keys_in_use(tables: set[str]) -> dict[str, LazyString]:
    """Master key id → what uses it (first user found)."""
    used: dict[str, LazyString] = {}
    for key_id in _distinct(DataKey.master_key_id, DataKey):
        used.setdefault(key_id, _l("data keys"))
    if "user_account" in tables:
        rows = db.session.execute(
            text("SELECT totp_secret_sealed FROM user_account WHERE totp_secret_sealed IS NOT NULL")
        )
        for (blob,) in rows:
            try:
                used.setdefault(secretbox.key_id_of(bytes(blob)), _l("second-factor seeds"))
            except CryptoError:
                raise SelfCheckFailed(_l("a sealed second-factor seed is malformed")) from None
    if "data_breach" in tables:
        for (blob,) in db.session.execute(text("SELECT description_sealed FROM data_breach")):
            try:
                used.setdefault(secretbox.key_id_of(bytes(blob)), _l("breach descriptions"))
            except CryptoError:
                raise SelfCheckFailed(_l("a sealed breach description is malformed")) from None
    if "audit_checkpoint" in tables:
        # Ed25519 checkpoints name a signing key, not a master key: only the older HMAC ones count.
        # A database not yet upgraded has no algorithm column, and every checkpoint there is HMAC:
        # the check must pass so that `casework init` can start and upgrade it.
        columns = {
            c["name"] for c in inspect(db.session.connection()).get_columns("audit_checkpoint")
        }
        legacy = "SELECT DISTINCT key_id FROM audit_checkpoint"
        if "algorithm" in columns:
            legacy += " WHERE algorithm = 'hmac-sha256'"
        for (key_id,) in db.session.execute(text(legacy)):
            used.setdefault(key_id, _l("audit checkpoints"))
    return used


def check_database(app: Flask) -> None:
    keyring = app.config["MASTER_KEYRING"]
    tables = set(inspect(db.session.connection()).get_table_names())
    if "data_key" not in tables:
        return  # not migrated yet: `casework init` is about to create the tables
    for key_id, user in sorted(_keys_in_use(tables).items()):
        if key_id not in keyring.keys:
            raise SelfCheckFailed(
                _l(
                    "%(what)s are protected by master key %(key)s, which the keyring does not "
                    "hold: restore the keyring file that has it (see docs/crypto.md)",
                    what=user,
                    key=repr(key_id),
                )
            )
    for key_id in _distinct(DataKey.master_key_id, DataKey):
        wrapped = db.session.scalar(
            select(DataKey.wrapped_key).where(DataKey.master_key_id == key_id).limit(1)
        )
        try:
            datakeys.unwrap(datakeys.kek(keyring.get(key_id)), wrapped)  # type: ignore[arg-type]
        except CryptoError:
            raise SelfCheckFailed(
                _l(
                    "master key %(key)s does not unwrap the data keys stored under its id: the "
                    "keyring file holds a different key with that id",
                    key=repr(key_id),
                )
            ) from None
    owners = {(e.owner_kind, e.owner_id) for e in shredding.read_ledger()}
    alive = datakeys.owners_with_live_keys(db.session(), owners)
    if alive:
        raise SelfCheckFailed(
            _l(
                "the shred ledger lists %(count)d owner(s) whose data keys exist again (a restored "
                "backup?): run `casework keys replay-ledger` before starting",
                count=len(alive),
            )
        )


def run(app: Flask) -> None:
    """Raise ConfigError, with a message for the operator, when the keys cannot serve."""
    from casework.config import ConfigError

    try:
        known_answer()
        with app.app_context():
            try:
                check_database(app)
            finally:
                db.session.remove()
                # No pooled connection outlives the check: a pre-forking server must not share it.
                db.engine.dispose()
    except (SelfCheckFailed, CryptoError, ValueError) as exc:  # ValueError: a malformed ledger line
        raise ConfigError(_l("Encryption self-check failed: %(reason)s", reason=exc)) from None
    except SQLAlchemyError as exc:
        raise ConfigError(
            _l(
                "Encryption self-check could not read the database (%(error)s)",
                error=type(exc).__name__,
            )
        ) from None
