"""The hash chain: every edit, deletion and swap is found at its exact sequence number."""

from __future__ import annotations

import json
import random
import string
import threading
from datetime import datetime

import pytest
from sqlalchemy import select

from casework import audit
from casework.audit import Tag
from casework.audit.models import AuditEvent
from casework.audit.verify import COLUMNS, fetch_rows, verify_database, verify_rows
from casework.extensions import db
from tests.audit.chain import event_count, make_chain, tamper

PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "


def _edit_value(rng: random.Random, value: object) -> object:
    """Change exactly one byte of a stored value (as the database holds it)."""
    if isinstance(value, bytes):
        pos = rng.randrange(len(value))
        return value[:pos] + bytes([value[pos] ^ rng.randrange(1, 256)]) + value[pos + 1 :]
    if isinstance(value, int):
        digits = str(value)
        pos = rng.randrange(len(digits))
        new = rng.choice([d for d in string.digits if d != digits[pos]])
        return int(digits[:pos] + new + digits[pos + 1 :])
    if isinstance(value, datetime):  # PostgreSQL hands back the parsed timestamp
        text = value.isoformat()
        while True:
            pos = rng.randrange(len(text))
            if not text[pos].isdigit():
                continue
            new = rng.choice([d for d in string.digits if d != text[pos]])
            try:
                edited = datetime.fromisoformat(text[:pos] + new + text[pos + 1 :])
            except ValueError:
                continue
            if edited != value:
                return edited
    assert isinstance(value, str) and value.isascii()
    pos = rng.randrange(len(value))
    return value[:pos] + rng.choice([c for c in PRINTABLE if c != value[pos]]) + value[pos + 1 :]


@pytest.fixture
def rows(app):  # type: ignore[no-untyped-def]
    """A verified chain of ~60 stored events, as the verifier reads them."""
    with app.app_context():
        make_chain(60)
        stored = fetch_rows()
        assert len(stored) >= 60
        assert verify_rows(stored).ok
        yield stored


def test_a_chain_made_by_record_verifies(rows):
    report = verify_rows(rows)
    assert report.ok and report.checked == len(rows) and report.last_seq == len(rows)


def _edits(rows, rng, n=1000):  # type: ignore[no-untyped-def]
    """(expected first broken seq, mutated copy): one byte of one stored value changed."""
    for _ in range(n):
        k = rng.randrange(len(rows))
        row = list(rows[k])
        column = rng.choice([i for i, v in enumerate(row) if v is not None])
        row[column] = _edit_value(rng, row[column])
        yield rows[k][0], [*rows[:k], tuple(row), *rows[k + 1 :]]


def _deletions(rows, rng, n=200):  # type: ignore[no-untyped-def]
    """One to five consecutive events removed, never the last one (a checkpoint finds that)."""
    done = 0
    while done < n:
        k = rng.randrange(len(rows) - 1)
        length = rng.choice([1, 1, 1, 2, 5])
        if k + length < len(rows):
            done += 1
            yield rows[k][0], rows[:k] + rows[k + length :]


def _swaps(rows, rng, n=200):  # type: ignore[no-untyped-def]
    for trial in range(n):
        i, j = sorted(rng.sample(range(len(rows)), 2))
        copy = list(rows)
        if trial % 2:
            # Two rows change places, each keeping its own sequence number (a copy's order).
            copy[i], copy[j] = copy[j], copy[i]
        else:
            # Two events' contents change places under the original sequence numbers.
            copy[i] = (rows[i][0], *rows[j][1:])
            copy[j] = (rows[j][0], *rows[i][1:])
        yield rows[i][0], copy


def test_1000_random_single_byte_edits_are_all_found_at_their_sequence_number(rows):
    for expected, copy in _edits(rows, random.Random(20261129)):
        report = verify_rows(copy)
        assert not report.ok
        assert report.first.seq == expected, report.first


def test_200_deletions_are_all_found_at_the_missing_sequence_number(rows):
    for expected, copy in _deletions(rows, random.Random(1)):
        report = verify_rows(copy)
        assert report.first.seq == expected
        assert "(sự kiện được lưu tiếp theo là số" in report.first.what


def test_200_swaps_are_all_found_at_the_earlier_sequence_number(rows):
    for expected, copy in _swaps(rows, random.Random(2)):
        report = verify_rows(copy)
        assert not report.ok
        assert report.first.seq == expected, report.first


