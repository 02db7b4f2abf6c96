"""Crypto-shredding: the key goes, every value it protected is erased, and stays erased."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from casework import ConfigError, create_app
from casework.audit.models import AuditEvent
from casework.crypto import blindindex, datakeys, fields, shredding
from casework.crypto.errors import KeyShredded
from casework.crypto.models import DataKey
from casework.extensions import db
from tests.crypto.conftest import crypto_config
from tests.crypto.models import Note, Victim


def _people(count: int = 50) -> list[Victim]:
    people = [
        Victim(full_name=f"Người {i}", phone=f"09{i:08d}", id_number=f"0011{i:08d}", sex="f")
        for i in range(count)
    ]
    db.session.add_all(people)
    db.session.commit()
    return people


def test_every_field_of_a_shredded_person_reads_as_erased(cctx: Flask) -> None:
    people = _people(5)
    people[2].birth_date = date(1990, 5, 1)
    db.session.commit()
    ident, other = people[2].id, people[3].id
    assert shredding.shred(None, "person", ident) == 1
    db.session.commit()
    db.session.expunge_all()
    erased = db.session.get(Victim, ident)
    assert erased.sex == "f"  # de-identified columns stay for statistics
    for name in ("full_name", "phone", "id_number"):
        value = getattr(erased, name)
        # Empty to code, "erased" to a reader; never the value, never an exception.
        assert value is fields.ERASED and not value and str(value) == str(fields.ERASED_LABEL)
    assert erased.birth_date is None
    assert fields.is_erased(erased)
    assert db.session.get(Victim, other).full_name == "Người 3"
    assert not fields.is_erased(db.session.get(Victim, other))


def test_every_row_of_a_shredded_case_raises_key_shredded(cctx: Flask) -> None:
    case, other_case = uuid.uuid4(), uuid.uuid4()
    db.session.add_all([Note(case_id=case, body=f"n{i}") for i in range(5)])
    db.session.add(Note(case_id=other_case, body="kept"))
    db.session.commit()
    shredding.shred(None, "case", case)
    db.session.commit()
    db.session.expunge_all()
    for note in db.session.scalars(select(Note)):
        if note.case_id == case:
            with pytest.raises(KeyShredded):
                _ = note.body
        else:
            assert note.body == "kept"


def test_an_already_loaded_row_is_unreadable_once_shredded(cctx: Flask) -> None:
    victim = _people(1)[0]
    assert victim.full_name == "Người 0"
    shredding.shred(None, "person", victim.id)
    assert victim.full_name is fields.ERASED


def test_nothing_new_is_encrypted_for_a_shredded_owner(cctx: Flask) -> None:
    case = uuid.uuid4()
    db.session.add(Note(case_id=case, body="before"))
    db.session.commit()
    shredding.shred(None, "case", case)
    db.session.commit()
    db.session.add(Note(case_id=case, body="after"))
    with pytest.raises(KeyShredded):
        db.session.flush()
    db.session.rollback()


def test_shredding_clears_the_blind_indexes_and_search_skips_the_owner(cctx: Flask) -> None:
    people = _people(3)
    ident = people[1].id
    shredding.shred(None, "person", ident)
    db.session.commit()
    row = db.session.execute(
        select(Victim._full_name_bidx, Victim._phone_bidx).where(Victim.id == ident)
    ).one()
    assert tuple(row) == (None, None)
    assert blindindex.search(Victim.full_name, "Người 1") == []
    assert [v.id for v in blindindex.search(Victim.full_name, "nguoi 2")] == [people[2].id]


@pytest.mark.sqlite_only  # reads the database file; PostgreSQL: see docs/crypto.md
def test_the_wrapped_key_is_gone_from_the_sqlite_file_and_its_wal(cctx: Flask) -> None:
    people = _people(200)
    target = people[123].id
    wrapped = db.session.scalar(select(DataKey.wrapped_key).where(DataKey.owner_id == target))
    assert wrapped is not None and len(wrapped) == 40
    path = Path(db.engine.url.database or "")
    wal = Path(f"{path}-wal")

    def stored() -> bytes:
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    assert wrapped in stored()  # the check can see it while it is there
    shredding.shred(None, "person", target)
    db.session.commit()  # the after-commit hook checkpoints the WAL with TRUNCATE
    db.session.remove()
    assert wrapped not in stored()
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_shred_is_audited_and_written_to_the_ledger_without_personal_data(cctx: Flask) -> None:
    victim = _people(1)[0]
    ident = victim.id
    shredding.shred(None, "person", ident)
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "crypto:data_key:shred"))
    assert event is not None and event.object_id == str(ident)
    lines = shredding.ledger_path().read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[-1])
    assert set(entry) == {"owner_kind", "owner_id", "at"}
    assert entry["owner_id"] == str(ident)
    assert "Người" not in lines[-1] and "Người" not in event.details


def test_a_restored_backup_is_refused_until_the_ledger_is_replayed(
    capp: Flask, tmp_path: Path
) -> None:
    with capp.app_context():
        victim = _people(2)[0]
        ident = victim.id
        # The "backup": the key row as it was before the shred.
        before = db.session.execute(
            select(DataKey.__table__).where(DataKey.owner_id == ident)
        ).one()
        shredding.shred(None, "person", ident)
        db.session.commit()
        # The "restore": the old row comes back.
        db.session.execute(
            DataKey.__table__.update()
            .where(DataKey.id == before.id)
            .values(
                wrapped_key=before.wrapped_key, master_key_id=before.master_key_id, shredded_at=None
            )
        )
        db.session.commit()
        db.session.expunge_all()
        assert db.session.get(Victim, ident).full_name == "Người 0"  # the backup brought it back
    with pytest.raises(ConfigError, match="replay-ledger"):
        create_app(crypto_config(tmp_path, CRYPTO_SELFCHECK=True))
    result = capp.test_cli_runner().invoke(args=["keys", "replay-ledger"])
    assert result.exit_code == 0, result.output
    assert "hủy lại khóa của 1 người hoặc vụ việc" in result.output
    with capp.app_context():
        assert db.session.get(Victim, ident).full_name is fields.ERASED
    create_app(crypto_config(tmp_path, CRYPTO_SELFCHECK=True))  # starts again


def test_the_shred_command_erases_an_owner(capp: Flask) -> None:
    with capp.app_context():
        ident = _people(1)[0].id
    result = capp.test_cli_runner().invoke(args=["keys", "shred", "person", str(ident), "--yes"])
    assert result.exit_code == 0, result.output
    with capp.app_context():
        assert db.session.get(Victim, ident).full_name is fields.ERASED
        assert datakeys.owners_with_live_keys(db.session(), [("person", ident)]) == set()
