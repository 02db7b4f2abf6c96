"""Benchmark of the crypto package (a script that prints figures, not a test).

    .venv/bin/python bench/crypto.py                  # defaults below; a few minutes
    .venv/bin/python bench/crypto.py --people 200000  # smaller: the lookup is extrapolated
    CASEWORK_BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/crypto.py

Measures (issue 3): per-field encrypt and decrypt cost against a plain column read through the ORM;
the rewrap rate of data keys (extrapolated to 1,000,000; target under 2 minutes); a blind-index
lookup among --people people (target under 10 ms at 1,000,000) against decrypting and scanning
--scan people (target: the lookup at least 1,000 times faster).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import MetaData, String, Uuid, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casework import create_app, crypto
from casework.crypto import blindindex, cipher, datakeys, rotation
from casework.crypto.fields import EncryptedText
from casework.crypto.keyring import write_new_keyring
from casework.crypto.models import DataKey
from casework.db import NAMING_CONVENTION, new_uuid
from casework.extensions import db

SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
]
MIDDLE = ["Thị", "Văn", "Thị Thu", "Thị Minh", "Ngọc", "Thị Hồng", "Thị Kim", "Đức"]
GIVEN = [
    "Hoa",
    "Lan",
    "Mai",
    "Hương",
    "Hạnh",
    "Yến",
    "Tuyết",
    "Ánh",
    "Ngọc",
    "Bích",
    "Trang",
    "Thảo",
]


class BenchBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class BenchPerson(BenchBase):
    __tablename__ = "bench_person"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    plain_name: Mapped[str | None] = mapped_column(String(200))
    full_name = EncryptedText(key_owner="person", owner_attr="id", index=blindindex.NAME)


def name_of(i: int) -> str:
    # Unique names: surname, middle and given name, and a number to keep them apart.
    return f"{SURNAMES[i % 12]} {MIDDLE[(i // 12) % 8]} {GIVEN[(i // 96) % 12]} {i}"


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def cpu_timed(fn):  # type: ignore[no-untyped-def]
    """(wall, CPU) seconds: on a shared machine the process's CPU time is the steadier figure."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def make_app(workdir: Path, *, keep: bool = False):  # type: ignore[no-untyped-def]
    keyring = workdir / "keys" / "master.json"
    if not keyring.exists():
        write_new_keyring(keyring)
    url = os.environ.get("CASEWORK_BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "MASTER_KEYRING": None,
            "MASTER_KEYRING_FILE": str(keyring),
            "SHRED_LEDGER_FILE": str(workdir / "ledger.jsonl"),
        }
    )
    crypto.register_metadata(app, BenchBase.metadata)
    with app.app_context():
        if not keep:
            BenchBase.metadata.drop_all(db.engine)
            db.drop_all()
        db.create_all()
        BenchBase.metadata.create_all(db.engine)
    return app


def bulk_people(count: int, batch: int = 20_000) -> None:
    """Insert people with their data keys directly (the format the ORM writes), fast."""
    keyring = datakeys.current_keyring()
    primary = keyring.primary
    kek = datakeys.kek(primary)
    field = BenchPerson.full_name
    index_key = blindindex.column_key(primary, "bench_person", "full_name")
    bits = blindindex.NAME.bits
    for start in range(0, count, batch):
        keys, people = [], []
        for i in range(start, min(count, start + batch)):
            person_id, data_key = uuid.uuid4(), os.urandom(32)
            name = name_of(i)
            keys.append(
                {
                    "id": uuid.uuid4(),
                    "owner_kind": "person",
                    "owner_id": person_id,
                    "key_version": 1,
                    "master_key_id": primary.id,
                    "wrapped_key": datakeys.wrap(kek, data_key),
                }
            )
            blob = cipher.encrypt(AESGCM(data_key), 1, field.binding(person_id), name.encode())
            normalised = blindindex.normalise.name(name) or ""
            people.append(
                {
                    "id": person_id,
                    "plain_name": name,
                    "full_name": blob,
                    "full_name_bidx": blindindex.compute(index_key, normalised, bits),
                    "bidx_key_id": primary.id,
                }
            )
        db.session.execute(insert(DataKey), keys)
        db.session.execute(insert(BenchPerson.__table__), people)
        db.session.commit()
        print(f"\r  inserted {min(count, start + batch):>9,} people", end="", file=sys.stderr)
    print(file=sys.stderr)


