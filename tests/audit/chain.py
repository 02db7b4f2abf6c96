"""Helpers for the audit tests: a varied chain of events, and tampering behind the guards' back."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy import func, select, text

from casework import audit
from casework.audit import Tag
from casework.audit.models import (
    GUARDED_TABLES,
    OUTCOMES,
    AuditEvent,
    drop_guard_statements,
    guard_statements,
)
from casework.extensions import db
from tests.conftest import make_tree, make_user


def event_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def make_chain(n: int = 60, seed: int = 7) -> None:
    """At least n committed events from real services and varied record() calls (app context)."""
    tree = make_tree()
    people = [
        None,
        make_user("thu", "officer", tree["C1"]),
        make_user("lan", "reviewer", tree["D1"]),
    ]
    rng = random.Random(seed)
    tags = list(Tag)
    i = 0
    while event_count() < n:
        i += 1
        actor = rng.choice(people)
        with current_app.test_request_context(environ_base={"REMOTE_ADDR": f"10.0.0.{i % 250}"}):
            g.request_id = secrets.token_hex(8)
            audit.record(
                actor,
                rng.choice(tags),
                object_type=rng.choice([None, "case", "user_account"]),
                object_id=rng.choice([None, str(rng.randrange(1, 10_000))]),
                outcome=rng.choice(OUTCOMES),
                fields=rng.sample(["phone", "name", "address", "status"], 2),
                n=i,
            )
        db.session.commit()


def dialect() -> str:
    return db.engine.dialect.name


@contextmanager
def guards_lifted() -> Iterator[None]:
    """Drop the append-only triggers (as an attacker with the database owner's rights would)."""
    with db.engine.begin() as conn:
        for table in GUARDED_TABLES:
            for statement in drop_guard_statements(dialect(), table):
                conn.exec_driver_sql(statement)
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            for table in GUARDED_TABLES:
                for statement in guard_statements(dialect(), table):
                    conn.exec_driver_sql(statement)


def tamper(*statements: str, **params: object) -> None:
    """Run raw SQL against the audit tables with the guards lifted."""
    db.session.commit()
    with guards_lifted(), db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)