def _as_stored(rows):  # type: ignore[no-untyped-def]
    """What a database would hand back: numbered rows only, one per number, in seq order."""
    seen: dict[int, object] = {}
    for row in rows:
        if type(row[0]) is int:
            seen.setdefault(row[0], row)
    return [seen[seq] for seq in sorted(seen)]


@pytest.mark.parametrize("mutations", [_edits, _deletions, _swaps])
def test_ranges_verified_apart_give_exactly_the_verdict_of_one_pass(rows, mutations):
    # The parallel verification cuts the log into ranges and judges the seams afterwards.
    for size in (1, 7):
        for _, copy in mutations(rows, random.Random(size), 300):
            stored = _as_stored(copy)
            whole, parts = verify_rows(stored), verify_rows(stored, range_size=size)
            assert (parts.problems, parts.problem_count) == (whole.problems, whole.problem_count)
            assert (parts.checked, parts.last_seq) == (whole.checked, whole.last_seq)


def test_an_empty_string_for_nothing_is_an_edit(rows):
    # event_hash encodes None and "" alike; the verifier refuses the empty string instead.
    k = next(i for i, r in enumerate(rows) if r[COLUMNS.index("object_type")] is None)
    row = list(rows[k])
    row[COLUMNS.index("object_type")] = ""
    report = verify_rows([*rows[:k], tuple(row), *rows[k + 1 :]])
    assert report.first.seq == rows[k][0]


def test_an_edit_in_the_database_is_reported_by_the_command_at_its_sequence_number(app):
    with app.app_context():
        make_chain(40)
        tamper("UPDATE audit_event SET details = '{}' WHERE seq = :seq", seq=17)
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--batch", "7"])
    assert result.exit_code == 1
    assert "Nhật ký kiểm tra BỊ HỎNG tại sự kiện số 17:" in result.stdout
    assert "(sự kiện đã bị sửa)" in result.stdout
    with app.app_context():  # the run is itself audited: counts and sequence numbers only
        run = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        assert (run.tag, run.outcome) == (Tag.AUDIT_CHAIN_VERIFY.value, "error")
        details = json.loads(run.details)
        assert details["first_broken_seq"] == 17 and details["problems"] == 1


def test_a_deletion_in_the_database_is_reported_by_the_command(app):
    with app.app_context():
        make_chain(40)
        tamper("DELETE FROM audit_event WHERE seq IN (23, 24)")
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--batch", "5"])
    assert result.exit_code == 1
    assert "BỊ HỎNG tại sự kiện số 23: thiếu các sự kiện từ số 23 đến số 24" in result.stdout


def test_an_intact_log_verifies_with_exit_code_0(app):
    with app.app_context():
        make_chain(30)
        total = event_count()
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--batch", "4"])
    assert result.exit_code == 0, result.output
    assert f"nguyên vẹn: {total} sự kiện (đến sự kiện số {total})" in result.stdout
    with app.app_context():
        run = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        assert (run.tag, run.outcome, run.seq) == (Tag.AUDIT_CHAIN_VERIFY.value, "ok", total + 1)
        assert json.loads(run.details) == {
            "checked": total,
            "last_seq": total,
            "checkpoints_checked": 1,
            "problems": 0,
        }
    # The next run verifies the chain that includes the first run's event.
    again = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert again.exit_code == 0 and f"nguyên vẹn: {total + 1} sự kiện" in again.stdout


def test_eight_threads_appending_at_once_keep_one_valid_chain(app):
    per_thread, threads = 25, 8
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            for i in range(per_thread):
                with app.app_context():
                    audit.record(
                        None, Tag.ACCESS_REFUSED, object_type="probe", object_id=f"{n}-{i}"
                    )
                    db.session.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    with app.app_context():
        report = verify_database(batch=37)
        assert report.ok, report.problems
        assert report.checked == per_thread * threads
        ids = set(db.session.scalars(select(AuditEvent.object_id)))
        assert ids == {f"{n}-{i}" for n in range(threads) for i in range(per_thread)}


def test_worker_processes_verify_ranges_and_find_a_break_at_a_seam(app):
    with app.app_context():
        make_chain(40)
        # Seq 19 is the first event of the third range: its link is judged at the seam.
        tamper("UPDATE audit_event SET prev_hash = :h WHERE seq = 19", h=bytes(32))
        report = verify_database(jobs=2, range_size=9)
        assert report.checked == event_count()
        assert report.problem_count == 1  # every other range and seam is sound
        assert report.first.seq == 19
        assert "liên kết với sự kiện số 18 bị đứt" in report.first.what