def bench_fields(rows: int) -> None:
    print(f"\n1. Per-field cost (CPU time), {rows:,} rows, each person with her own data key")
    db.session.execute(BenchPerson.__table__.delete())
    db.session.execute(DataKey.__table__.delete())
    db.session.commit()
    names = [name_of(i) for i in range(rows)]

    def write(encrypted: bool) -> None:
        for start in range(0, rows, 1000):
            for name in names[start : start + 1000]:
                person = BenchPerson(plain_name=name)
                if encrypted:
                    person.full_name = name
                db.session.add(person)
            db.session.commit()

    plain_write = cpu_timed(lambda: write(False))[1]
    db.session.execute(BenchPerson.__table__.delete())
    db.session.commit()
    enc_write = cpu_timed(lambda: write(True))[1]

    def read(attr: str) -> None:
        db.session.remove()
        for person in db.session.scalars(select(BenchPerson)):
            getattr(person, attr)

    plain_read = min(cpu_timed(lambda: read("plain_name"))[1] for _ in range(3))
    enc_read = min(cpu_timed(lambda: read("full_name"))[1] for _ in range(3))
    db.session.remove()
    people = list(db.session.scalars(select(BenchPerson)))
    datakeys.preload(db.session(), "person", (p.id for p in people))
    warm = cpu_timed(lambda: [p.full_name for p in people])[1]
    per = 1e6 / rows
    print(f"   write, plain column           {plain_write * per:8.1f} µs/row")
    print(
        f"   write, encrypted + index      {enc_write * per:8.1f} µs/row  "
        f"(+{(enc_write - plain_write) * per:.1f} µs: new data key, AES-GCM, HMAC)"
    )
    print(f"   ORM load + read, plain        {plain_read * per:8.1f} µs/row")
    print(
        f"   ORM load + read, encrypted    {enc_read * per:8.1f} µs/row  "
        f"({enc_read / plain_read:.1f}× the plain read; includes one key unwrap per person)"
    )
    print(f"   decrypt only, keys unwrapped  {warm * per:8.1f} µs/field")


def bench_rewrap(app, count: int) -> None:  # type: ignore[no-untyped-def]
    print(f"\n2. Rewrap of {count:,} data keys (rotation, batches of 5,000)")
    db.session.execute(BenchPerson.__table__.delete())
    db.session.execute(DataKey.__table__.delete())
    db.session.commit()
    bulk_people(count)
    old = app.config["MASTER_KEYRING"].primary_id
    rotation.add_primary_key(app)
    keyring = app.config["MASTER_KEYRING"]
    elapsed, cpu, moved = cpu_timed(lambda: _rewrap_all(keyring))
    rate = moved / elapsed
    left = db.session.scalar(select(DataKey.id).where(DataKey.master_key_id == old).limit(1))
    print(
        f"   {moved:,} keys in {elapsed:.1f} s wall ({cpu:.1f} s CPU): {rate:,.0f} keys/s "
        f"(none left on the old key: {left is None})"
    )
    print(f"   1,000,000 keys: {1_000_000 / rate:.0f} s wall (target < 120 s)")


def _rewrap_all(keyring) -> int:  # type: ignore[no-untyped-def]
    total = 0
    while True:
        done = rotation.rewrap_batch(keyring, 5000)
        db.session.commit()
        if not done:
            return total
        total += done


