"""audit.record() and event_hash(): a stable encoding, nothing stored that the verifier would refuse."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime
from types import SimpleNamespace

from flask import Flask, g
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from casework import audit
from casework.audit import Tag
from casework.audit.models import AuditEvent
from casework.audit.service import DOMAIN, GENESIS, _utc_text, event_hash
from casework.audit.verify import ChainRow, fetch_rows, verify_rows
from casework.extensions import db

FIRST = ChainRow(
    seq=1,
    at=datetime(2026, 11, 29, 13, 0, 0, 123456, tzinfo=UTC),
    actor_id=None,
    actor_unit_id=None,
    actor_partner_id=None,
    actor_role=None,
    tag="crypto:keyring:init",
    object_type=None,
    object_id=None,
    outcome="ok",
    request_id=None,
    client_address=None,
    details="{}",
    prev_hash=GENESIS,
    hash=b"",
)
FIRST_HASH = "09e403c13b0df430a33b35ae5d19645038ec31d1a147694c47f9ea2a1b5c0cdf"
SECOND = ChainRow(
    seq=2,
    at=datetime(2026, 11, 29, 13, 0, 1, 0, tzinfo=UTC),
    actor_id=42,
    actor_unit_id=7,
    actor_partner_id=None,
    actor_role="officer",
    tag="case:file:read",
    object_type="case",
    object_id="6f1c2d9e-3b7a-4c1e-9a55-000000012345",
    outcome="refused",
    request_id="0123456789abcdef",
    client_address="10.1.2.3",
    details='{"fields":["phone","status"],"n":3,"note":"Tiếng Việt"}',
    prev_hash=bytes.fromhex(FIRST_HASH),
    hash=b"",
)
SECOND_HASH = "a0b6c4b6328d64ee86ff5171245708d926831b6f75879f65dd64804e58ee9aca"


def _reference_hash(event: ChainRow) -> bytes:
    """The encoding as first written: one update per length-prefixed field."""
    h = hashlib.sha256(DOMAIN)
    h.update(event.prev_hash)
    for value in (event.seq, event.at.isoformat(timespec="microseconds"), *event[2:13]):
        raw = b"" if value is None else str(value).encode("utf-8")
        h.update(len(raw).to_bytes(4, "big") + raw)
    return h.digest()


def test_event_hash_golden_vectors_never_change():
    # Logs written by every earlier version must keep verifying.
    assert event_hash(FIRST).hex() == FIRST_HASH
    assert event_hash(SECOND).hex() == SECOND_HASH


_text = st.none() | st.text(max_size=300)
_id = st.none() | st.integers(min_value=0, max_value=2**62)


@given(
    seq=st.integers(min_value=1, max_value=2**62),
    at=st.datetimes(timezones=st.just(UTC)),
    ids=st.tuples(_id, _id, _id),
    texts=st.tuples(_text, st.text(max_size=64), _text, _text, st.text(max_size=8), _text, _text),
    details=st.text(max_size=1000),
    prev=st.binary(min_size=32, max_size=32),
)
def test_event_hash_is_the_length_prefixed_encoding_of_every_field(
    seq, at, ids, texts, details, prev
):
    role, tag, object_type, object_id, outcome, request_id, address = texts
    event = ChainRow(
        seq, at, *ids, role, tag, object_type, object_id, outcome, request_id, address,
        details, prev, b"",
    )  # fmt: skip
    assert event_hash(event) == _reference_hash(event)


def test_record_stores_nothing_rather_than_an_empty_string(ctx):
    audit.record(None, Tag.KEYS_INIT, object_type="", object_id="")
    db.session.commit()
    event = db.session.scalar(select(AuditEvent))
    assert event.object_type is None and event.object_id is None
    assert verify_rows(fetch_rows()).ok


def test_a_recorded_event_is_returned_read_only_and_never_flushed_as_an_update(ctx):
    import pytest

    event = audit.record(None, Tag.KEYS_INIT)
    with pytest.raises(AttributeError):
        event.outcome = "refused"  # type: ignore[misc]
    db.session.commit()
    stored = db.session.get(AuditEvent, event.seq)
    assert (stored.outcome, stored.hash, stored.at) == ("ok", event.hash, event.at)
    assert verify_rows(fetch_rows()).ok


def test_details_must_be_ids_or_field_names(ctx):
    import pytest

    with pytest.raises(TypeError):
        audit.record(None, Tag.KEYS_INIT, note={"name": "x"})


@given(at=st.datetimes(timezones=st.just(UTC)))
def test_the_time_is_hashed_as_isoformat_writes_it(at):
    assert _utc_text(at) == at.isoformat(timespec="microseconds")


def test_record_stores_exactly_what_the_orm_would_write_whichever_fields_are_empty(app: Flask):
    """Every mix of empty and filled columns: the raw row holds the returned event, the time in
    SQLAlchemy's own form for the column, nothing as NULL and the hashes as 32 bytes."""
    officer = SimpleNamespace(id=42, unit_id=7, partner_id=3, role="officer")
    nobody = SimpleNamespace(id=None, unit_id=None, partner_id=None, role="")
    events = []
    with app.app_context():
        for actor, obj_id, in_request in itertools.product(
            (None, officer, nobody), (None, "6f1c2d9e"), (False, True)
        ):
            if in_request:
                with app.test_request_context(environ_base={"REMOTE_ADDR": "10.1.2.3"}):
                    g.request_id = "0123456789abcdef"
                    events.append(audit.record(actor, Tag.KEYS_INIT, object_id=obj_id, n=1))
            else:
                events.append(audit.record(actor, Tag.KEYS_INIT, object_type="case", n=[1, 2]))
            db.session.commit()
        dialect = db.engine.dialect
        time_type = AuditEvent.__table__.c.at.type.dialect_impl(dialect)
        to_db = time_type.bind_processor(dialect) or (lambda v: v)
        rows = fetch_rows()
        assert len(rows) == len(events) == 12
        for row, event in zip(rows, events, strict=True):
            assert row[0] == event.seq
            assert row[1] == to_db(event.at)
            assert tuple(row[2:13]) == tuple(event[2:13])
            assert (bytes(row[13]), bytes(row[14])) == (event.prev_hash, event.hash)
        assert (rows[-1][10], rows[-1][11]) == ("0123456789abcdef", "10.1.2.3")
        assert rows[-1][2:6] == (None, None, None, None)  # nobody: all four nothing
        assert verify_rows(rows).ok


