"""`casework backup` and `casework restore`: an encrypted round trip in which whatever was erased
after the backup stays erased, the audit chain is proved, and any damaged archive is refused."""

from __future__ import annotations

import contextvars
import io
import json
import shutil
import sqlite3

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from casework import ConfigError, create_app
from casework.audit.models import AuditEvent
from casework.audit.verify import verify_database
from casework.cases import attachments
from casework.cases.models import Attachment, Case, Person
from casework.crypto import files, selfcheck, shredding
from casework.crypto.errors import KeyShredded
from casework.crypto.fields import is_erased
from casework.crypto.keyring import parse_keyring
from casework.extensions import db
from casework.ops import archive, restore
from tests.audit.chain import tamper
from tests.cases.conftest import open_case
from tests.cases.test_filetypes import PDF
from tests.conftest import CANARY, _keyring_json, get_user, test_config

OTHER = "Phạm Thị Thanh Hương"


@pytest.fixture(autouse=True)
def _instance_files(app, tmp_path):  # type: ignore[no-untyped-def]
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    app.config["SHRED_LEDGER_FILE"] = str(tmp_path / "shred-ledger.jsonl")
    app.config["RESTORE_STATE_FILE"] = str(tmp_path / "restore-pending.json")


@pytest.fixture(autouse=True)
def _pg_tools(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            for tool in ("pg_dump", "pg_restore"):
                if shutil.which(tool) is None:
                    pytest.skip(f"{tool} is not installed: the PostgreSQL round trip cannot run")


def _cli(app, *args):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def _case_with_file(officer, name):  # type: ignore[no-untyped-def]
    case = open_case(officer, victim_name=name, summary=f"{name} was threatened.")
    attachments.upload_attachment(
        officer, case, stream=io.BytesIO(PDF), filename="certificate.pdf", description="Medical"
    )
    db.session.commit()
    return case


def _victim(case_id):  # type: ignore[no-untyped-def]
    return db.session.scalars(
        select(Person).where(Person.case_id == case_id, Person.role == "victim")
    ).one()


def _backup(app, tmp_path):  # type: ignore[no-untyped-def]
    result = _cli(app, "backup", str(tmp_path / "backups"))
    assert result.exit_code == 0, result.output
    [path] = (tmp_path / "backups").iterdir()
    return path


@pytest.fixture
def backups(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "backups").mkdir()
    return tmp_path / "backups"


def test_a_restored_backup_keeps_what_was_erased_since_erased_and_its_chain_verifies(
    app, org, tmp_path, backups
):
    kept = _case_with_file(org["officer_c1"], CANARY)
    erased_case = _case_with_file(org["officer_c1"], OTHER)
    kept_id, erased_id, victim_id = kept.id, erased_case.id, _victim(kept.id).id
    path = _backup(app, tmp_path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    raw = path.read_bytes()
    assert CANARY.encode() not in raw and b"SQLite format" not in raw and b"PGDMP" not in raw

    # After the backup: a new case, one person erased, one whole case erased.
    later = open_case(org["officer_c1"], victim_name="Lê Thị Mai")
    later_id = later.id
    shredding.shred(None, "person", victim_id)
    shredding.shred(None, "case", erased_id)
    db.session.commit()
    files.remove_owner_files("case", erased_id)

    result = _cli(app, "restore", str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert "Đã áp dụng lại sổ hủy khóa: xóa lại dữ liệu của 2 người hoặc vụ việc." in result.output

    assert db.session.get(Case, later_id) is None  # the backup's state is back
    kept = db.session.get(Case, kept_id)
    assert f"{CANARY} was threatened." == kept.summary  # a case nobody erased reads as before
    assert is_erased(_victim(kept_id))  # the person erased after the backup stays erased
    with pytest.raises(KeyShredded):
        _ = db.session.get(Case, erased_id).summary
    assert not (files.root() / "case" / str(erased_id)).exists()
    # The kept case's attachment came back from the archive and decrypts to the same bytes.
    [attachment] = db.session.scalars(select(Attachment).where(Attachment.case_id == kept_id))
    officer = get_user("officer.c1")  # the restore ended the session that held the fixtures
    assert b"".join(attachments.download_attachment(officer, kept, attachment)) == PDF

    report = verify_database()
    assert report.ok and report.checked > 0
    tags = set(db.session.scalars(select(AuditEvent.tag)))
    assert {"ops:backup:restore", "crypto:ledger:replay"} <= tags
    assert not (tmp_path / "restore-pending.json").exists()
    assert CANARY not in repr(db.session.execute(select(AuditEvent.details)).all())


def test_a_backup_is_recorded_in_the_audit_log_with_the_head_it_holds(app, org, tmp_path, backups):
    open_case(org["officer_c1"])
    head = db.session.scalar(select(func.max(AuditEvent.seq)))
    _backup(app, tmp_path)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.tag == "ops:backup:create"))
    assert json.loads(event.details)["audit_seq"] == head and event.seq == head + 1


def test_an_altered_archive_is_refused_and_nothing_is_replaced(app, org, tmp_path, backups):
    path = _backup(app, tmp_path)
    later_id = open_case(org["officer_c1"]).id
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    result = _cli(app, "restore", str(path), "--yes")
    assert result.exit_code == 1
    assert "từ chối khôi phục: khối 0 của tệp sao lưu không qua được bước kiểm tra" in result.output
    assert db.session.get(Case, later_id) is not None
    assert not (tmp_path / "restore-pending.json").exists()


def test_a_restore_asks_first_and_a_no_replaces_nothing(app, org, tmp_path, backups):
    path = _backup(app, tmp_path)
    later_id = open_case(org["officer_c1"]).id
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["restore", str(path)], input="n\n")
    assert result.exit_code == 1
    assert "Thao tác này thay cơ sở dữ liệu và các tệp đính kèm bằng bản sao lưu." in result.output
    assert db.session.get(Case, later_id) is not None
    assert not (tmp_path / "restore-pending.json").exists()


