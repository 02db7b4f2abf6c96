"""Verification of the audit chain: every hash recomputed, every link and sequence number checked.

Rows are read in seq order in bounded batches (keyset pagination), straight from the database driver:
raw stored values, not what the ORM would make of them, so an edit that the ORM would silently
normalise (another spelling of the same time, an empty string for nothing) is caught too. Reads run
outside any transaction of the caller's session and hold no lock between batches.

A long log can be cut into ranges of sequence numbers verified by worker processes at once: each range
is checked on its own, and the seams between ranges (sequence continuity, the previous-hash link) are
checked when the results are put together, exactly as one pass would. The same ChainVerifier checks a
list of rows in memory, which is how the tests mutate a copy.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from casework.audit import checkpoints

# BATCH, COLUMNS, ChainRow, fetch_rows and head_seq: callers import them from here too.
from casework.audit.rows import BATCH as BATCH
from casework.audit.rows import COLUMNS as COLUMNS
from casework.audit.rows import (
    HASH_INDEX,
    SEQ_FLOOR,
    Reader,
    Unreadable,
    app_reader,
    decode,
    plain_digest,
    stored_time,
)
from casework.audit.rows import ChainRow as ChainRow
from casework.audit.rows import fetch_rows as fetch_rows
from casework.audit.rows import hash_value as _hash_value
from casework.audit.rows import head_seq as head_seq
from casework.audit.service import GENESIS, event_hash
from casework.crypto import signing
from casework.extensions import db

RANGE = 250_000  # events per worker task when verifying in parallel
MAX_LISTED = 20


@dataclass(frozen=True)
class Problem:
    """Where the chain breaks and what is wrong there; `what` is worded when shown (in a worker
    process there is no language yet)."""

    seq: int
    what: LazyString

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}"


@dataclass
class Report:
    checked: int = 0
    last_seq: int = 0
    last_hash: bytes = GENESIS
    checkpoints_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


@dataclass(frozen=True)
class Anchor:
    """A hash the chain must have at a sequence number (a stored or an exported checkpoint)."""

    seq: int
    hash: bytes
    name: LazyString


@dataclass
class RangeResult:
    """One range's verdict, and what the seams with its neighbours are checked with."""

    lo: int
    first_seq: int | None = None  # the first row, whose number and link the seam check judges
    first_prev: bytes | None = None
    first_wrong: list[LazyString] = field(default_factory=list)  # its other faults, if any
    first_fault: LazyString | None = None  # the first row could not be read at all
    started: bool = False  # a row in its place was found (not only rows numbered too low)
    end_expect: int = 0  # where the range left off: the next number and hash expected
    end_prev: bytes | None = None
    last_seq: int = 0
    last_hash: bytes = GENESIS
    checked: int = 0
    checkpoints_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0


