"""The field format (SECURITY.md, Encryption): round trips, fresh nonces, binding, integrity."""

from __future__ import annotations

import os
import random
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.crypto import cipher, datakeys
from casework.crypto.errors import CryptoError, DataKeyMissing, MalformedCiphertext
from casework.crypto.keyring import UnknownKey
from casework.crypto.models import DataKey
from casework.extensions import db
from tests.crypto.models import Note, Victim

KEY = AESGCM(os.urandom(32))
BINDING = cipher.Binding("field", "person", "full_name", str(uuid.uuid4()))


@given(st.text())
def test_round_trip_holds_for_any_text(text: str) -> None:
    blob = cipher.encrypt(KEY, 1, BINDING, text.encode("utf-8"))
    assert cipher.decrypt(KEY, BINDING, blob).decode("utf-8") == text


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(text=st.text())
def test_round_trip_through_a_model_holds_for_any_text(cctx: object, text: str) -> None:
    victim = Victim(full_name=text)
    db.session.add(victim)
    db.session.commit()
    ident = victim.id
    db.session.expunge_all()
    assert db.session.get(Victim, ident).full_name == text


def test_the_same_plaintext_twice_gives_different_ciphertexts() -> None:
    first = cipher.encrypt(KEY, 1, BINDING, b"Nguyen Thi Hoa")
    second = cipher.encrypt(KEY, 1, BINDING, b"Nguyen Thi Hoa")
    assert first != second
    assert first[6:18] != second[6:18]  # fresh nonces


def test_two_rows_with_the_same_value_store_different_ciphertexts(cctx: object) -> None:
    case = uuid.uuid4()
    a, b = Note(case_id=case, body="same words"), Note(case_id=case, body="same words")
    db.session.add_all([a, b])
    db.session.commit()
    assert a._body_ciphertext != b._body_ciphertext


def test_every_single_bit_flip_fails() -> None:
    blob = cipher.encrypt(KEY, 1, BINDING, "Hoàng Yến".encode())
    for bit in range(len(blob) * 8):
        flipped = bytearray(blob)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(MalformedCiphertext):
            cipher.decrypt(KEY, BINDING, bytes(flipped))


def test_every_truncation_raises_malformed_ciphertext() -> None:
    blob = cipher.encrypt(KEY, 1, BINDING, b"a victim's address")
    for length in range(len(blob)):
        with pytest.raises(MalformedCiphertext):
            cipher.decrypt(KEY, BINDING, blob[:length])


def _stored_values(count: int) -> list[tuple[object, str, bytes]]:
    """(row, field name, ciphertext) for people with several fields and notes of shared cases."""
    cases = [uuid.uuid4() for _ in range(3)]
    rows: list[object] = []
    for i in range(count):
        rows.append(Victim(full_name=f"Person {i}", phone=f"09{i:08d}", id_number=f"0011{i:08d}"))
        rows.append(Note(case_id=cases[i % 3], body=f"note {i}"))
    db.session.add_all(rows)
    db.session.flush()
    # A second data-key version for every case, so moves across key versions find a key.
    for case in cases:
        datakeys.create(db.session(), "case", case, version=2)
    db.session.commit()
    values = []
    for row in rows:
        names = ["body"] if isinstance(row, Note) else ["full_name", "phone", "id_number"]
        values += [(row, name, getattr(row, f"_{name}_ciphertext")) for name in names]
    return values


def _read_as(row: object, name: str, blob: bytes) -> object:
    field = getattr(type(row), name)
    return field.decrypt_raw(db.session(), row.id, field.owner_id_of(row), blob)  # type: ignore[attr-defined]


