"""Master keys: 32 bytes each, named by an id, one of them primary, kept outside the database.

The keyring comes from the CASEWORK_MASTER_KEYS environment variable or from
instance/keys/master.json, both in the same JSON form::

    {"primary": "mk-20261129-1a2b", "keys": [{"id": "mk-20261129-1a2b", "key": "<base64>"}],
     "checkpoint_keys": [{"id": "ck-…", "public": "<base64>", "upto_seq": 41000}]}

`checkpoint_keys` (optional) holds public keys only: the audit-checkpoint signing keys of master keys
that have been retired, each trusted for the checkpoints it signed up to `upto_seq` (see
docs/audit.md). Rotation writes them; nothing secret is in them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import lazy_gettext as _l

KEY_BYTES = 32


class KeyringError(Exception):
    """The master keyring is missing or malformed."""


class UnknownKey(KeyringError):
    """A stored value names a master key that the keyring does not hold."""


@dataclass(frozen=True)
class MasterKey:
    id: str
    material: bytes = field(repr=False)


@dataclass(frozen=True)
class RetiredSigner:
    """The public half of a retired master key's checkpoint signing key, and how far it vouches."""

    id: str
    public: bytes
    upto_seq: int


@dataclass(frozen=True)
class Keyring:
    primary_id: str
    keys: dict[str, MasterKey] = field(repr=False)
    retired_signers: dict[str, RetiredSigner] = field(default_factory=dict)

    @property
    def primary(self) -> MasterKey:
        return self.keys[self.primary_id]

    def get(self, key_id: str) -> MasterKey:
        """Return the key with this id; the id is stored with every wrapped value."""
        try:
            return self.keys[key_id]
        except KeyError:
            raise UnknownKey(f"unknown master key id {key_id!r}") from None


def parse_keyring(text: str) -> Keyring:
    try:
        data = json.loads(text)
        primary = data["primary"]
        entries = data["keys"]
    except (ValueError, KeyError, TypeError):
        raise KeyringError(
            _l(
                "The master keyring is not valid JSON of the form %(form)s.",
                form='{"primary": ID, "keys": [{"id": ID, "key": BASE64}]}',
            )
        ) from None
    keys: dict[str, MasterKey] = {}
    for entry in entries:
        try:
            key_id = str(entry["id"])
            material = base64.b64decode(entry["key"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            raise KeyringError(
                _l("A master key entry is malformed (need id and base64 key).")
            ) from None
        if len(material) != KEY_BYTES:
            raise KeyringError(
                _l(
                    "Master key %(key)s has %(size)d bytes; exactly %(required)d are required.",
                    key=repr(key_id),
                    size=len(material),
                    required=KEY_BYTES,
                )
            )
        if key_id in keys:
            raise KeyringError(_l("Master key id %(key)s appears twice.", key=repr(key_id)))
        keys[key_id] = MasterKey(key_id, material)
    if primary not in keys:
        raise KeyringError(
            _l("The primary master key %(key)s is not in the keyring.", key=repr(primary))
        )
    return Keyring(primary, keys, _retired_signers(data.get("checkpoint_keys", [])))


def _retired_signers(entries: object) -> dict[str, RetiredSigner]:
    signers: dict[str, RetiredSigner] = {}
    try:
        for entry in entries:  # type: ignore[attr-defined]
            public = base64.b64decode(entry["public"], validate=True)
            signer = RetiredSigner(str(entry["id"]), public, int(entry["upto_seq"]))
            if len(public) != KEY_BYTES or signer.upto_seq < 0 or signer.id in signers:
                raise ValueError
            signers[signer.id] = signer
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise KeyringError(
            _l(
                "A checkpoint_keys entry is malformed (need a unique id, a 32-byte base64 public "
                "key and upto_seq)."
            )
        ) from None
    return signers


def load_keyring(env_value: str | None, path: Path) -> Keyring:
    """Load from the environment value if given, otherwise from the file; fail when neither."""
    if env_value:
        return parse_keyring(env_value)
    if not path.is_file():
        raise KeyringError(
            _l(
                "No master key: set CASEWORK_MASTER_KEYS or create %(file)s "
                "(`casework keys init` writes a new one).",
                file=str(path),
            )
        )
    return parse_keyring(path.read_text(encoding="utf-8"))


def new_key_id() -> str:
    return f"mk-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def keyring_json(keyring: Keyring) -> str:
    data: dict[str, object] = {
        "primary": keyring.primary_id,
        "keys": [
            {"id": k.id, "key": base64.b64encode(k.material).decode("ascii")}
            for k in keyring.keys.values()
        ],
    }
    if keyring.retired_signers:
        data["checkpoint_keys"] = [
            {
                "id": s.id,
                "public": base64.b64encode(s.public).decode("ascii"),
                "upto_seq": s.upto_seq,
            }
            for s in keyring.retired_signers.values()
        ]
    return json.dumps(data, indent=2)


def write_new_keyring(path: Path) -> Keyring:
    """Create a keyring file with one fresh primary key, readable by its owner only."""
    key = MasterKey(new_key_id(), secrets.token_bytes(KEY_BYTES))
    keyring = Keyring(key.id, {key.id: key})
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(keyring_json(keyring))
    return keyring
