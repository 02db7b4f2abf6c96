"""Checkpoint signing keys outlive their master keys: once a rotation retires the master key that
signed them, old checkpoints (stored and exported) still verify with the public key kept in the
keyring file. A key slipped into the database, a file signed by a stranger's key, and a retired key
used for anything newer than what it signed are refused. Older HMAC checkpoints still verify."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask
from sqlalchemy import insert, select

from casework import audit
from casework.audit import Tag, checkpoints
from casework.audit.models import AuditCheckpoint, AuditEvent
from casework.audit.verify import verify_database
from casework.crypto import rotation, signing
from casework.crypto.keyring import KeyringError, keyring_json, load_keyring, parse_keyring
from casework.db import utcnow
from casework.extensions import db


def _events(n: int) -> AuditEvent:
    for _ in range(n):
        event = audit.record(None, Tag.KEYS_INIT)
    db.session.commit()
    return event


def _insert(head: checkpoints.SignedHead) -> None:
    """What an attacker with write access to the database can do (the guards allow INSERT)."""
    values = {
        name: getattr(head, name)
        for name in ("seq", "hash", "at", "key_id", "signature", "algorithm", "public_key")
    }
    db.session.execute(insert(AuditCheckpoint.__table__), values)
    db.session.commit()


def _signed_by(private: Ed25519PrivateKey, event: AuditEvent, key_id: str | None = None):  # type: ignore[no-untyped-def]
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    unsigned = checkpoints.SignedHead(
        event.seq, event.hash, utcnow(), key_id or signing.key_id_of(public), b"", "ed25519", public
    )
    return checkpoints.SignedHead(
        **{**vars(unsigned), "signature": private.sign(checkpoints.message(unsigned))}
    )


def _verify_file(app: Flask, path: Path):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoint", str(path)])


def test_old_checkpoints_verify_after_their_master_key_is_retired(cctx: Flask, tmp_path: Path):
    _events(5)
    old = checkpoints.checkpoint_now(None, exported=True)
    db.session.commit()
    exported = tmp_path / "old-checkpoint.txt"
    exported.write_text(checkpoints.export_text(old), encoding="utf-8")
    master = cctx.config["MASTER_KEYRING"].primary
    old_signer = signing.signer_for(master)

    report = rotation.run(cctx, grace_seconds=0)
    assert report.retired == [master.id] and report.kept == {}  # checkpoints no longer hold it
    keyring = cctx.config["MASTER_KEYRING"]
    assert master.id not in keyring.keys
    kept = keyring.retired_signers[old_signer.key_id]
    assert (kept.public, kept.upto_seq) == (old_signer.public, old.seq)
    on_disk = load_keyring(None, Path(cctx.config["MASTER_KEYRING_FILE"]))
    assert on_disk.retired_signers == keyring.retired_signers
    assert "checkpoint_keys" in json.loads(Path(cctx.config["MASTER_KEYRING_FILE"]).read_text())

    _events(3)
    new = checkpoints.checkpoint_now(None)
    db.session.commit()
    assert new.key_id == signing.signer_for(keyring.primary).key_id != old.key_id
    result = verify_database()
    assert result.ok, result.problems
    assert result.checkpoints_checked == db.session.scalar(
        select(db.func.count()).select_from(AuditCheckpoint)
    )
    outside = _verify_file(cctx, exported)
    assert outside.exit_code == 0, outside.output
    listed = cctx.test_cli_runner().invoke(args=["audit", "keys"]).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [new.key_id, old_signer.key_id]
    assert "chính (khóa chủ" in listed[0]
    assert f"đã thôi dùng: ký các mốc kiểm chứng đến sự kiện số {old.seq}" in listed[1]


def test_a_retired_key_cannot_vouch_for_anything_newer_than_it_signed(cctx: Flask):
    _events(3)
    master = cctx.config["MASTER_KEYRING"].primary
    rotation.run(cctx, grace_seconds=0)
    later = _events(4)
    # The retired master key leaks (an old backup): a new checkpoint signed with it is refused.
    _insert(_signed_by(signing.signer_for(master).private, later))
    result = verify_database()
    assert [p.seq for p in result.problems] == [later.seq]
    assert "không có chữ ký hợp lệ" in result.problems[0].what


def test_a_checkpoint_signed_with_a_key_put_into_the_database_is_refused(cctx: Flask):
    event = _events(5)
    attacker = Ed25519PrivateKey.generate()
    _insert(_signed_by(attacker, event))
    result = verify_database()
    assert [p.seq for p in result.problems] == [event.seq]
    assert "không có chữ ký hợp lệ" in result.problems[0].what
    # Nor does borrowing the id of the key the instance trusts help.
    trusted_id = signing.signer_for(cctx.config["MASTER_KEYRING"].primary).key_id
    forged = _signed_by(attacker, _events(2), key_id=trusted_id)
    assert not checkpoints.signature_valid(cctx.config["MASTER_KEYRING"], forged)


def test_an_exported_file_signed_by_a_stranger_is_refused(cctx: Flask, tmp_path: Path):
    event = _events(5)
    forged = _signed_by(Ed25519PrivateKey.generate(), event)
    assert checkpoints.valid_on_its_own(forged)  # a well-formed file, by an unknown key
    path = tmp_path / "forged.txt"
    path.write_text(checkpoints.export_text(forged), encoding="utf-8")
    result = _verify_file(cctx, path)
    assert result.exit_code == 1
    assert "không có chữ ký hợp lệ (hoặc khóa đã ký không được nhận biết)" in result.stdout


def _legacy_checkpoint(event: AuditEvent, master_id: str, material: bytes) -> None:
    """A checkpoint as signed before Ed25519: HMAC-SHA256 under a key derived from the master key."""
    at = utcnow()
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=checkpoints.LEGACY_HKDF_INFO
    ).derive(material)
    signed = checkpoints._message(checkpoints.LEGACY_DOMAIN, event.seq, event.hash, at, master_id)
    mac = hmac.new(key, signed, hashlib.sha256).digest()
    _insert(checkpoints.SignedHead(event.seq, event.hash, at, master_id, mac, "hmac-sha256"))


def test_an_older_hmac_checkpoint_still_verifies_and_keeps_its_master_key(cctx: Flask):
    master = cctx.config["MASTER_KEYRING"].primary
    _legacy_checkpoint(_events(4), master.id, master.material)
    assert verify_database().ok
    report = rotation.run(cctx, grace_seconds=0)
    assert report.retired == [] and report.kept[master.id].checkpoints == 1
    assert verify_database().ok


def test_the_keyring_file_keeps_retired_public_keys_and_refuses_malformed_ones(cctx: Flask):
    _events(1)  # the first event is checkpointed: its signing key is kept at retirement
    rotation.run(cctx, grace_seconds=0)
    keyring = cctx.config["MASTER_KEYRING"]
    assert len(keyring.retired_signers) == 1
    assert parse_keyring(keyring_json(keyring)).retired_signers == keyring.retired_signers
    data = json.loads(keyring_json(keyring))
    for broken in ({"id": "ck-1", "public": "AAAA", "upto_seq": 3}, {"id": "ck-1"}):
        with pytest.raises(KeyringError, match="checkpoint_keys"):
            parse_keyring(json.dumps({**data, "checkpoint_keys": [broken]}))
