"""Signed checkpoints: made every 1,000 events (or 10 minutes, or on demand), exportable, and
verification against an exported one reveals a truncated or rewritten tail."""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from casework import audit
from casework.audit import Tag, checkpoints
from casework.audit.models import AuditCheckpoint, AuditEvent
from casework.audit.service import event_hash
from casework.crypto import signing
from casework.crypto.keyring import parse_keyring
from casework.db import utcnow
from casework.extensions import db
from tests.audit.chain import event_count, guards_lifted, make_chain, tamper


def _seqs() -> list[int]:
    return list(db.session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)))


def test_a_checkpoint_is_signed_every_1000_events(ctx):
    for _ in range(1001):
        audit.record(None, Tag.ACCESS_REFUSED, outcome="refused")
    db.session.commit()
    # The first event has nothing before it to wait for; then every thousandth.
    assert _seqs() == [1, 1000]
    keyring = current_app.config["MASTER_KEYRING"]
    signer = signing.signer_for(keyring.primary)
    for cp in db.session.scalars(select(AuditCheckpoint)):
        assert (cp.algorithm, cp.key_id, cp.public_key) == ("ed25519", signer.key_id, signer.public)
        assert cp.hash == db.session.get(AuditEvent, cp.seq).hash
        assert checkpoints.signature_valid(keyring, cp)


def test_a_checkpoint_is_signed_at_the_first_event_ten_minutes_after_the_last(ctx, monkeypatch):
    audit.record(None, Tag.KEYS_INIT)
    audit.record(None, Tag.KEYS_INIT)
    later = utcnow() + timedelta(minutes=10, seconds=1)
    monkeypatch.setattr(checkpoints, "utcnow", lambda: later)
    audit.record(None, Tag.KEYS_INIT)
    audit.record(None, Tag.KEYS_INIT)
    db.session.commit()
    assert _seqs() == [1, 3]


def test_a_checkpoint_made_on_demand_covers_its_own_event(app):
    with app.app_context():
        make_chain(20)
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        head = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        assert head.tag == Tag.AUDIT_CHECKPOINT_CREATE.value
        assert _seqs()[-1] == head.seq
        assert f"Đã ký mốc kiểm chứng tại sự kiện số {head.seq} bằng khóa" in result.stdout


def test_a_signature_holds_for_exactly_what_was_signed(ctx):
    audit.record(None, Tag.KEYS_INIT)
    db.session.commit()
    keyring = current_app.config["MASTER_KEYRING"]
    head = checkpoints.parse_export(checkpoints.export_text(checkpoints.latest()))
    assert checkpoints.signature_valid(keyring, head)
    for change in (
        {"seq": head.seq + 1},
        {"hash": bytes(32)},
        {"at": head.at + timedelta(microseconds=1)},
        {"key_id": "ck-0000000000000000"},
        {"signature": bytes(64)},
        {"signature": head.signature[:32]},
        {"algorithm": "hmac-sha256"},
        {"algorithm": "none"},
    ):
        assert not checkpoints.signature_valid(keyring, dataclasses.replace(head, **change))
    other_key = base64.b64encode(secrets.token_bytes(32)).decode()
    other = parse_keyring(
        json.dumps({"primary": "mk-test", "keys": [{"id": "mk-test", "key": other_key}]})
    )
    assert not checkpoints.signature_valid(other, head)


