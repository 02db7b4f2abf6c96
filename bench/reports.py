"""Report benchmark: the national annual report over a million cases (target: under 1 s).

    .venv/bin/python bench/reports.py                          # SQLite, 1,000,000 cases
    .venv/bin/python bench/reports.py --cases 100000           # a quick run
    .venv/bin/python bench/reports.py --db /var/tmp/reports.db # keep the database…
    .venv/bin/python bench/reports.py --db /var/tmp/reports.db --reuse   # …and measure it again
    .venv/bin/python bench/reports.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/bench_reports

The database given with --postgres is emptied: use a throwaway one.

What is seeded, with Core inserts (executemany, 20,000 rows a statement batch), straight into the
tables: the official unit tree (central → 34 provinces → 3,321 communes, casework.accounts.units.
import_official), one reviewer at central, 60 partners, and the cases: received from 1 January 2024
to 28 November 2026 at communes drawn with a skewed weight; 1–2 types each, severity and status in a
plausible spread (S3/S4 classified and mostly quick-reported, some late), a victim each (sex, age
band), an alleged perpetrator with a relationship in 60%, escalations in 5%, referrals in 10%,
delivered services in 30%, follow-ups in 30%, a notification action in half of the domestic-violence
cases. No encrypted column is filled: reports never read one.

What is measured: `casework reports refresh` (the nightly rebuild of the monthly summary, which runs
every live report query once per province with local months as buckets), then
casework.reports.service.build_report as the central reviewer asks for it: the national report for
2025 beside 2024 and one province's year (both read from the summary, as every report of a period
that has ended does), and one commune's month (live: about fifteen GROUP BY queries over its
subtree). --live also times the national report computed live, without the summary. Median of
--repeat runs, each in a fresh session. The figures of the national report are printed.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from casework import create_app
from casework.crypto.keyring import parse_keyring
from casework.extensions import db

BATCH = 20_000
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2026, 11, 28, tzinfo=UTC)
TYPES = [
    ("domestic_violence.physical", 30),
    ("domestic_violence.psychological", 15),
    ("domestic_violence.economic", 5),
    ("sexual_violence", 8),
    ("child_abuse.physical", 6),
    ("child_abuse.sexual", 3),
    ("trafficking", 1),
    ("child_marriage", 2),
    ("family_dispute.divorce", 12),
    ("labour_rights", 4),
    ("land_property", 6),
    ("online_violence", 3),
    ("other", 5),
]
SOURCES = [
    ("victim", 40),
    ("relative", 15),
    ("neighbour", 8),
    ("branch", 12),
    ("hotline_111", 6),
    ("police", 6),
    ("petition", 5),
    ("citizen_reception", 4),
    ("media", 1),
    ("own_detection", 2),
    ("other", 1),
]
SEVERITY = [("S1", 45), ("S2", 30), ("S3", 15), ("S4", 2), (None, 8)]
STATUS = [("open", 8), ("active", 25), ("monitoring", 12), ("closure_requested", 3), ("closed", 52)]
OUTCOMES = [
    "resolved",
    "needs_met",
    "victim_withdrew",
    "no_contact",
    "transferred_concluded",
    "duplicate",
    "out_of_scope",
]
BANDS = [
    ("0-5", 2),
    ("6-11", 4),
    ("12-15", 5),
    ("16-17", 3),
    ("18-29", 25),
    ("30-59", 50),
    ("60+", 8),
    (None, 3),
]
RELATIONS = [
    ("spouse", 55),
    ("former_spouse", 8),
    ("partner", 5),
    ("parent", 8),
    ("child", 4),
    ("in_law", 5),
    ("sibling", 3),
    ("acquaintance", 6),
    ("stranger", 3),
    ("other", 3),
]
SERVICES = ["counselling", "medical", "shelter", "legal_advice", "legal_aid", "economic"]
KINDS = ["shelter", "legal_aid", "health", "social", "police", "other"]


def chooser(rng: random.Random, weighted: list) -> object:  # type: ignore[type-arg]
    values = [v for v, _ in weighted]
    weights = [w for _, w in weighted]
    return lambda: rng.choices(values, weights)[0]


def make_app(url: str):  # type: ignore[no-untyped-def]
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    keyring = json.dumps({"primary": "mk-bench", "keys": [{"id": "mk-bench", "key": key}]})
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "MASTER_KEYRING": parse_keyring(keyring),
        }
    )


def insert(table: str, rows: list[dict]) -> None:  # type: ignore[type-arg]
    if rows:
        db.session.execute(db.metadata.tables[table].insert(), rows)


def seed_world() -> tuple[int, list[int], list[tuple[int, str]]]:
    from casework.accounts import units

    units.import_official(None)
    db.session.commit()
    unit = db.metadata.tables["unit"]
    central = db.session.scalar(select(unit.c.id).where(unit.c.parent_id.is_(None)))
    communes = list(db.session.scalars(select(unit.c.id).where(unit.c.level == "commune")))
    now = datetime.now(UTC)
    insert(
        "user_account",
        [
            dict(
                username="bench.reviewer",
                display_name="Bench reviewer",
                role="reviewer",
                unit_id=central,
                password_hash="-",  # noqa: S106 (no one signs in: a placeholder)
                password_changed_at=now,
                must_change_password=False,
                failed_logins=0,
                active=True,
                created_at=now,
                version=1,
            )
        ],
    )
    insert(
        "partner",
        [
            dict(
                name=f"Partner {i}",
                kind=KINDS[i % len(KINDS)],
                services="",
                active=True,
                created_at=now,
                version=1,
            )
            for i in range(60)
        ],
    )
    db.session.commit()
    partners = list(
        db.session.execute(
            select(db.metadata.tables["partner"].c.id, db.metadata.tables["partner"].c.kind)
        )
    )
    return central, communes, partners  # type: ignore[return-value]


def seed_cases(
    n: int, communes: list[int], partners: list[tuple[int, str]], rng: random.Random
) -> None:
    user = db.session.scalar(select(db.metadata.tables["user_account"].c.id))
    weights = [math.exp(rng.gauss(0, 1.2)) for _ in communes]
    span = (END - START).total_seconds()
    pick_type, pick_source = chooser(rng, TYPES), chooser(rng, SOURCES)
    pick_sev, pick_status = chooser(rng, SEVERITY), chooser(rng, STATUS)
    pick_band, pick_rel = chooser(rng, BANDS), chooser(rng, RELATIONS)
    done = 0
    started = time.perf_counter()
    while done < n:
        size = min(BATCH, n - done)
        places = rng.choices(communes, weights, k=size)
        rows: dict[str, list[dict]] = {
            t: []
            for t in (  # type: ignore[type-arg]
                "case_file",
                "case_type",
                "person",
                "person_relationship",
                "escalation",
                "quick_report",
                "referral",
                "support",
                "follow_up",
                "case_action",
            )
        }
        for i in range(size):
            cid, vid = uuid.uuid4(), uuid.uuid4()
            received = START + timedelta(seconds=rng.random() * span)
            severity, status = pick_sev(), pick_status()
            classified = received + timedelta(hours=rng.random() * 48) if severity else None
            closed = status == "closed"
            place = places[i]
            codes = {pick_type()}
            if rng.random() < 0.3:
                codes.add(pick_type())
            rows["case_file"].append(
                dict(
                    id=cid,
                    code=f"B-{done + i:08d}",
                    status=status,
                    received_at=received,
                    received_by_id=user,
                    source=pick_source(),
                    owning_unit_id=place,
                    handling_unit_id=place,
                    place_unit_id=place,
                    immediate_danger=rng.random() < 0.1,
                    child_involved=rng.random() < 0.15,
                    injuries=rng.random() < 0.3,
                    sexual_violence=rng.random() < 0.1,
                    severity=severity,
                    risk="medium" if severity else None,
                    classified_at=classified,
                    closed_at=received + timedelta(days=rng.randint(5, 120)) if closed else None,
                    closure_outcome=rng.choice(OUTCOMES) if closed else None,
                    created_at=received,
                    updated_at=received,
                    version=1,
                )
            )
            rows["case_type"] += [dict(case_id=cid, code=c) for c in codes]
            band = pick_band()
            rows["person"].append(
                dict(
                    id=vid,
                    case_id=cid,
                    role="victim",
                    sex="female" if rng.random() < 0.93 else "male",
                    age_band=band,
                    is_child=band in ("0-5", "6-11", "12-15"),
                    created_at=received,
                    created_by_id=user,
                    version=1,
                )
            )
            if rng.random() < 0.6:
                pid = uuid.uuid4()
                rows["person"].append(
                    dict(
                        id=pid,
                        case_id=cid,
                        role="perpetrator",
                        sex="male",
                        age_band=None,
                        is_child=None,
                        created_at=received,
                        created_by_id=user,
                        version=1,
                    )
                )
                rows["person_relationship"].append(
                    dict(id=uuid.uuid4(), case_id=cid, person_id=pid, other_id=vid, kind=pick_rel())
                )
            if severity in ("S3", "S4") and rng.random() < 0.85:
                rows["quick_report"].append(
                    dict(
                        id=uuid.uuid4(),
                        case_id=cid,
                        number=1,
                        from_unit_id=place,
                        sent_at=classified + timedelta(hours=rng.random() * 30),
                        sent_by_id=user,
                        snapshot="{}",
                    )
                )
            if rng.random() < 0.05:
                rows["escalation"].append(
                    dict(
                        id=uuid.uuid4(),
                        case_id=cid,
                        kind="request",
                        from_unit_id=place,
                        to_unit_id=communes[0] if place != communes[0] else communes[1],
                        status=rng.choice(["accepted", "returned", "accepted", "pending"]),
                        requested_at=received + timedelta(days=2),
                        requested_by_id=user,
                        version=1,
                    )
                )
            if rng.random() < 0.1:
                partner, _kind = rng.choice(partners)
                sent = received + timedelta(days=1)
                answered = sent + timedelta(hours=rng.random() * 72)
                rows["referral"].append(
                    dict(
                        id=uuid.uuid4(),
                        case_id=cid,
                        person_id=vid,
                        partner_id=partner,
                        from_unit_id=place,
                        purpose="refer_shelter",
                        basis="consent",
                        services="shelter",
                        status=rng.choice(["completed", "declined", "in_service"]),
                        sent_at=sent,
                        sent_by_id=user,
                        answer_due_at=sent + timedelta(hours=48),
                        answered_at=answered,
                        version=1,
                    )
                )
            if rng.random() < 0.3:
                day = (received + timedelta(days=rng.randint(1, 30))).date()
                rows["support"].append(
                    dict(
                        id=uuid.uuid4(),
                        case_id=cid,
                        person_id=vid,
                        service=rng.choice(SERVICES),
                        status="delivered",
                        started_on=day,
                        ended_on=day,
                        created_at=received,
                        created_by_id=user,
                        version=1,
                    )
                )
            if rng.random() < 0.3:
                due = received + timedelta(days=7)
                rows["follow_up"].append(
                    dict(
                        id=uuid.uuid4(),
                        case_id=cid,
                        due_at=due,
                        status=rng.choice(["done", "done", "missed"]),
                        done_at=due - timedelta(hours=rng.randint(-24, 48)),
                        created_at=received,
                        created_by_id=user,
                        version=1,
                    )
                )
            if "domestic_violence" in "".join(codes) and rng.random() < 0.5:
                rows["case_action"].append(
                    dict(
                        id=uuid.uuid4(),
                        case_id=cid,
                        kind="notify_authority",
                        authority="commune_committee",
                        occurred_at=received + timedelta(minutes=rng.randint(5, 180)),
                        created_at=received,
                        created_by_id=user,
                    )
                )
        for table, batch in rows.items():
            insert(table, batch)
        db.session.commit()
        done += size
        rate = done / (time.perf_counter() - started)
        print(f"\r  seeded {done:,} cases ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def measure(label: str, unit_id: int, period, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    from casework.accounts.models import Unit, User
    from casework.reports import service

    times, report = [], None
    for _ in range(repeat):
        db.session.remove()
        user = db.session.scalar(select(User).where(User.username == "bench.reviewer"))
        unit = db.session.get(Unit, unit_id)
        t = time.perf_counter()
        report = service.build_report(user, unit, period, "recorded")
        times.append(time.perf_counter() - t)
        db.session.rollback()
    median = statistics.median(times)
    print(
        f"  {label:<44} {median * 1000:8.0f} ms  (runs: {', '.join(f'{x * 1000:.0f}' for x in times)})"
    )
    return median, report


def print_figures(report) -> None:  # type: ignore[no-untyped-def]
    print(
        f"\n  National report {report.period.slug} beside {report.previous.slug}: "
        f"{report.total_current:,} cases received ({report.total_previous:,} the year before)"
    )
    for table in report.tables:
        if table.key == "units":
            continue
        print(f"    {table.title}")
        for group in table.groups:
            if group.label:
                print(f"      {group.label}")
            for row in group.rows:
                if row.current or row.previous:
                    print(f"        {row.label[:50]:<50} {row.current:>9,} {row.previous:>9,}")


def run(url: str, args: argparse.Namespace) -> None:
    from casework.reports.periods import Period

    app = make_app(url)
    with app.app_context():
        dialect = db.engine.dialect.name
        print(f"\n{dialect}: {url.split('@')[-1]}")
        have = 0
        if args.reuse:
            have = (
                db.session.scalar(select(func.count()).select_from(db.metadata.tables["case_file"]))
                or 0
            )
        if have == 0:
            db.drop_all()
            db.create_all()
            central, communes, partners = seed_world()
            seed_cases(args.cases, communes, partners, random.Random(args.seed))
            if dialect == "postgresql":
                db.session.commit()
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            else:
                db.session.execute(text("ANALYZE"))
                db.session.commit()
        unit = db.metadata.tables["unit"]
        central = db.session.scalar(select(unit.c.id).where(unit.c.parent_id.is_(None)))
        case = db.metadata.tables["case_file"]
        total = db.session.scalar(select(func.count()).select_from(case))
        busiest = db.session.execute(
            select(case.c.owning_unit_id, func.count())
            .group_by(case.c.owning_unit_id)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
        province = db.session.scalar(select(unit.c.parent_id).where(unit.c.id == busiest[0]))
        print(f"  {total:,} cases in the database")
        year = Period.calendar("year", 2025)
        if args.live:
            measure("LIVE national, year 2025 (no summary)", central, year, 1)
        from casework.reports import summary

        t = time.perf_counter()
        rows = summary.refresh()
        db.session.commit()
        print(
            f"  summary refresh (casework reports refresh)   {time.perf_counter() - t:8.1f} s  ({rows:,} rows)"
        )
        national, report = measure("national, year 2025 beside 2024", central, year, args.repeat)
        measure("busiest commune's province, year 2025", province, year, args.repeat)
        measure(
            "busiest commune, October 2026",
            busiest[0],
            Period.calendar("month", 2026, 10),
            args.repeat,
        )
        verdict = "under" if national < 1 else "OVER"
        print(f"  national annual report: {national:.2f} s — {verdict} the 1 s target")
        print_figures(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--db", help="SQLite file to use (kept); default a temporary one")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database again")
    parser.add_argument("--postgres", help="a throwaway PostgreSQL database URL (emptied)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2605)
    parser.add_argument("--live", action="store_true", help="also time the live national report")
    args = parser.parse_args()
    if not args.no_sqlite:
        if args.db:
            run(f"sqlite:///{os.path.abspath(args.db)}", args)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                run(f"sqlite:///{tmp}/reports.db", args)
    if args.postgres:
        run(args.postgres, args)


if __name__ == "__main__":
    main()
