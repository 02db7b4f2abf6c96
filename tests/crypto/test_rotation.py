"""Master-key rotation: resumable, safe under concurrent writes, retires the old key when unused."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from casework.accounts import service as accounts
from casework.accounts.service import TOTP_PURPOSE
from casework.crypto import blindindex, rotation, secretbox
from casework.crypto.keyring import load_keyring
from casework.crypto.models import DataKey
from casework.extensions import db
from tests.conftest import get_user, make_unit, make_user
from tests.crypto.conftest import make_crypto_app
from tests.crypto.models import Note, Victim


def _populate(people: int = 30) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    victims = [
        Victim(full_name=f"Nạn Nhân {i}", phone=f"09{i:08d}", id_number=f"0011{i:08d}")
        for i in range(people)
    ]
    notes = [Note(case_id=uuid.uuid4(), body=f"ghi chú {i}") for i in range(people // 2)]
    db.session.add_all(victims + notes)
    db.session.commit()
    return [v.id for v in victims], [n.id for n in notes]


def _all_readable(victims: list[uuid.UUID], notes: list[uuid.UUID]) -> None:
    db.session.remove()
    for i, ident in enumerate(victims):
        row = db.session.get(Victim, ident)
        assert (row.full_name, row.phone) == (f"Nạn Nhân {i}", f"09{i:08d}")
    for i, ident in enumerate(notes):
        assert db.session.get(Note, ident).body == f"ghi chú {i}"


def _keyring_file(app: Flask) -> dict[str, object]:
    return json.loads(Path(app.config["MASTER_KEYRING_FILE"]).read_text())


def test_rotation_moves_every_data_key_and_retires_the_old_key(cctx: Flask) -> None:
    victims, notes = _populate()
    old = cctx.config["MASTER_KEYRING"].primary_id
    report = rotation.run(cctx, batch_size=7, grace_seconds=0)
    new = cctx.config["MASTER_KEYRING"].primary_id
    assert report.finished and report.started and new != old
    assert report.rewrapped == len(victims) + len(notes)
    assert report.reindexed == len(victims)
    assert report.retired == [old]
    assert {k["id"] for k in _keyring_file(cctx)["keys"]} == {new}  # type: ignore[index]
    assert db.session.scalars(select(DataKey.master_key_id).distinct()).all() == [new]
    stamps = db.session.scalars(select(DataKey.rewrapped_at)).all()
    assert all(s is not None and s.tzinfo is not None for s in stamps)
    _all_readable(victims, notes)
    assert [v.id for v in blindindex.search(Victim.full_name, "nan nhan 7")] == [victims[7]]
    tags = [e.tag for e in db.session.scalars(select(rotation_audit_model()))]
    assert "crypto:key:rotate" in tags and "crypto:key:retire" in tags


def rotation_audit_model():  # type: ignore[no-untyped-def]
    from casework.audit.models import AuditEvent

    return AuditEvent


def test_a_rotation_killed_midway_finishes_when_rerun(cctx: Flask) -> None:
    victims, notes = _populate(40)
    old = cctx.config["MASTER_KEYRING"].primary_id
    first = rotation.run(cctx, batch_size=5, max_batches=3, grace_seconds=0)
    assert not first.finished
    new = cctx.config["MASTER_KEYRING"].primary_id
    on_old = db.session.scalar(select(DataKey.id).where(DataKey.master_key_id == old).limit(1))
    assert on_old is not None  # stopped halfway: both keys in use
    _all_readable(victims, notes)  # and still everything reads
    assert [v.id for v in blindindex.search(Victim.full_name, "nan nhan 33")] == [victims[33]]
    # The rerun finds the old key in use: it resumes instead of adding yet another key.
    second = rotation.run(cctx, batch_size=5, max_batches=4, grace_seconds=0)
    assert not second.started and not second.finished
    third = rotation.run(cctx, batch_size=5, grace_seconds=0)
    assert third.finished and cctx.config["MASTER_KEYRING"].primary_id == new
    assert third.retired == [old]
    assert db.session.scalars(select(DataKey.master_key_id).distinct()).all() == [new]
    _all_readable(victims, notes)


def test_rotation_under_concurrent_writes_and_reads(capp: Flask, tmp_path: Path) -> None:
    with capp.app_context():
        victims, notes = _populate(60)
        old = capp.config["MASTER_KEYRING"].primary_id
    # Another process: its own app and engine, holding the old keyring in memory.
    other = make_crypto_app(tmp_path)
    written: list[tuple[uuid.UUID, str]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def serve() -> None:
        with other.app_context():
            i = 0
            try:
                while not stop.is_set():
                    name = f"Mới {i}"
                    victim = Victim(full_name=name, phone=f"08{i:08d}")
                    db.session.add(victim)
                    db.session.commit()
                    written.append((victim.id, name))
                    db.session.remove()
                    # Reads of rows being rewrapped under a key this process did not know yet.
                    assert db.session.get(Victim, victims[i % len(victims)]).full_name.startswith(
                        "Nạn"
                    )
                    db.session.remove()
                    i += 1
            except BaseException as exc:  # surfaced below
                errors.append(exc)

    writer = threading.Thread(target=serve)
    writer.start()
    try:
        time.sleep(0.3)
        with capp.app_context():
            report = rotation.run(capp, batch_size=10, grace_seconds=0.5)
    finally:
        stop.set()
        writer.join(30)
        with other.app_context():
            db.engine.dispose()
    assert not errors, errors
    assert report.finished and written
    with capp.app_context():
        # What the writer committed after the rotation's last sweep would still be on the old key;
        # the grace period makes that impossible in practice, and a rerun would move it.
        assert db.session.scalar(select(DataKey.id).where(DataKey.master_key_id == old)) is None
        assert old not in capp.config["MASTER_KEYRING"].keys
        _all_readable(victims, notes)
        for ident, name in written:
            assert db.session.get(Victim, ident).full_name == name
        ident, name = written[-1]
        assert [v.id for v in blindindex.search(Victim.full_name, name)] == [ident]


def test_rotation_reseals_second_factor_seeds(cctx: Flask) -> None:
    user = make_user("admin1", "admin", make_unit("TW", "central"))
    seed = accounts._seed(user)
    old = cctx.config["MASTER_KEYRING"].primary_id
    report = rotation.run(cctx, grace_seconds=0)
    assert report.resealed == 1
    user = get_user("admin1")
    keyring = cctx.config["MASTER_KEYRING"]
    assert secretbox.key_id_of(user.totp_secret_sealed) == keyring.primary_id != old
    assert (
        secretbox.unseal(keyring, TOTP_PURPOSE, f"user:{user.id}", user.totp_secret_sealed) == seed
    )
    # Audit checkpoints signed under the old key do not keep it: their public key stays instead.
    assert report.retired == [old] and report.kept == {}
    assert keyring.retired_signers


def test_a_keyring_from_the_environment_is_not_rotated(tmp_path: Path) -> None:
    from casework import create_app
    from tests.conftest import test_config

    app = create_app(test_config(tmp_path))  # keyring given as an object: no file to rewrite
    with app.app_context():
        db.create_all()
        with pytest.raises(rotation.RotationError, match="CASEWORK_MASTER_KEYS"):
            rotation.run(app, grace_seconds=0)
        db.session.remove()
        db.engine.dispose()


def test_the_keys_commands(capp: Flask, tmp_path: Path) -> None:
    runner = capp.test_cli_runner()
    with capp.app_context():
        _populate(6)
    status = runner.invoke(args=["keys", "status"])
    assert status.exit_code == 0, status.output
    primary = capp.config["MASTER_KEYRING"].primary_id
    assert f"{primary} (chính)" in status.output
    result = runner.invoke(args=["keys", "rotate", "--grace", "0", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert (
        "Đã mã hóa lại 9 khóa dữ liệu" in result.output
        and f"Đã thôi dùng khóa chủ {primary}" in result.output
    )
    path = Path(capp.config["MASTER_KEYRING_FILE"])
    assert load_keyring(None, path).primary_id == capp.config["MASTER_KEYRING"].primary_id
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    refused = runner.invoke(args=["keys", "init", "--path", str(path)])
    assert (
        refused.exit_code == 1
        and "đã tồn tại: bộ khóa chủ không bao giờ bị ghi đè" in refused.output
    )
    fresh = tmp_path / "other" / "master.json"
    made = runner.invoke(args=["keys", "init", "--path", str(fresh)])
    assert made.exit_code == 0, made.output
    assert load_keyring(None, fresh).primary_id in made.output
    key = json.loads(fresh.read_text())["keys"][0]["key"]
    assert key not in made.output  # key material is never printed
