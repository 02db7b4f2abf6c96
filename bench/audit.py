"""Audit log benchmark: appends per second with full durability, and verification rate.

    .venv/bin/python bench/audit.py                      # SQLite (a temporary file)
    .venv/bin/python bench/audit.py --postgres URL       # and PostgreSQL (or CASEWORK_BENCH_DATABASE_URL)

Appends go through audit.record() with one commit each (SQLite: WAL, synchronous=FULL; PostgreSQL:
synchronous_commit as configured, on by default), from one writer and from 8 threads. Verification
runs `casework audit verify`'s own function over a chain bulk-loaded with valid hashes, and is
extrapolated to 10,000,000 events (the worker processes' start-up, a second or two, is then spread
over more events: the extrapolation errs on the slow side). The PostgreSQL database given is
emptied: use a throwaway one. Targets (SECURITY.md): at least 2,000 appends/s; 10,000,000 events
verified in under 60 s.

On a shared machine wall-clock rates move with the load: compare figures of one run with each other
(the ratios printed), and read the CPU-time figures, which the load disturbs less.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import secrets
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from casework import audit, create_app
from casework.audit import Tag
from casework.audit.models import AuditEvent
from casework.audit.service import GENESIS, event_hash
from casework.audit.verify import RANGE, ChainRow, fetch_rows, verify_database, verify_rows
from casework.crypto.keyring import parse_keyring
from casework.db import utcnow
from casework.extensions import db

TEN_MILLION = 10_000_000


def _app(url: str):  # type: ignore[no-untyped-def]
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    keyring = parse_keyring(
        json.dumps({"primary": "mk-bench", "keys": [{"id": "mk-bench", "key": key}]})
    )
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "MASTER_KEYRING": keyring,
        }
    )


def _fresh_schema() -> None:
    db.drop_all()
    db.create_all()


def bench_appends(app, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """One writer, one transaction (and one durable commit) per event: (per second, CPU ms each)."""
    with app.app_context():
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            audit.record(None, Tag.ACCESS_REFUSED, outcome="refused", object_type="bench", n=i)
            db.session.commit()
        return n / (time.perf_counter() - start), (time.process_time() - cpu) * 1000 / n


def bench_threaded_appends(app, threads: int, per_thread: int) -> float:  # type: ignore[no-untyped-def]
    """Several writers at once: the lock serialises them; this is the rate they share."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for i in range(per_thread):
                with app.app_context():
                    audit.record(None, Tag.ACCESS_REFUSED, outcome="refused", n=i)
                    db.session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return threads * per_thread / elapsed


def bulk_load(app, n: int) -> None:  # type: ignore[no-untyped-def]
    """A valid chain of n typical events, inserted in bulk (record() would take minutes)."""
    with app.app_context():
        _fresh_schema()
        at0 = utcnow()
        prev = GENESIS
        table = AuditEvent.__table__
        batch: list[dict[str, object]] = []
        for seq in range(1, n + 1):
            values = {
                "seq": seq,
                "at": at0 + timedelta(microseconds=seq * 997),
                "actor_id": seq % 500 + 1,
                "actor_unit_id": seq % 3000 + 1,
                "actor_partner_id": None,
                "actor_role": "officer",
                "tag": "case:file:read",
                "object_type": "case",
                "object_id": f"6f1c2d9e-3b7a-4c1e-9a55-{seq % 100_000:012d}",
                "outcome": "ok",
                "request_id": f"{seq:016x}",
                "client_address": f"10.1.{seq % 250}.{seq % 200}",
                "details": f'{{"fields":["status","severity"],"version":{seq % 9}}}',
                "prev_hash": prev,
                "hash": b"",
            }
            values["hash"] = prev = event_hash(ChainRow(**values))  # type: ignore[arg-type]
            batch.append(values)
            if len(batch) == 5000:
                db.session.execute(insert(table), batch)
                db.session.commit()
                batch = []
        if batch:
            db.session.execute(insert(table), batch)
            db.session.commit()


