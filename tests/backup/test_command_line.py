"""The `casework` command as an operator runs it (configuration from the environment, start-up checks
on): the app refuses to start on a half-restored database or an unreplayed ledger, and the commands
that repair exactly that still run."""

from __future__ import annotations

import contextvars
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import casework
from casework.cases.models import Person
from casework.cli import main
from casework.crypto import shredding
from casework.crypto.keyring import keyring_json
from casework.db import utcnow
from casework.extensions import db
from tests.cases.conftest import open_case


@pytest.fixture
def operator(app, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Runs `casework ARGS` with the test database, keyring and files given as the environment."""
    files = {
        "ATTACHMENT_DIR": tmp_path / "attachments",
        "SHRED_LEDGER_FILE": tmp_path / "shred-ledger.jsonl",
        "RESTORE_STATE_FILE": tmp_path / "restore-pending.json",
    }
    for name, path in files.items():
        app.config[name] = str(path)
        monkeypatch.setenv(f"CASEWORK_{name}", str(path))
    monkeypatch.setenv("CASEWORK_ENV", "production")
    monkeypatch.setenv("CASEWORK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CASEWORK_DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("CASEWORK_SECRET_KEY", app.config["SECRET_KEY"])
    monkeypatch.setenv("CASEWORK_MASTER_KEYS", keyring_json(app.config["MASTER_KEYRING"]))

    made = []
    real_create_app = casework.create_app

    def recording_create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(real_create_app(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(casework, "create_app", recording_create_app)

    def run(*args: str):  # type: ignore[no-untyped-def]
        db.session.commit()
        # In a context of its own: outside the test's app context, as from a shell, so the
        # command builds its app from the environment like the installed `casework` does.
        result = contextvars.Context().run(CliRunner().invoke, main, list(args))
        while made:  # a shell's process would exit here, closing its connections
            with made.pop().app_context():
                db.engine.dispose()
        return result

    return run


def test_restore_runs_while_the_app_refuses_to_start_and_lets_it_start_again(
    app, org, tmp_path, operator
):
    open_case(org["officer_c1"])
    archive = tmp_path / "nightly.cwbackup"
    made = operator("backup", str(archive))
    assert made.exit_code == 0, made.output
    (tmp_path / "restore-pending.json").write_text(json.dumps({"reason": "power cut"}))
    refused = operator("keys", "status")
    assert refused.exit_code == 1
    assert "lỗi cấu hình: Một lần khôi phục chưa hoàn tất (power cut)" in refused.output
    restored = operator("restore", str(archive), "--yes")
    assert restored.exit_code == 0, restored.output
    assert "Có thể khởi động ứng dụng." in restored.output
    assert operator("keys", "status").exit_code == 0


def test_the_ledger_is_replayed_by_the_command_the_refusal_names(app, org, tmp_path, operator):
    case = open_case(org["officer_c1"])
    victim = db.session.scalars(select(Person).where(Person.case_id == case.id)).first()
    # As after restoring an old copy by hand: the ledger names a person whose key is back.
    shredding.append_to_ledger("person", victim.id, utcnow().isoformat())
    refused = operator("keys", "status")
    assert refused.exit_code == 1 and "hãy chạy `casework keys replay-ledger`" in refused.output
    replayed = operator("keys", "replay-ledger")
    assert replayed.exit_code == 0, replayed.output
    assert "hủy lại khóa của 1 người hoặc vụ việc" in replayed.output
    assert operator("keys", "status").exit_code == 0
