"""Normalisers for blind indexes: two spellings of one value must give one index.

Each returns None for a value that has nothing left to index (an empty name, a phone number with
no digits): such a value gets no index at all rather than a common one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

_SPACE = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]+")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/]+")
_ID_SEPARATORS = re.compile(r"[\s.\-/]+")
# Letters that Unicode does not decompose into a base letter and a mark.
_FOLD = str.maketrans({"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ß": "ss", "æ": "ae", "œ": "oe"})


# The combining diacritical marks of Latin script (Vietnamese tones and vowel marks among them);
# marks of other scripts (Thai or Khmer vowel signs) are letters' parts, not accents, and stay.
_LATIN_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold_diacritics(text: str) -> str:
    return _LATIN_MARKS.sub("", unicodedata.normalize("NFKD", text)).translate(_FOLD)


def name(value: str) -> str | None:
    """A person's name: NFKC, case-folded, diacritics folded (đ → d), punctuation and extra spaces
    gone. "Nguyễn Thị Hoa" and "nguyen thi  hoa" give the same "nguyen thi hoa"."""
    text = unicodedata.normalize("NFKC", value).casefold()
    text = fold_diacritics(text)
    text = _NOT_WORD.sub(" ", text).replace("_", " ")
    text = _SPACE.sub(" ", text).strip()
    return text or None


def phone(value: str) -> str | None:
    """A Vietnamese phone number in national form (0 + 9 or 10 digits): +84, 0084 and 84 prefixes
    become 0; spaces, dots, dashes, slashes and brackets go."""
    text = unicodedata.normalize("NFKC", value).strip()
    text = _PHONE_SEPARATORS.sub("", text)
    if text.startswith("+"):
        text = text[1:]
        if text.startswith("84"):
            text = "0" + text[2:]
    elif text.startswith("0084"):
        text = "0" + text[4:]
    elif text.startswith("84") and len(text) in (11, 12):
        text = "0" + text[2:]
    if not text.isdigit() or not text.isascii():
        return None
    if len(text) == 9 and text[0] in "35789":  # a mobile number written without its leading 0
        text = "0" + text
    return text


def id_number(value: str) -> str | None:
    """An identity document number (CCCD, CMND, passport): NFKC, upper case, no separators."""
    text = unicodedata.normalize("NFKC", value).upper()
    text = _ID_SEPARATORS.sub("", text)
    if not text.isalnum() or not text.isascii():
        return None
    return text


@dataclass(frozen=True)
class Normaliser:
    """A named normalisation. A low-entropy one (sex, is-child) may never be indexed alone."""

    name: str
    function: Callable[[str], str | None]
    low_entropy: bool = False

    def __call__(self, value: str) -> str | None:
        return self.function(value)


def choice(value: str) -> str | None:
    """A value from a short list (sex, yes/no): low entropy."""
    text = unicodedata.normalize("NFKC", value).casefold().strip()
    return text or None


NAME = Normaliser("name", name)
PHONE = Normaliser("phone", phone)
ID_NUMBER = Normaliser("id_number", id_number)
CHOICE = Normaliser("choice", choice, low_entropy=True)
