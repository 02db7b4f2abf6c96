"""Blind indexes: sized by CipherSweet's rule; searches return exact matches only."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.crypto import blindindex, normalise
from casework.crypto.blindindex import BlindIndex, bits_range, search
from casework.crypto.keyring import MasterKey
from casework.extensions import db
from tests.crypto.models import Victim


def test_index_sizes_follow_ciphersweets_rule() -> None:
    assert bits_range(100_000) == (9, 15)  # SECURITY.md: 9–15 bits for 100,000 records
    assert bits_range(1_000_000) == (10, 18)
    for index in (blindindex.NAME, blindindex.PHONE, blindindex.ID_NUMBER):
        for population in (100_000, 1_000_000):
            low, high = bits_range(population)
            assert low <= index.bits <= high


def test_a_low_entropy_field_is_never_indexed_alone() -> None:
    with pytest.raises(ValueError, match="low-entropy"):
        BlindIndex(normalise.CHOICE)


def test_each_column_has_its_own_index_key() -> None:
    master = MasterKey("mk-x", bytes(32))
    name_key = blindindex.column_key(master, "person", "full_name")
    other_key = blindindex.column_key(master, "person", "mother_name")
    assert name_key != other_key
    assert name_key != blindindex.column_key(
        MasterKey("mk-y", bytes(31) + b"\x01"), "person", "full_name"
    )


def test_search_finds_a_person_by_any_spelling(cctx: Flask) -> None:
    hoa = Victim(full_name="Nguyễn Thị Hoa", phone="+84 912 345 678", id_number="001190012345")
    db.session.add_all([hoa, Victim(full_name="Nguyễn Thị Hồng"), Victim(full_name="Trần Văn Hoa")])
    db.session.commit()
    assert search(Victim.full_name, "nguyen thi  hoa") == [hoa]
    assert search(Victim.phone, "0912.345.678") == [hoa]
    assert search(Victim.id_number, "001 190 012 345") == [hoa]
    assert search(Victim.full_name, "Lê Thị Hoa") == []
    assert search(Victim.full_name, "   ") == []


def test_search_shows_no_false_positive_and_misses_no_one(
    cctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two bits: every index value is shared by about a quarter of the table.
    monkeypatch.setattr(Victim.__dict__["full_name"], "index", BlindIndex(normalise.NAME, bits=2))
    names = [f"Người Số {i}" for i in range(120)]
    db.session.add_all([Victim(full_name=n) for n in names])
    db.session.commit()
    for name in names:
        found = search(Victim.full_name, name.upper())
        assert [v.full_name for v in found] == [name]
    wanted = db.session.scalar(
        select(Victim._full_name_bidx).where(Victim._full_name_bidx.is_not(None)).limit(1)
    )
    candidates = db.session.scalar(select(func.count()).where(Victim._full_name_bidx == wanted))
    assert candidates > 1  # the index alone would have shown strangers


def test_search_can_be_scoped(cctx: Flask) -> None:
    a, b = Victim(full_name="Hà Thị Lan", sex="f"), Victim(full_name="Hà Thị Lan", sex="x")
    db.session.add_all([a, b])
    db.session.commit()
    assert {v.id for v in search(Victim.full_name, "ha thi lan")} == {a.id, b.id}
    assert search(Victim.full_name, "ha thi lan", where=[Victim.sex == "f"]) == [a]


def test_a_field_without_index_cannot_be_searched(cctx: Flask) -> None:
    with pytest.raises(ValueError):
        search(Victim.birth_date, "1990-01-01")


def test_several_lookups_are_answered_together_each_with_its_own_conditions(cctx: Flask) -> None:
    lan = Victim(full_name="Hà Thị Lan", phone="0912 345 678", sex="f")
    namesake = Victim(full_name="Hà Thị Lan", sex="x")
    same_phone = Victim(full_name="Lê Thị Mai", phone="+84912345678", sex="f")
    stranger = Victim(full_name="Trần Thị Thu", phone="0987 654 321", id_number="079190000001")
    db.session.add_all([lan, namesake, same_phone, stranger])
    db.session.commit()
    lookups = [
        blindindex.Lookup(Victim.phone, "0912345678"),
        blindindex.Lookup(Victim.full_name, "ha thi lan", (Victim.sex == "x",)),
        blindindex.Lookup(Victim.id_number, "   "),  # nothing to look up: skipped
    ]
    found = blindindex.matches(lookups, columns=[Victim.sex])
    # The phone's two holders (whatever their sex), then the namesake only under her own condition;
    # each row once, with the columns asked for.
    assert sorted(found[:2]) == sorted([(lan.id, "f"), (same_phone.id, "f")])
    assert found[2:] == [(namesake.id, "x")]
    # Conditions for every lookup narrow them all.
    assert blindindex.matches(lookups, where=[Victim.id != lan.id]) == [
        (same_phone.id,),
        (namesake.id,),
    ]
    assert blindindex.matches([]) == []
    with pytest.raises(ValueError, match="no blind index"):
        blindindex.matches([blindindex.Lookup(Victim.birth_date, "1990-01-01")])
