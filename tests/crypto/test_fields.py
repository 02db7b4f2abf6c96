"""Encrypted model fields: plain values in Python, ciphertext in the database."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import insert, select

from casework.crypto import datakeys
from casework.crypto.errors import CryptoError
from casework.crypto.fields import PENDING
from casework.crypto.models import DataKey
from casework.extensions import db
from tests.conftest import CANARY
from tests.crypto.models import Note, Victim


def _raw_database_bytes() -> bytes:
    """Everything the database holds, as an attacker with the files (or a SQL console) sees it."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        parts = [path.read_bytes()]
        for suffix in ("-wal", "-journal"):
            extra = Path(str(path) + suffix)
            if extra.exists():
                parts.append(extra.read_bytes())
        return b"".join(parts)
    dump = []
    for table in (Victim.__table__, Note.__table__, DataKey.__table__):
        for row in db.session.execute(select(table)):
            dump.append(repr(tuple(row)).encode())
    return b"".join(dump)


def test_the_canary_is_absent_from_the_raw_database(cctx: Flask) -> None:
    victim = Victim(full_name=CANARY, phone="0912 345 678", birth_date=dt.date(1990, 2, 28))
    db.session.add(victim)
    db.session.add(Note(case_id=uuid.uuid4(), body=f"{CANARY} came to the commune office"))
    db.session.commit()
    ident = victim.id
    db.session.remove()
    raw = _raw_database_bytes()
    for needle in (
        CANARY,
        CANARY.casefold(),
        "Hoàng Yến",
        "Hoang Yen",
        "0912 345 678",
        "1990-02-28",
    ):
        assert needle.encode("utf-8") not in raw
        assert needle.encode("utf-16-le") not in raw
    assert db.session.get(Victim, ident).full_name == CANARY


def test_reads_and_writes_are_plain_values(cctx: Flask) -> None:
    victim = Victim(full_name="Nguyễn Thị Hoa", birth_date=dt.date(2001, 1, 2), sex="f")
    assert victim.full_name == "Nguyễn Thị Hoa"  # pending, before any flush
    assert victim.phone is None
    db.session.add(victim)
    db.session.commit()
    assert isinstance(victim._full_name_ciphertext, bytes)
    victim.phone = "0987 654 321"
    victim.full_name = None
    db.session.commit()
    ident = victim.id
    db.session.remove()
    again = db.session.get(Victim, ident)
    assert (again.full_name, again.phone, again.birth_date) == (
        None,
        "0987 654 321",
        dt.date(2001, 1, 2),
    )
    assert again._full_name_bidx is None


def test_fields_refuse_the_wrong_type(cctx: Flask) -> None:
    victim = Victim()
    with pytest.raises(TypeError):
        victim.full_name = 42  # type: ignore[assignment]
    with pytest.raises(TypeError):
        victim.birth_date = "1990-01-01"  # type: ignore[assignment]
    with pytest.raises(TypeError):
        victim.birth_date = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


def test_an_unchanged_value_is_not_encrypted_again(cctx: Flask) -> None:
    victim = Victim(full_name="Lý Thị Thu")
    db.session.add(victim)
    db.session.commit()
    _ = victim.full_name
    before = victim._full_name_ciphertext
    victim.full_name = "Lý Thị Thu"
    assert victim not in db.session.dirty
    db.session.commit()
    assert victim._full_name_ciphertext == before


def test_moving_a_row_to_another_case_encrypts_it_under_that_case(cctx: Flask) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    note = Note(case_id=first, body="moved note")
    db.session.add(note)
    db.session.commit()
    note.case_id = second
    db.session.commit()
    ident = note.id
    db.session.remove()
    moved = db.session.get(Note, ident)
    assert moved.body == "moved note"
    field = Note.body
    with pytest.raises(CryptoError):  # no longer readable with the first case's key
        field.decrypt_raw(db.session(), ident, first, moved._body_ciphertext)


def test_a_rolled_back_new_row_encrypts_again_when_retried(cctx: Flask) -> None:
    case = uuid.uuid4()
    note = Note(case_id=case, body="retried")
    db.session.add(note)
    db.session.flush()  # the case's data key is created in this transaction...
    db.session.rollback()  # ...and rolled back with it
    assert db.session.scalar(select(DataKey).where(DataKey.owner_id == case)) is None
    assert note.body == "retried"
    db.session.add(note)
    db.session.commit()
    ident = note.id
    db.session.remove()
    assert db.session.get(Note, ident).body == "retried"


def test_a_write_that_bypasses_the_flush_is_refused(cctx: Flask) -> None:
    table = Note.__table__
    with pytest.raises(Exception) as info:
        db.session.execute(
            insert(table).values(id=uuid.uuid4(), case_id=uuid.uuid4(), body="plain", kind="x")
        )
    assert isinstance(info.value.__cause__ or info.value, TypeError) or "ciphertext" in str(
        info.value
    )
    db.session.rollback()
    with pytest.raises(Exception) as info:
        db.session.execute(
            insert(table).values(id=uuid.uuid4(), case_id=uuid.uuid4(), body=PENDING, kind="x")
        )
    assert isinstance(info.value.__cause__ or info.value, CryptoError) or "unencrypted" in str(
        info.value
    )


def test_an_owner_must_be_known_before_encrypting(cctx: Flask) -> None:
    db.session.add(Note(body="no case"))
    with pytest.raises(CryptoError):
        db.session.flush()
    db.session.rollback()


def test_unwrapped_keys_live_in_the_unit_of_work_only(capp: Flask) -> None:
    with capp.app_context():
        victim = Victim(full_name="Vũ Thị Hạnh")
        db.session.add(victim)
        db.session.flush()
        session = db.session()
        assert datakeys.unit_of_work(session).keys  # the key is cached while the transaction runs
        db.session.commit()
        assert "casework.crypto.uow" not in session.info  # gone at the end of the transaction
        ident = victim.id
    with capp.test_request_context():
        assert db.session.get(Victim, ident).full_name == "Vũ Thị Hạnh"
        session = db.session()
        assert datakeys.unit_of_work(session).keys
    assert "casework.crypto.uow" not in session.info  # and at the end of the request's context
    for value in vars(datakeys).values():  # nothing module-global holds keys
        assert not isinstance(value, datakeys.UnitOfWork)


def test_one_data_key_per_person_and_per_case(cctx: Flask) -> None:
    case = uuid.uuid4()
    victim = Victim(full_name="A", phone="0912000111", id_number="001190000001")
    db.session.add_all([victim, Note(case_id=case, body="1"), Note(case_id=case, body="2")])
    db.session.commit()
    keys = db.session.execute(select(DataKey.owner_kind, DataKey.owner_id)).all()
    assert sorted((k.owner_kind, k.owner_id) for k in keys) == sorted(
        [("person", victim.id), ("case", case)], key=str
    )
