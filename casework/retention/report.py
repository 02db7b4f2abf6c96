"""The retention report for the auditor: which cases retention erased and when, each run's counts,
and the legal holds (who, since, until; never the reason, which is case content)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select

from casework.accounts.models import User
from casework.cases.models import Case
from casework.cases.support import local_tz
from casework.extensions import db
from casework.retention.models import LegalHold, RetentionErasure, RetentionRun


@dataclass(frozen=True)
class ErasureRow:
    run_id: int
    code: str
    closed_on: str
    years: int
    expired_on: str
    erased_on: str
    erased_at: datetime
    people: int
    keys: int
    types: str


def _day(moment: datetime) -> str:
    return moment.astimezone(local_tz()).date().isoformat()


def erasures(*, since: date | None = None, limit: int | None = 500) -> list[ErasureRow]:
    query = (
        select(RetentionErasure, Case.code)
        .join(Case, Case.id == RetentionErasure.case_id)
        .order_by(RetentionErasure.erased_at.desc(), RetentionErasure.id.desc())
    )
    if since is not None:
        query = query.where(
            RetentionErasure.erased_at >= datetime.combine(since, time.min, tzinfo=local_tz())
        )
    if limit is not None:
        query = query.limit(limit)
    return [
        ErasureRow(
            run_id=e.run_id,
            code=code,
            closed_on=_day(e.closed_at),
            years=e.years,
            expired_on=e.expired_on.isoformat(),
            erased_on=_day(e.erased_at),
            erased_at=e.erased_at,
            people=e.people,
            keys=e.keys,
            types=e.types,
        )
        for e, code in db.session.execute(query)
    ]


def erasures_csv(rows: list[ErasureRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["case", "closed_on", "years", "expired_on", "erased_at", "run", "people", "keys", "types"]
    )
    for r in rows:
        writer.writerow(
            [
                r.code,
                r.closed_on,
                r.years,
                r.expired_on,
                r.erased_at.isoformat(timespec="seconds"),
                r.run_id,
                r.people,
                r.keys,
                r.types,
            ]
        )
    return out.getvalue()


def runs(limit: int = 50) -> list[RetentionRun]:
    return list(
        db.session.scalars(select(RetentionRun).order_by(RetentionRun.id.desc()).limit(limit))
    )


@dataclass(frozen=True)
class HoldRow:
    code: str
    set_by: str
    set_at: datetime
    until: date | None
    lifted_at: datetime | None


def holds(limit: int = 500) -> list[HoldRow]:
    """Every hold, active first: staff names and dates only (the reason is case content)."""
    query = (
        select(LegalHold, Case.code, User.username)
        .join(Case, Case.id == LegalHold.case_id)
        .join(User, User.id == LegalHold.set_by_id)
        .order_by(LegalHold.lifted_at.is_not(None), LegalHold.set_at.desc())
        .limit(limit)
    )
    return [
        HoldRow(code, username, h.set_at, h.until, h.lifted_at)
        for h, code, username in db.session.execute(query)
    ]
