"""Reading the audit log: filtered, scoped, keyset-paginated pages, "who has seen this", CSV export.

Every query starts from policy.scopes.visible_audit_events(actor), so a reviewer never sees an event outside
her scope, whatever the filters. Rows carry staff usernames and names, never case content.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, func, select

from casework import audit
from casework.accounts import passwords
from casework.accounts.models import Unit, User
from casework.accounts.service import normalise_username
from casework.audit.models import AuditEvent
from casework.audit.tags import Tag
from casework.errors import Invalid
from casework.extensions import db
from casework.policy.scopes import visible_audit_events
from casework.referrals.models import Partner

if TYPE_CHECKING:
    from sqlalchemy import Row

    from casework.audit.service import ChainRow

PAGE_SIZE = 50
EXPORT_BATCH = 1000


@dataclass(frozen=True)
class EventFilter:
    """What the auditor asked for; every field optional. Dates are local (Vietnam) calendar days."""

    date_from: date | None = None
    date_to: date | None = None
    actor: str | None = None  # a username
    unit: str | None = None  # a unit code
    tag: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    outcome: str | None = None

    @classmethod
    def from_form(cls, form: Any) -> EventFilter:
        return cls(**{name: getattr(form, name).data or None for name in form.FILTER_FIELDS})


def _local_midnight(day: date) -> datetime:
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def _filtered(actor: User, f: EventFilter) -> Select[Any]:
    stmt = visible_audit_events(actor)
    ev = AuditEvent
    if f.date_from is not None:
        stmt = stmt.where(ev.at >= _local_midnight(f.date_from))
    if f.date_to is not None:
        stmt = stmt.where(ev.at < _local_midnight(f.date_to + timedelta(days=1)))
    if f.actor:
        username = normalise_username(f.actor)
        stmt = stmt.where(ev.actor_id.in_(select(User.id).where(User.username == username)))
    if f.unit:
        stmt = stmt.where(ev.actor_unit_id.in_(select(Unit.id).where(Unit.code == f.unit)))
    if f.tag:
        stmt = stmt.where(ev.tag == f.tag)
    if f.object_type:
        stmt = stmt.where(ev.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(ev.object_id == f.object_id)
    if f.outcome:
        stmt = stmt.where(ev.outcome == f.outcome)
    return stmt


def _with_names(stmt: Select[Any]) -> Select[Any]:
    """Plain columns (not ORM objects) with the actor's username, name, unit and organisation."""
    return (
        stmt.with_only_columns(
            *AuditEvent.__table__.c,
            User.username.label("actor_username"),
            User.display_name.label("actor_name"),
            Unit.code.label("actor_unit_code"),
            Partner.name.label("actor_partner_name"),
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Unit, Unit.id == AuditEvent.actor_unit_id)
        .outerjoin(Partner, Partner.id == AuditEvent.actor_partner_id)
    )


@dataclass
class Page:
    rows: list[Row[Any]] = field(default_factory=list)
    newer: int | None = None  # pass as after= for the newer page
    older: int | None = None  # pass as before= for the older page


def page_of_events(
    actor: User,
    f: EventFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of matching events, newest first, by keyset on seq (no OFFSET on a huge table)."""
    stmt = _with_names(_filtered(actor, f))
    seq = AuditEvent.seq
    if after is not None:
        rows = list(db.session.execute(stmt.where(seq > after).order_by(seq).limit(size + 1)))
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        page = Page(rows=rows)
        page.newer = rows[0].seq if rows and more_newer else None
        page.older = rows[-1].seq if rows else after + 1
        return page
    if before is not None:
        stmt = stmt.where(seq < before)
    rows = list(db.session.execute(stmt.order_by(seq.desc()).limit(size + 1)))
    more_older = len(rows) > size
    rows = rows[:size]
    page = Page(rows=rows)
    page.older = rows[-1].seq if rows and more_older else None
    if before is not None:
        page.newer = rows[0].seq if rows else before - 1
    return page


@dataclass(frozen=True)
class Viewer:
    """One person's contact with an object: how often, first and last time, refusals."""

    actor_id: int | None
    username: str | None
    name: str | None
    role: str | None
    unit_code: str | None
    events: int
    refused: int
    first_at: datetime
    last_at: datetime


def who_has_seen(actor: User, object_type: str, object_id: str) -> list[Viewer]:
    """Everyone with an event about this object (reads, changes, refusals), most recent first.

    Unit and role are those the person had at the time of the events.
    """
    f = EventFilter(object_type=object_type, object_id=object_id)
    ev = AuditEvent
    stmt = (
        _filtered(actor, f)
        .with_only_columns(
            ev.actor_id,
            ev.actor_unit_id,
            ev.actor_role,
            func.count().label("events"),
            func.sum(case((ev.outcome == "refused", 1), else_=0)).label("refused"),
            func.min(ev.at).label("first_at"),
            func.max(ev.at).label("last_at"),
        )
        .group_by(ev.actor_id, ev.actor_unit_id, ev.actor_role)
        .order_by(func.max(ev.seq).desc())
    )
    groups = db.session.execute(stmt).all()
    user_ids = {g.actor_id for g in groups if g.actor_id is not None}
    unit_ids = {g.actor_unit_id for g in groups if g.actor_unit_id is not None}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    units = (
        dict(db.session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(unit_ids))).all())
        if unit_ids
        else {}
    )
    viewers = []
    for g in groups:
        user = users.get(g.actor_id)
        viewers.append(
            Viewer(
                actor_id=g.actor_id,
                username=user.username if user else None,
                name=user.display_name if user else None,
                role=g.actor_role,
                unit_code=units.get(g.actor_unit_id),
                events=g.events,
                refused=int(g.refused or 0),
                first_at=g.first_at,
                last_at=g.last_at,
            )
        )
    return viewers