def bench_lookup(people: int, scan: int, lookups: int = 50) -> None:
    print(f"\n3. Blind-index lookup among {people:,} people, against decrypt-and-scan of {scan:,}")
    present = db.session.scalar(select(func.count()).select_from(BenchPerson))
    if present != people:  # --workdir keeps a population between runs
        db.session.execute(BenchPerson.__table__.delete())
        db.session.execute(DataKey.__table__.delete())
        db.session.commit()
        bulk_people(people)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE bench_person")
            conn.exec_driver_sql("ANALYZE data_key")
    field = BenchPerson.full_name
    bidx = getattr(BenchPerson, field.index_attr)
    step = max(1, people // lookups)
    times, cpu_times, candidates = [], [], []
    for i in range(0, people, step)[:lookups]:
        db.session.remove()  # a fresh request: no key cached
        wanted = name_of(i).upper().replace(" ", "  ")  # another spelling of the same name
        elapsed, cpu, found = cpu_timed(lambda w=wanted: blindindex.search(field, w))
        if [p.plain_name for p in found] != [name_of(i)]:
            raise SystemExit(f"lookup {i} found {len(found)} rows instead of exactly one")
        times.append(elapsed)
        cpu_times.append(cpu)
        value = db.session.scalar(select(bidx).where(BenchPerson.id == found[0].id))
        candidates.append(
            len(db.session.scalars(select(BenchPerson.id).where(bidx == value)).all())
        )
    median, median_cpu = statistics.median(times), statistics.median(cpu_times)
    p90 = sorted(times)[int(len(times) * 0.9)]
    print(
        f"   lookup: median {median_cpu * 1e3:.2f} ms CPU, {median * 1e3:.2f} ms wall "
        f"(p90 wall {p90 * 1e3:.2f} ms) over {len(times)} lookups; "
        f"{statistics.mean(candidates):.1f} candidates decrypted on average "
        f"({blindindex.NAME.bits}-bit index)"
    )
    db.session.remove()
    wanted_name = name_of(scan // 2)

    def scan_all() -> int:
        session = db.session()
        rows = session.execute(
            select(BenchPerson.id, getattr(BenchPerson, field.ct_attr)).limit(scan)
        ).all()
        datakeys.preload(session, "person", (r.id for r in rows))
        wanted = blindindex.normalise.name(wanted_name)
        hits = 0
        for row in rows:
            plain = field.decrypt_raw(session, row.id, row.id, getattr(row, field.ct_attr))
            hits += blindindex.normalise.name(plain) == wanted
        return hits

    scan_time, scan_cpu, hits = cpu_timed(scan_all)
    print(
        f"   decrypt-and-scan of {scan:,}: {scan_cpu:.2f} s CPU, {scan_time:.2f} s wall ({hits} hit)"
    )
    print(
        f"   lookup is {scan_cpu / median_cpu:,.0f}× faster in CPU time, {scan_time / median:,.0f}× "
        "in wall time (targets: ≥ 1,000×; lookup < 10 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000, help="rows for the per-field figures")
    parser.add_argument("--rewrap", type=int, default=200_000, help="data keys to rewrap")
    parser.add_argument("--people", type=int, default=1_000_000, help="people for the lookup")
    parser.add_argument("--scan", type=int, default=100_000, help="people decrypted by the scan")
    parser.add_argument("--phases", default="fields,rewrap,lookup", help="which parts to run")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the database here")
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        app = make_app(workdir, keep=args.workdir is not None)
        with app.app_context():
            load = os.getloadavg()[0]
            print(
                f"Database: {db.engine.dialect.name}; Python {sys.version.split()[0]}; "
                f"{os.cpu_count()} CPUs; load average {load:.1f} at start"
            )
            if "fields" in phases:
                bench_fields(args.rows)
            if "rewrap" in phases:
                bench_rewrap(app, args.rewrap)
            if "lookup" in phases:
                bench_lookup(args.people, min(args.scan, args.people))
            if db.engine.dialect.name != "sqlite" and args.workdir is None:
                BenchBase.metadata.drop_all(db.engine)
                db.drop_all()
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