class ChainVerifier:
    """Feed one range's rows in seq order; problems are named by the number where the chain breaks.

    The range's first row is not judged against what came before (the range does not know it): its
    number, link and faults are kept for the seam check in stitch().
    """

    def __init__(self, lo: int = 1, anchors: Iterable[Anchor] = ()) -> None:
        self.result = RangeResult(lo=lo, end_expect=lo)
        self._anchors: dict[int, list[Anchor]] = {}
        for anchor in anchors:
            self._anchors.setdefault(anchor.seq, []).append(anchor)

    def add_problem(self, seq: int, what: LazyString) -> None:
        result = self.result
        result.problem_count += 1
        if len(result.problems) < MAX_LISTED:
            result.problems.append(Problem(seq, what))

    def feed(self, rows: Iterable[Sequence[Any]]) -> None:
        """Check rows in order. The loop settles the usual row itself (plain form, in its place,
        linked, intact, no checkpoint there) and hands every other one to _check(), which judges it
        from scratch: the same verdicts, without a method call and attribute updates per row."""
        result, anchors, digest_of = self.result, self._anchors, plain_digest
        expect, prev, checked = result.end_expect, result.end_prev, 0
        for raw in rows:
            if raw[0] == expect and expect not in anchors and raw[13] == prev:
                stored = raw[14]
                if digest_of(raw) == stored and stored is not None and result.started:
                    expect, prev = expect + 1, stored
                    checked += 1
                    continue
            if checked:  # bring the result up to date before _check reads it
                self._advance(expect, prev, checked)
                checked = 0
            self._check(raw)
            expect, prev = result.end_expect, result.end_prev
        if checked:
            self._advance(expect, prev, checked)

    def _advance(self, expect: int, prev: bytes, checked: int) -> None:
        result = self.result
        result.checked += checked
        result.end_expect, result.end_prev = expect, prev
        result.last_seq, result.last_hash = expect - 1, prev

    def _check(self, raw: Sequence[Any]) -> None:
        result = self.result
        first = not result.started
        result.checked += 1
        digest = plain_digest(raw)  # the fast path: most rows are in the plain form
        if digest is not None:
            seq, prev, stored = raw[0], raw[13], raw[14]
        else:
            try:
                row = decode(raw)
            except Unreadable as exc:
                self._unreadable(raw, exc, first)
                return
            digest, seq, prev, stored = event_hash(row), row.seq, row.prev_hash, row.hash
        expect = result.end_expect
        if seq < expect:
            # Numbered below where the chain stands (a stray or a renumbered event): one problem,
            # and the chain carries on as if the row were not there.
            self.add_problem(expect, _sequence_fault(expect, seq))
            return
        result.started = True
        # An intact row in its place, linked to the one before, no checkpoint here: nothing to say.
        if (
            first
            or seq != expect
            or digest != stored
            or prev != result.end_prev
            or seq in self._anchors
        ):
            self._judge(seq, prev, stored, digest, first, expect)
        result.end_expect = seq + 1
        result.end_prev = stored
        result.last_seq = seq
        result.last_hash = stored

    def _judge(
        self, seq: int, prev: bytes, stored: bytes, digest: bytes, first: bool, expect: int
    ) -> None:
        result = self.result
        wrong = []
        if digest != stored:
            wrong.append(_l("its contents do not match its hash (the event was altered)"))
        for anchor in self._anchors.get(seq, ()):
            if anchor.hash == stored:
                result.checkpoints_checked += 1
            else:
                wrong.append(
                    _l("its hash differs from the one signed in %(name)s", name=anchor.name)
                )
        if first:
            result.first_seq, result.first_prev, result.first_wrong = seq, prev, wrong
        elif seq != expect:
            self.add_problem(expect, _sequence_fault(expect, seq))
        else:
            if prev != result.end_prev:
                wrong.insert(0, _link_fault(expect))
            if wrong:
                self.add_problem(expect, _all_of(wrong))

    def _unreadable(self, raw: Sequence[Any], exc: Unreadable, first: bool) -> None:
        result = self.result
        expect = result.end_expect
        result.started = True
        what = _l("the event stored here cannot be checked: %(reason)s", reason=exc.reason)
        if first:
            result.first_fault = what  # where it breaks is known at the seam only
        else:
            self.add_problem(expect, what)
        # Carry on from where the row claims to be, so that one bad row is one problem.
        seq = raw[0]
        result.end_expect = (seq if type(seq) is int and seq >= expect else expect) + 1
        stored = raw[HASH_INDEX]
        result.end_prev = bytes(stored) if isinstance(stored, bytes | memoryview) else None


def _sequence_fault(expect: int, found: int) -> LazyString:
    if found == expect + 1:
        return _l(
            "event %(seq)d is missing (the next stored event is %(found)d)", seq=expect, found=found
        )
    if found > expect:
        return _l(
            "events %(first)d to %(last)d are missing (the next stored event is %(found)d)",
            first=expect,
            last=found - 1,
            found=found,
        )
    return _l(
        "an event numbered %(found)d is stored where %(seq)d should be", found=found, seq=expect
    )