# --- CSV export --------------------------------------------------------------------------------

CSV_HEADER = [
    "seq",
    "at_utc",
    "actor_username",
    "actor_name",
    "actor_role",
    "actor_unit",
    "actor_partner",
    "tag",
    "object_type",
    "object_id",
    "outcome",
    "request_id",
    "client_address",
    "details",
    "hash",
]


def _cell(value: object) -> object:
    # A spreadsheet runs a cell that starts like a formula; a staff name must never do that.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_row(row: Row[Any]) -> list[object]:
    values = [
        row.seq,
        row.at.astimezone(UTC).isoformat(timespec="microseconds"),
        row.actor_username,
        row.actor_name,
        row.actor_role,
        row.actor_unit_code,
        row.actor_partner_name,
        row.tag,
        row.object_type,
        row.object_id,
        row.outcome,
        row.request_id,
        row.client_address,
        row.details,
        row.hash.hex(),
    ]
    return [_cell(v) for v in values]


def export_events(actor: User, f: EventFilter, password: str) -> tuple[ChainRow, Iterator[str]]:
    """Export matching events as CSV after the password is re-entered; the export is itself audited.

    Returns the export's own audit event and the CSV text in chunks. The caller commits before
    reading the chunks: each batch is then read in its own short transaction, up to the export event.
    """
    # The filters as ids and vocabulary: the username and unit code become their ids.
    details: dict[str, object] = {
        f"filter_{name}": (value.isoformat() if isinstance(value, date) else value)
        for name, value in vars(f).items()
        if value and name not in ("actor", "unit")
    }
    if f.actor:
        username = normalise_username(f.actor)
        details["filter_actor_id"] = db.session.scalar(
            select(User.id).where(User.username == username)
        )
    if f.unit:
        details["filter_unit_id"] = db.session.scalar(select(Unit.id).where(Unit.code == f.unit))
    stmt = _with_names(_filtered(actor, f))  # checks the permission before anything else
    if not passwords.verify_password(actor.password_hash, password):
        audit.record(actor, Tag.AUDIT_LOG_EXPORT, outcome="refused", reason="password", **details)
        message = _l("The password is not correct.")
        raise Invalid(message, current_password=message)
    event = audit.record(actor, Tag.AUDIT_LOG_EXPORT, immediate=True, **details)
    assert event is not None  # noqa: S101  # nosec B101  # immediate: appended, returned
    return event, _csv_chunks(current_app._get_current_object(), stmt, event.seq)  # type: ignore[attr-defined]


def _csv_chunks(app: Flask, stmt: Select[Any], upto: int) -> Iterator[str]:
    """CSV text in chunks. Each batch is read in an application context of its own, opened and
    closed around the query: the response is read after the request has ended, and no transaction
    (on SQLite: the write lock) may stay open between chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    seq = AuditEvent.seq
    last = 0
    while True:
        with app.app_context():
            batch = db.session.execute(
                stmt.where(seq > last, seq <= upto).order_by(seq).limit(EXPORT_BATCH)
            ).all()
        for row in batch:
            writer.writerow(_csv_row(row))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < EXPORT_BATCH:
            return
        last = batch[-1].seq