def test_a_ciphertext_moved_to_another_row_column_or_key_version_fails(cctx: object) -> None:
    values = _stored_values(20)
    for row, name, blob in values:
        assert _read_as(row, name, blob) is not None  # in place, every value reads
    rng = random.Random(2605)
    people = [v for v in values if isinstance(v[0], Victim)]
    failures = {"row": 0, "column": 0, "key version": 0}
    for _ in range(1000):
        kind = rng.choice(list(failures))
        source_row, source_name, blob = rng.choice(values)
        target_row, target_name, moved = source_row, source_name, blob
        if kind == "row":  # same column (and, for notes of one case, the same key): another row
            target_row = rng.choice(
                [r for r, n, _ in values if n == source_name and r is not source_row]
            )
        elif kind == "column":  # same row and key, another column (a note's goes to a person's)
            source_row, source_name, blob = rng.choice(people)
            target_row, moved = source_row, blob
            target_name = rng.choice(
                [n for n in ("full_name", "phone", "id_number") if n != source_name]
            )
        else:  # the header names another key version of the same owner
            version = cipher.key_version_of(blob)
            moved = blob[:2] + (version % 2 + 1).to_bytes(4, "big") + blob[6:]
        with pytest.raises((MalformedCiphertext, DataKeyMissing)):
            _read_as(target_row, target_name, moved)
        failures[kind] += 1
    assert sum(failures.values()) == 1000
    assert all(failures.values())


def test_a_ciphertext_copied_in_the_database_to_another_row_fails_on_read(cctx: object) -> None:
    case = uuid.uuid4()
    a, b = Note(case_id=case, body="chị A"), Note(case_id=case, body="chị B")
    db.session.add_all([a, b])
    db.session.commit()
    table = Note.__table__
    db.session.execute(table.update().where(table.c.id == b.id).values(body=a._body_ciphertext))
    db.session.commit()
    ident = b.id
    db.session.expunge_all()
    with pytest.raises(MalformedCiphertext):
        _ = db.session.get(Note, ident).body


def test_the_key_is_chosen_by_id_in_one_attempt(
    cctx: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework.crypto import rotation

    victim = Victim(full_name="Lê Thị Mai")
    db.session.add(victim)
    db.session.commit()
    for _ in range(3):  # more keys in the keyring: still one unwrap
        rotation.add_primary_key(cctx)  # type: ignore[arg-type]
    calls = []
    real = datakeys.unwrap
    monkeypatch.setattr(datakeys, "unwrap", lambda k, w: calls.append(1) or real(k, w))
    ident = victim.id
    db.session.expunge_all()
    assert db.session.get(Victim, ident).full_name == "Lê Thị Mai"
    assert len(calls) == 1


def test_an_unknown_master_key_id_raises_unknown_key(
    cctx: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = Victim(full_name="Phạm Thị Lan")
    db.session.add(victim)
    db.session.commit()
    db.session.execute(DataKey.__table__.update().values(master_key_id="mk-nobody-has-this"))
    db.session.commit()
    ident = victim.id
    db.session.expunge_all()
    calls = []
    monkeypatch.setattr(datakeys, "unwrap", lambda k, w: calls.append(1))
    with pytest.raises(UnknownKey):
        _ = db.session.get(Victim, ident).full_name
    assert calls == []


def test_errors_are_crypto_errors_and_carry_no_plaintext(cctx: object) -> None:
    victim = Victim(full_name="Trần Thị Bích")
    db.session.add(victim)
    db.session.commit()
    blob = victim._full_name_ciphertext
    with pytest.raises(CryptoError) as info:
        _read_as(victim, "phone", blob)
    assert "Bích" not in str(info.value)


def test_the_associated_data_is_the_length_prefixed_packing_of_the_binding() -> None:
    binding = cipher.Binding("field", "person", "full_name", "row-ẞ")
    expected = cipher.pack(bytes([1, 1]), "field", "person", "full_name", "row-ẞ", "12")
    assert binding.aad(12) == expected
    # Length prefixes keep ("ab", "c") and ("a", "bc") apart.
    assert cipher.pack("ab", "c") != cipher.pack("a", "bc")