def test_the_signing_key_is_derived_from_the_master_key_for_checkpoints_alone(ctx):
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from casework.crypto import secretbox

    master = current_app.config["MASTER_KEYRING"].primary
    signer = signing.signer_for(master)
    again = signing.signer_for(master)  # every process derives the same key
    assert (signer.key_id, signer.public) == (again.key_id, again.public)
    assert signer.key_id == signing.key_id_of(signer.public)
    seed = signer.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert seed != master.material and len(seed) == 32
    assert seed != secretbox._derive(master.material, "audit/checkpoint")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "dòng đầu tiên phải là 'casework audit checkpoint v2'"),
        ("hello\n", "dòng đầu tiên phải là 'casework audit checkpoint v2'"),
        ("casework audit checkpoint v1\nseq: x\n", "một trường bị sai định dạng"),
    ],
)
def test_a_malformed_checkpoint_file_is_refused(app, tmp_path, text, reason):
    path = tmp_path / "cp.txt"
    path.write_text(text, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoint", str(path)])
    assert result.exit_code == 1
    assert f"không phải là tệp mốc kiểm chứng: {reason}" in result.output
    with app.app_context():
        run = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        assert (run.tag, run.outcome) == (Tag.AUDIT_CHAIN_VERIFY.value, "error")


def _export(app, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "checkpoint.txt"
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint", "--export", str(path)])
    assert result.exit_code == 0, result.output
    return path, checkpoints.parse_export(path.read_text(encoding="utf-8"))


def _verify(app, path=None):  # type: ignore[no-untyped-def]
    args = ["audit", "verify"] + (["--checkpoint", str(path)] if path else [])
    return app.test_cli_runner().invoke(args=args)


def test_an_exported_checkpoint_of_an_intact_log_verifies(app, tmp_path):
    with app.app_context():
        make_chain(30)
    path, _head = _export(app, tmp_path)
    with app.app_context():
        make_chain_more(5)
    result = _verify(app, path)
    assert result.exit_code == 0, result.output
    assert "Nhật ký kiểm tra nguyên vẹn" in result.stdout


def make_chain_more(n: int) -> None:
    for _ in range(n):
        audit.record(None, Tag.KEYS_INIT)
    db.session.commit()


def test_truncation_of_the_tail_is_detected_against_an_exported_checkpoint(app, tmp_path):
    with app.app_context():
        make_chain(30)
    path, head = _export(app, tmp_path)
    with app.app_context():
        make_chain_more(10)
        # The attacker removes the last events and every checkpoint that names them.
        cut = head.seq - 4
        tamper(
            "DELETE FROM audit_checkpoint WHERE seq > :cut",
            "DELETE FROM audit_event WHERE seq > :cut",
            cut=cut,
        )
        assert event_count() == cut
    # What is left is a perfectly valid chain: only the outside copy can tell.
    assert _verify(app).exit_code == 0
    result = _verify(app, path)
    assert result.exit_code == 1
    # That run's own event is now seq cut + 1: the events the checkpoint names are gone after it.
    assert f"BỊ HỎNG tại sự kiện số {cut + 2}:" in result.stdout
    assert f"các sự kiện từ số {cut + 2} đến số {head.seq} đã bị xóa" in result.stdout


def test_a_rewritten_tail_is_detected_against_an_exported_checkpoint(app, tmp_path):
    with app.app_context():
        make_chain(30)
    path, head = _export(app, tmp_path)
    with app.app_context():
        cut = head.seq - 3
        tamper(
            "DELETE FROM audit_checkpoint WHERE seq > :cut",
            "DELETE FROM audit_event WHERE seq > :cut",
            cut=cut,
        )
        # A forged continuation with correct hashes (the chain itself needs no key).
        monkey = pytest.MonkeyPatch()
        monkey.setattr(checkpoints, "due", lambda seq, last_at: False)
        make_chain_more(6)
        monkey.undo()
        forged = db.session.get(AuditEvent, head.seq)
        assert forged.hash == event_hash(forged) and forged.hash != head.hash
    assert _verify(app).exit_code == 0
    result = _verify(app, path)
    assert result.exit_code == 1
    assert f"BỊ HỎNG tại sự kiện số {head.seq}:" in result.stdout
    assert "khác với giá trị đã ký trong mốc kiểm chứng đã xuất" in result.stdout


def test_a_stored_checkpoint_beyond_the_end_reveals_truncation_without_an_export(app):
    with app.app_context():
        make_chain(30)
        last = checkpoints.checkpoint_now(None).seq
        db.session.commit()
        # Events removed, checkpoints left (foreign keys off, as a careless attacker might).
        if db.engine.dialect.name == "sqlite":
            with guards_lifted():
                raw = db.engine.raw_connection()
                try:
                    # Outside a transaction, where SQLite lets the pragma take effect.
                    raw.execute("PRAGMA foreign_keys=OFF")
                    raw.execute("DELETE FROM audit_event WHERE seq > ?", (last - 2,))
                    raw.execute("PRAGMA foreign_keys=ON")
                finally:
                    raw.close()
        else:
            tamper(
                "SET session_replication_role = replica",
                "DELETE FROM audit_event WHERE seq > :cut",
                "SET session_replication_role = DEFAULT",
                cut=last - 2,
            )
    result = _verify(app)
    assert result.exit_code == 1
    assert f"BỊ HỎNG tại sự kiện số {last - 1}:" in result.stdout


def test_a_forged_exported_checkpoint_is_refused(app, tmp_path):
    with app.app_context():
        make_chain(20)
    path, head = _export(app, tmp_path)
    text = path.read_text(encoding="utf-8").replace(head.hash.hex(), bytes(32).hex())
    path.write_text(text, encoding="utf-8")
    result = _verify(app, path)
    assert result.exit_code == 1
    assert "mốc kiểm chứng đã xuất (sự kiện số" in result.stdout
    assert "không có chữ ký hợp lệ" in result.stdout


def test_checkpoint_export_to_the_screen_is_a_small_text(app):
    with app.app_context():
        make_chain(10)
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint", "--export", "-"])
    assert result.exit_code == 0
    head = checkpoints.parse_export(result.stdout)
    assert len(result.stdout.splitlines()) == 8 and head.algorithm == "ed25519"
    # The file carries its public key: it checks on its own, with nothing from this server.
    assert head.key_id == signing.key_id_of(head.public_key)
    assert checkpoints.valid_on_its_own(head)
    assert not checkpoints.valid_on_its_own(dataclasses.replace(head, seq=head.seq + 1))