def _link_fault(expect: int) -> LazyString:
    if expect == 1:
        return _l("it does not start from the genesis value")
    return _l("its link to event %(seq)d is broken (previous hash differs)", seq=expect - 1)


def _joined(*faults: LazyString) -> str:
    return "; ".join(str(f) for f in faults)


def _all_of(faults: list[LazyString]) -> LazyString:
    """Several faults of one event as one text, worded when shown."""
    return faults[0] if len(faults) == 1 else LazyString(_joined, *faults)


def stitch(results: Iterable[RangeResult], anchors: Iterable[Anchor] = ()) -> Report:
    """Put range verdicts together in seq order, judging each range's first row at the seam."""
    report = Report()
    problems: list[Problem] = []
    expect, prev = 1, GENESIS
    for r in results:
        report.checked += r.checked
        report.checkpoints_checked += r.checkpoints_checked
        report.problem_count += r.problem_count
        problems.extend(r.problems)
        if r.first_fault is not None:
            report.problem_count += 1
            problems.append(Problem(expect, r.first_fault))
        elif r.first_seq is not None:
            seam = None
            if r.first_seq != expect:
                seam = _sequence_fault(expect, r.first_seq)
            else:
                wrong = list(r.first_wrong)
                if r.first_prev != prev:
                    wrong.insert(0, _link_fault(expect))
                seam = _all_of(wrong) if wrong else None
            if seam is not None:
                report.problem_count += 1
                problems.append(Problem(expect, seam))
        if r.started:
            expect, prev = r.end_expect, r.end_prev  # type: ignore[assignment]
        if r.last_seq:  # the range holds a readable event in its place
            report.last_seq, report.last_hash = r.last_seq, r.last_hash
    last = report.last_seq
    beyond = [a for a in anchors if a.seq > last]
    if beyond:
        anchor = max(beyond, key=lambda a: a.seq)
        report.problem_count += 1
        problems.append(
            Problem(
                last + 1,
                _l(
                    "the log ends at event %(last)d, but %(name)s vouches for event %(seq)d: "
                    "events %(first)d to %(seq)d have been removed",
                    last=last,
                    name=anchor.name,
                    seq=anchor.seq,
                    first=last + 1,
                ),
            )
        )
    report.problems = sorted(problems, key=lambda p: p.seq)[:MAX_LISTED]
    return report


