"""Normalisers: spellings of one value meet, different values stay apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.crypto import normalise


@pytest.mark.parametrize(
    "spelling",
    ["Nguyễn Thị Hoa", "nguyen thi  hoa", "NGUYỄN THỊ HOA", " Nguyễn\tThị\nHoa ", "Nguyễn Thị Hoa"],
)
def test_vietnamese_names_fold_case_spacing_and_diacritics(spelling: str) -> None:
    assert normalise.name(spelling) == "nguyen thi hoa"


def test_d_with_stroke_folds_to_d() -> None:
    assert normalise.name("Đặng Văn Đức") == normalise.name("dang van duc") == "dang van duc"


def test_decomposed_and_composed_forms_meet() -> None:
    composed = "Nguyễn"
    decomposed = "Nguye\u0302\u0303n"
    assert normalise.name(composed) == normalise.name(decomposed)


def test_different_names_stay_different() -> None:
    assert normalise.name("Nguyễn Thị Hoa") != normalise.name("Nguyễn Thị Hòa Bình")


def test_empty_names_get_no_index() -> None:
    assert normalise.name("  ") is None
    assert normalise.name("...") is None


@pytest.mark.parametrize(
    "spelling",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "0912-345-678",
        "+84 912 345 678",
        "84912345678",
        "+84912345678",
        "0084 912 345 678",
        "(091) 234-5678",
        "912 345 678",
    ],
)
def test_phone_numbers_meet_in_national_form(spelling: str) -> None:
    assert normalise.phone(spelling) == "0912345678"


def test_landlines_keep_their_area_code() -> None:
    assert normalise.phone("+84 24 3825 1234") == normalise.phone("024.3825.1234") == "02438251234"


def test_phone_numbers_with_letters_get_no_index() -> None:
    assert normalise.phone("call me") is None
    assert normalise.phone("") is None


def test_id_numbers_lose_separators_and_case() -> None:
    assert normalise.id_number("001 190-012.345") == normalise.id_number("001190012345")
    assert normalise.id_number("b1234567") == "B1234567"
    assert normalise.id_number("--") is None


@given(st.text())
def test_normalising_twice_changes_nothing(text: str) -> None:
    for fn in (normalise.name, normalise.phone, normalise.id_number):
        once = fn(text)
        if once is not None:
            assert fn(once) == once


@given(st.text())
def test_a_name_normalises_to_lower_case_ascii_words_or_nothing(text: str) -> None:
    out = normalise.name(text)
    if out is not None:
        assert out == out.strip() and "  " not in out
        assert out == out.casefold()
