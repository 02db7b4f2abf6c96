"""`casework keys rotate` killed with SIGKILL (a crash, an out-of-memory kill, a power cut) and run
again: every record reads at every moment, nothing stays on the old key, the keyring file is whole."""

from __future__ import annotations

import signal
import subprocess  # nosec B404 (the test starts the app's own command)
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.crypto import blindindex, fields, rotation
from casework.crypto.keyring import load_keyring
from casework.crypto.models import DataKey
from casework.extensions import db
from tests.crypto.conftest import make_crypto_app
from tests.crypto.models import Note, Victim
from tests.crypto.rotate_child import STOPPED

pytestmark = pytest.mark.sqlite_only  # the child process opens the test's SQLite file

ROOT = Path(__file__).resolve().parents[2]
BATCH = 10
PEOPLE = 60  # 60 person keys and 30 case keys: 9 rewrap batches, 6 reindex batches
BIDX_KEY = getattr(Victim, fields.BIDX_KEY_ATTR)  # which master key a row's blind indexes use


@pytest.fixture
def data(capp: Flask) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    with capp.app_context():
        victims = [
            Victim(full_name=f"Nạn Nhân {i}", phone=f"09{i:08d}", id_number=f"0011{i:08d}")
            for i in range(PEOPLE)
        ]
        notes = [Note(case_id=uuid.uuid4(), body=f"ghi chú {i}") for i in range(PEOPLE // 2)]
        db.session.add_all(victims + notes)
        db.session.commit()
        ids = [v.id for v in victims], [n.id for n in notes]
        db.session.remove()
    return ids


class Child:
    """`casework keys rotate` in another process (tests/crypto/rotate_child.py)."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        command = [sys.executable, "-m", "tests.crypto.rotate_child", str(tmp_path), *args]
        command += ["--batch-size", str(BATCH), "--grace", "0"]
        self.proc = subprocess.Popen(  # noqa: S603  # nosec B603 (our own fixed command)
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        # Whatever happens, the child does not outlive the test.
        self.watchdog = threading.Timer(90, self.proc.kill)
        self.watchdog.start()

    def wait_until_stopped(self) -> None:
        """Read its output until it says it waits inside an uncommitted batch."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == STOPPED:
                return
        pytest.fail(f"the rotation ended before the batch: {self.finish()}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.finish()
        assert self.proc.returncode == -signal.SIGKILL

    def finish(self) -> tuple[int, str]:
        out, err = self.proc.communicate(timeout=90)
        self.watchdog.cancel()
        return self.proc.returncode, out + err


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Callable[[], Flask]]:
    """A fresh app process's view: its keyring read from the file as it is now."""
    apps: list[Flask] = []

    def make() -> Flask:
        app = make_crypto_app(tmp_path)
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _keyring(tmp_path: Path) -> tuple[str, set[str]]:
    keyring = load_keyring(None, tmp_path / "keys" / "master.json")  # raises if not whole
    return keyring.primary_id, set(keyring.keys)


def _keys_per_master(app: Flask) -> dict[str | None, int]:
    with app.app_context():
        rows = db.session.execute(
            select(DataKey.master_key_id, func.count()).group_by(DataKey.master_key_id)
        )
        return {key_id: count for key_id, count in rows}


def _everything_reads(app: Flask, victims: list[uuid.UUID], notes: list[uuid.UUID]) -> None:
    with app.app_context():
        for i, ident in enumerate(victims):
            row = db.session.get(Victim, ident)
            assert (row.full_name, row.phone, row.id_number) == (
                f"Nạn Nhân {i}",
                f"09{i:08d}",
                f"0011{i:08d}",
            )
        for i, ident in enumerate(notes):
            assert db.session.get(Note, ident).body == f"ghi chú {i}"
        for i in (0, 31, PEOPLE - 1):
            found = blindindex.search(Victim.phone, f"+84 9{i:08d}")
            assert [v.id for v in found] == [victims[i]]
        db.session.remove()


def test_a_rotation_killed_twice_mid_batch_finishes_when_rerun(
    capp: Flask,
    data: tuple[list[uuid.UUID], list[uuid.UUID]],
    tmp_path: Path,
    reader: Callable[[], Flask],
) -> None:
    victims, notes = data
    old, _ = _keyring(tmp_path)
    total = len(victims) + len(notes)

    # Killed inside the third rewrap batch: two batches committed, the third's updates made.
    child = Child(tmp_path, "--stop-at", "rewrap:3")
    child.wait_until_stopped()
    child.kill()
    new, keys = _keyring(tmp_path)
    assert new != old and keys == {old, new}  # the old key stays while data keys use it
    app = reader()
    assert _keys_per_master(app) == {new: 2 * BATCH, old: total - 2 * BATCH}
    _everything_reads(app, victims, notes)

    # The rerun resumes (no third key) and is killed inside its second blind-index batch.
    child = Child(tmp_path, "--stop-at", "reindex:2")
    child.wait_until_stopped()
    child.kill()
    assert _keyring(tmp_path) == (new, {old, new})
    app = reader()
    assert _keys_per_master(app) == {new: total}
    with app.app_context():
        indexed = db.session.execute(select(BIDX_KEY, func.count()).group_by(BIDX_KEY))
        assert dict(indexed.all()) == {new: BATCH, old: PEOPLE - BATCH}
    _everything_reads(app, victims, notes)

    # The last rerun finishes: the old key is gone from the file and from every record.
    code, output = Child(tmp_path).finish()
    assert code == 0, output
    assert "Đã thay khóa chủ xong." in output and f"Đã thôi dùng khóa chủ {old}" in output
    assert _keyring(tmp_path) == (new, {new})
    app = reader()
    assert _keys_per_master(app) == {new: total}
    with app.app_context():
        assert set(db.session.scalars(select(BIDX_KEY).distinct())) == {new}
    _everything_reads(app, victims, notes)
    keys_dir = tmp_path / "keys"
    assert oct((keys_dir / "master.json").stat().st_mode & 0o777) == "0o600"
    assert not list(keys_dir.glob(".master-*"))


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_rotation_killed_while_replacing_the_keyring_file_finishes_when_rerun(
    capp: Flask,
    data: tuple[list[uuid.UUID], list[uuid.UUID]],
    tmp_path: Path,
    reader: Callable[[], Flask],
    when: str,
) -> None:
    victims, notes = data
    keyring_file = tmp_path / "keys" / "master.json"
    before = keyring_file.read_bytes()
    old, _ = _keyring(tmp_path)

    child = Child(tmp_path, "--stop-at", f"replace:{when}")
    code, output = child.finish()
    assert code == -signal.SIGKILL, output
    primary, keys = _keyring(tmp_path)  # whole: the old file or the new one, never a mix
    if when == "before":
        assert keyring_file.read_bytes() == before
        # The new file, written but never renamed, is what the kill left behind.
        assert len(list(keyring_file.parent.glob(".master-*"))) == 1
    else:
        assert primary != old and keys == {old, primary}
    _everything_reads(reader(), victims, notes)

    code, output = Child(tmp_path).finish()
    assert code == 0, output
    assert "Đã thay khóa chủ xong." in output
    new, keys = _keyring(tmp_path)
    assert keys == {new} and new != old
    if when == "after":
        assert new == primary  # the key the killed run made primary was kept, none added
    app = reader()
    assert _keys_per_master(app) == {new: len(victims) + len(notes)}
    _everything_reads(app, victims, notes)
    assert not list(keyring_file.parent.glob(".master-*"))  # the leftover is gone


def test_a_second_rotation_is_refused_while_one_runs_and_allowed_once_it_is_killed(
    capp: Flask, data: tuple[list[uuid.UUID], list[uuid.UUID]], tmp_path: Path
) -> None:
    child = Child(tmp_path, "--stop-at", "rewrap:1")
    child.wait_until_stopped()
    try:
        with (
            capp.app_context(),
            pytest.raises(rotation.RotationError, match="một lệnh `casework keys rotate` khác"),
        ):
            rotation.run(capp, grace_seconds=0)
    finally:
        child.kill()
    killed_primary, _ = _keyring(tmp_path)
    with capp.app_context():
        # The system released the dead process's lock; this run resumes from the file, whose
        # primary key this process never had in memory, and finishes.
        report = rotation.run(capp, grace_seconds=0)
        assert report.finished and not report.started
        assert capp.config["MASTER_KEYRING"].primary_id == killed_primary
        db.session.remove()
    assert _keyring(tmp_path) == (killed_primary, {killed_primary})