def test_the_next_event_finds_the_head_by_key_even_with_statistics_older_than_the_log(ctx):
    from sqlalchemy import text

    from casework.audit.service import _driver

    for _ in range(40):
        audit.record(None, Tag.KEYS_INIT)
    db.session.commit()
    head_sql = _driver(db.engine.dialect).head
    if db.engine.dialect.name == "sqlite":
        # What ANALYZE left when the log was smaller (seen on a grown database): SQLite then
        # preferred sorting the whole log by another index to reading its last row.
        db.session.execute(text("ANALYZE"))
        db.session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'audit_event'"))
        db.session.execute(
            text("INSERT INTO sqlite_stat1 VALUES ('audit_event', 'ix_audit_event_at', '5832 2')")
        )
        db.session.execute(text("ANALYZE sqlite_schema"))  # the statistics are read again
        plan = " ".join(
            str(row[-1]) for row in db.session.execute(text("EXPLAIN QUERY PLAN " + head_sql))
        )
        assert "TEMP B-TREE" not in plan and "SCAN audit_event" not in plan, plan
    last = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    seq, hash_, _checkpoint_at = db.session.execute(text(head_sql)).one()
    assert (seq, bytes(hash_)) == (last.seq, last.hash)
    # The chain goes on from there.
    audit.record(None, Tag.KEYS_INIT)
    db.session.commit()
    assert verify_rows(fetch_rows()).ok
