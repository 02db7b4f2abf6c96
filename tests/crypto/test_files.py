"""Encrypted attachments: streamed, chunk-authenticated, cut or reordered files fail."""

from __future__ import annotations

import io
import os
import tracemalloc
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask

from casework.crypto import files, shredding
from casework.crypto.errors import DataKeyMissing, KeyShredded, MalformedCiphertext
from casework.extensions import db
from tests.conftest import CANARY

CHUNK = 1024  # small chunks keep the tests quick; production uses 64 KiB


def _store(data: bytes, owner: uuid.UUID | None = None) -> files.StoredFile:
    return files.store(
        db.session(), "case", owner or uuid.uuid4(), io.BytesIO(data), chunk_size=CHUNK
    )


def _read(stored: files.StoredFile) -> bytes:
    return b"".join(files.open_stream(db.session(), "case", stored.owner_id, stored.id))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 17])
def test_attachments_round_trip(cctx: Flask, size: int) -> None:
    data = os.urandom(size)
    stored = _store(data)
    db.session.commit()
    assert stored.size == size
    assert _read(stored) == data


def test_the_file_on_disk_holds_no_plaintext_and_no_name(cctx: Flask) -> None:
    data = (CANARY + " statement\n").encode() * 200
    stored = _store(data)
    path = files.path_of("case", stored.owner_id, stored.id)
    assert CANARY.encode() not in path.read_bytes()
    assert str(path).endswith(str(stored.id))


def _tamper(stored: files.StoredFile, change) -> None:  # type: ignore[no-untyped-def]
    path = files.path_of("case", stored.owner_id, stored.id)
    path.write_bytes(change(path.read_bytes()))


RECORD = 12 + CHUNK + 16
HEADER = 13


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda b: b[: HEADER + 2 * RECORD], id="cut at a chunk boundary"),
        pytest.param(lambda b: b[:-1], id="last byte cut"),
        pytest.param(lambda b: b[:HEADER], id="only the header"),
        pytest.param(
            lambda b: (
                b[:HEADER]
                + b[HEADER + RECORD : HEADER + 2 * RECORD]
                + b[HEADER : HEADER + RECORD]
                + b[HEADER + 2 * RECORD :]
            ),
            id="two chunks swapped",
        ),
        pytest.param(lambda b: b + b"extra", id="data after the end"),
        pytest.param(lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:], id="one bit flipped"),
        pytest.param(lambda b: b[:5] + b"\x00\x00\x00\x09" + b[9:], id="another key version"),
    ],
)
def test_a_damaged_attachment_fails(cctx: Flask, change) -> None:  # type: ignore[no-untyped-def]
    stored = _store(os.urandom(3 * CHUNK + 100))
    db.session.commit()
    _tamper(stored, change)
    with pytest.raises((MalformedCiphertext, DataKeyMissing)):
        _read(stored)


def test_an_attachment_moved_to_another_file_id_fails(cctx: Flask) -> None:
    owner = uuid.uuid4()
    first, second = _store(b"first" * 500, owner), _store(b"second" * 500, owner)
    db.session.commit()
    a = files.path_of("case", owner, first.id)
    b = files.path_of("case", owner, second.id)
    b.write_bytes(a.read_bytes())
    with pytest.raises(MalformedCiphertext):
        _read(second)


def test_a_large_attachment_is_never_whole_in_memory(cctx: Flask) -> None:
    size = 8 * 1024 * 1024

    class Source(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            n = min(len(buffer), self.left)
            buffer[:n] = b"x" * n
            self.left -= n
            return n

    owner = uuid.uuid4()
    # Once through first: the first store and read of a process compile SQL statements and
    # configure mappers (megabytes that depend on which tests ran before, not on the file).
    _read(files.store(db.session(), "case", owner, io.BytesIO(b"warm-up")))
    tracemalloc.start()
    baseline, _peak = tracemalloc.get_traced_memory()
    stored = files.store(db.session(), "case", owner, io.BufferedReader(Source()))
    total = 0
    chunks: Iterator[bytes] = files.open_stream(db.session(), "case", stored.owner_id, stored.id)
    for chunk in chunks:
        total += len(chunk)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total == size
    assert peak - baseline < size // 8


def test_the_attachments_of_a_shredded_case_are_erased(cctx: Flask) -> None:
    owner = uuid.uuid4()
    stored = _store(b"evidence" * 100, owner)
    db.session.commit()
    shredding.shred(None, "case", owner)
    db.session.commit()
    with pytest.raises(KeyShredded):
        _read(stored)