def test_a_cut_archive_is_refused(app, org, tmp_path, backups):
    path = _backup(app, tmp_path)
    path.write_bytes(path.read_bytes()[:-1])
    result = _cli(app, "restore", str(path), "--yes")
    assert result.exit_code == 1 and "tệp đã bị sửa hoặc bị cắt cụt" in result.output


def test_an_archive_whose_master_key_is_not_in_the_keyring_is_refused(app, org, tmp_path, backups):
    path = _backup(app, tmp_path)
    app.config["MASTER_KEYRING"] = parse_keyring(_keyring_json().replace("mk-test", "mk-other"))
    result = _cli(app, "restore", str(path), "--yes")
    assert result.exit_code == 1
    assert (
        "tệp sao lưu được niêm phong bằng khóa chủ 'mk-test' nhưng bộ khóa chủ không có khóa này"
        in result.output
    )


def test_a_backup_whose_audit_chain_was_altered_is_refused(app, org, tmp_path, backups):
    open_case(org["officer_c1"])
    tamper("UPDATE audit_event SET details = '{}' WHERE seq = 3")
    path = _backup(app, tmp_path)
    result = _cli(app, "restore", str(path), "--yes")
    assert result.exit_code == 1
    assert "từ chối khôi phục: chuỗi nhật ký kiểm tra bị đứt tại sự kiện số 3" in result.output


def test_the_app_refuses_to_start_while_a_restore_is_unfinished(app, tmp_path):
    state = tmp_path / "restore-pending.json"
    state.write_text(json.dumps({"reason": "the audit chain is broken at seq 3"}))
    config = test_config(tmp_path, RESTORE_STATE_FILE=str(state))
    with pytest.raises(ConfigError, match="A restore did not finish \\(the audit chain is broken"):
        create_app(config)
    state.unlink()
    create_app(config)


def test_a_restore_refused_after_the_data_was_replaced_keeps_its_reason_in_both_languages(
    app, org, tmp_path, backups, monkeypatch
):
    path = _backup(app, tmp_path)

    def failing(_app):  # type: ignore[no-untyped-def]
        raise selfcheck.SelfCheckFailed(_l("a sealed breach description is malformed"))

    monkeypatch.setattr(selfcheck, "check_database", failing)
    result = _cli(app, "restore", str(path), "--yes")
    assert result.exit_code == 1
    vietnamese = (
        "tự kiểm tra mã hóa không đạt: một mô tả sự cố dữ liệu đã niêm phong bị sai định dạng"
    )
    assert f"Lỗi: từ chối khôi phục: {vietnamese}\n" == result.output
    # The state file keeps the reason as a log reads it (English) and as each language shows it.
    state = json.loads((tmp_path / "restore-pending.json").read_text(encoding="utf-8"))
    english = "the encryption self-check failed: a sealed breach description is malformed"
    assert (state["stage"], state["reason"]) == ("checking", english)
    assert state["reasons"] == {"vi": vietnamese, "en": english}
    # The refusal to start: in the language chosen for the moment, in English without one.
    assert restore.unfinished(app).startswith(f"một lần khôi phục chưa hoàn tất ({vietnamese});")
    outside = contextvars.Context().run(restore.unfinished, app)
    assert outside.startswith(f"a restore did not finish ({english});")


@pytest.mark.sqlite_only  # SQLite's online backup API
def test_the_sqlite_copy_is_taken_with_the_backup_api_while_a_reader_holds_the_database(
    app, org, tmp_path, backups
):
    with app.app_context():
        reader = sqlite3.connect(db.engine.url.database)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM case_file").fetchone()
    try:
        path = _backup(app, tmp_path)
    finally:
        reader.rollback()
        reader.close()
    plain = tmp_path / "plain.tar"
    archive.unseal_file(path, plain, app.config["MASTER_KEYRING"])
    assert plain.stat().st_size > 0