def _cpu_seconds() -> float:
    """CPU time of this process and of its ended children (the worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed_verify(**options: object) -> tuple[int, float, float]:
    """(events, events per second, events per CPU-second, workers included)."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    report = verify_database(**options)  # type: ignore[arg-type]
    wall, used = time.perf_counter() - start, _cpu_seconds() - cpu
    if not report.ok:
        raise SystemExit(f"verification failed: {report.problems[:3]}")
    return report.checked, report.checked / wall, report.checked / used


def bench_verify(app, jobs: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Rates (events/s): the command's function in one process and in `jobs` worker processes,
    and the checks alone on rows already in memory."""
    with app.app_context():
        checked, one, one_cpu = _timed_verify(jobs=1)
        rates = {"events": checked, "one process": one, "one CPU, by CPU time": one_cpu}
        if jobs > 1:
            # The command's own ranges (250,000 events), or smaller ones so that every worker has
            # at least two on a short chain.
            size = min(RANGE, max(checked // (jobs * 2), 1))
            _n, wall_rate, cpu_rate = _timed_verify(jobs=jobs, range_size=size)
            rates[f"{jobs} processes"] = wall_rate
            # On an idle machine with `jobs` CPUs the workers would run side by side.
            rates[f"{jobs} processes, by CPU time ÷ {jobs}"] = cpu_rate * jobs
        rows = fetch_rows()
        start = time.perf_counter()
        verify_rows(rows)
        rates["in memory"] = len(rows) / (time.perf_counter() - start)
        return rates


def run(name: str, url: str, appends: int, events: int, jobs: int, fsyncs: float) -> None:
    app = _app(url)
    with app.app_context():
        _fresh_schema()
    single, cpu_ms = bench_appends(app, appends)
    threaded = bench_threaded_appends(app, 8, max(appends // 8, 1))
    bulk_load(app, events)
    rates = bench_verify(app, jobs)
    checked = int(rates.pop("events"))
    print(f"{name}")
    print(f"  appends, 1 writer, one durable commit each  : {single:9,.0f} /s")
    print(
        f"    CPU of this process per append: {cpu_ms:.2f} ms (alone it would allow "
        f"{1000 / cpu_ms:,.0f}/s); the disk's fsync rate: {fsyncs:,.0f}/s; appends/fsyncs = "
        f"{single / fsyncs:.2f}"
    )
    print(
        f"  appends, 8 threads, one durable commit each : {threaded:9,.0f} /s "
        f"({threaded / single:.2f} × one writer)"
    )
    print(f"  verification of {checked:,} events:")
    for label, rate in rates.items():
        print(
            f"    {label:<32}: {rate:9,.0f} events/s → 10,000,000 events in "
            f"{TEN_MILLION / rate:6.1f} s"
        )
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def fsync_rate(directory: str, n: int = 300) -> float:
    """What the disk allows: small appends to a file, each made durable (the ceiling for appends)."""
    path = Path(directory) / "fsync.probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        start = time.perf_counter()
        for _ in range(n):
            os.write(fd, b"x" * 200)
            os.fsync(fd)
        return n / (time.perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--appends", type=int, default=2000, help="events appended one by one")
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events in the verified chain"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="verify processes")
    parser.add_argument("--postgres", default=os.environ.get("CASEWORK_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    print(f"casework audit benchmark — Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")
    with tempfile.TemporaryDirectory() as tmp:
        fsyncs = fsync_rate(tmp)
        print(f"disk: {fsyncs:,.0f} fsyncs/s (the ceiling for one durable commit each)")
        url = f"sqlite:///{tmp}/bench.db"
        run("SQLite (WAL, synchronous=FULL)", url, args.appends, args.events, args.jobs, fsyncs)
    if args.postgres:
        run("PostgreSQL", args.postgres, args.appends, args.events, args.jobs, fsyncs)


if __name__ == "__main__":
    main()