def verify_rows(
    rows: Iterable[Sequence[Any]], anchors: Iterable[Anchor] = (), *, range_size: int | None = None
) -> Report:
    """Verify stored rows (COLUMNS order) given in seq order, in memory: the command's own checks.

    With range_size, the rows are cut into ranges by sequence number and put together again, as the
    parallel verification does.
    """
    anchors = list(anchors)
    if range_size is None:
        verifier = ChainVerifier(1, anchors)
        verifier.feed(rows)
        return stitch([verifier.result], anchors)
    ranges: dict[int, list[Sequence[Any]]] = {}
    for raw in rows:
        if type(raw[0]) is int:  # in a database, a non-number falls outside every range
            ranges.setdefault(max(raw[0] - 1, 0) // range_size, []).append(raw)
    results = []
    for index in range(max(ranges, default=-1) + 1):
        lo = index * range_size + 1
        verifier = ChainVerifier(lo, [a for a in anchors if lo <= a.seq < lo + range_size])
        verifier.feed(ranges.get(index, []))
        results.append(verifier.result)
    return stitch(results, anchors)


# --- Reading the database ----------------------------------------------------------------------


def stored_anchors(reader: Reader) -> tuple[list[Anchor], list[Problem]]:
    """The stored checkpoints as anchors, and a problem for each whose signature fails."""
    keyring = current_app.config["MASTER_KEYRING"]
    trusted = signing.trusted_keys(keyring)
    anchors: list[Anchor] = []
    problems: list[Problem] = []
    for seq, head_hash, at, key_id, signature, algorithm, public in reader.checkpoints():
        name = _l("the stored checkpoint at event %(seq)s", seq=seq)
        try:
            head = checkpoints.SignedHead(
                seq,
                _hash_value(head_hash, "hash"),
                stored_time(at),
                key_id,
                bytes(signature),
                algorithm,
                None if public is None else bytes(public),
            )
        except (Unreadable, TypeError):
            problems.append(Problem(seq, _l("%(name)s cannot be read", name=name)))
            continue
        if not checkpoints.signature_valid(keyring, head, trusted):
            problems.append(Problem(seq, _l("%(name)s has no valid signature", name=name)))
            continue
        anchors.append(Anchor(seq, head.hash, name))
    return anchors, problems


def exported_anchor(head: checkpoints.SignedHead) -> tuple[Anchor | None, Problem | None]:
    """An exported checkpoint as an anchor, once its signature is checked."""
    name = _l("the exported checkpoint (event %(seq)d)", seq=head.seq)
    if not checkpoints.signature_valid(current_app.config["MASTER_KEYRING"], head):
        return None, Problem(
            head.seq, _l("%(name)s has no valid signature (or its key is unknown)", name=name)
        )
    return Anchor(head.seq, head.hash, name), None


def verify_range(
    reader: Reader,
    lo: int,
    hi: int,
    anchors: Iterable[Anchor],
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> RangeResult:
    """Verify the events numbered lo to hi; the first range (lo 1) also reads any row numbered
    below 1, which can only have been put there by hand."""
    verifier = ChainVerifier(lo, anchors)
    for rows in reader.batches(SEQ_FLOOR if lo == 1 else lo, hi, batch):
        verifier.feed(rows)
        if progress is not None:
            progress(len(rows))
    return verifier.result


def _range_worker(url: str, lo: int, hi: int, anchors: list[Anchor], batch: int) -> RangeResult:
    """One range, in a worker process with a connection of its own."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        reader = Reader(engine.raw_connection(), engine.dialect.name == "sqlite")
        try:
            return verify_range(reader, lo, hi, anchors, batch)
        finally:
            reader.close()
    finally:
        engine.dispose()


def verify_database(
    *,
    exported: checkpoints.SignedHead | None = None,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
    jobs: int = 1,
    range_size: int = RANGE,
) -> Report:
    """Verify the whole stored chain against itself, the stored checkpoints and an exported one.

    Checkpoints are read before the head, so a checkpoint made meanwhile is never mistaken for
    truncation; events appended after the start are left for the next run. With jobs > 1 and more
    than one range of events, ranges are verified by that many worker processes.
    """
    reader = app_reader()
    try:
        anchors, problems = stored_anchors(reader)
        if exported is not None:
            anchor, problem = exported_anchor(exported)
            if anchor is not None:
                anchors.append(anchor)
            if problem is not None:
                problems.append(problem)
        upto = reader.head()
        bounds = [(lo, min(lo + range_size - 1, upto)) for lo in range(1, upto + 1, range_size)]
        if jobs > 1 and len(bounds) > 1:
            results = _in_parallel(bounds, anchors, batch, jobs, progress)
        else:
            results = [verify_range(reader, 1, upto, anchors, batch, progress)]
    finally:
        reader.close()
    report = stitch(results, anchors)
    report.problem_count += len(problems)
    report.problems = sorted([*report.problems, *problems], key=lambda p: p.seq)[:MAX_LISTED]
    return report


def _in_parallel(
    bounds: list[tuple[int, int]],
    anchors: list[Anchor],
    batch: int,
    jobs: int,
    progress: Callable[[int], None] | None,
) -> list[RangeResult]:
    url = db.engine.url.render_as_string(hide_password=False)
    # Spawned, not forked: a fork would share the parent's open database connections.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(bounds)), mp_context=context) as pool:
        futures = [
            pool.submit(
                _range_worker, url, lo, hi, [a for a in anchors if lo <= a.seq <= hi], batch
            )
            for lo, hi in bounds
        ]
        results = []
        for future in futures:
            result = future.result()
            results.append(result)
            if progress is not None:
                progress(result.checked)
    return results
