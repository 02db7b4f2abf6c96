"""Case benchmark: case list, case file, search by phone and intake, each against the bare SQL beneath.

    .venv/bin/python bench/cases.py                        # SQLite: 10,000 then 100,000 cases
    .venv/bin/python bench/cases.py --sizes 10000          # a quick run
    .venv/bin/python bench/cases.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/casework_bench
    .venv/bin/python bench/cases.py --pg URL --no-sqlite   # PostgreSQL only

The issue's million (a kept database grows in steps: --reuse seeds only what is missing):

    .venv/bin/python bench/cases.py --sizes 100000,1000000 --db /var/tmp/cases.db
    .venv/bin/python bench/cases.py --sizes 1000000 --db /var/tmp/cases.db --reuse   # measure again
    .venv/bin/python bench/cases.py --sizes 100000,1000000 --no-sqlite --pg URL --keyring pg.json

Seeding runs at about 1,500 cases a second on one quiet core (every field really encrypted; data
keys, cases, types and people inserted with Core executemany, 1,000 per transaction), 400-800 on a
busy machine: a million takes 12-40 minutes and about 2.5 GB on SQLite; the measurements take a
minute or two. When the largest size is under a million, the output ends with an extrapolation to
1,000,000: per operation t(N) = t(n) × (N/n)^k, with k fitted on the last two sizes and kept within
[0, 1] (an estimate, printed as such, never a measurement).

What is seeded: the official tree (central → 34 provinces → 3,321 communes, from vietnam-provinces,
through casework.accounts.units.import_official), one officer per commune, then cases received by the
officer of a commune drawn with a skewed (log-normal) weight, so a few communes are busy and most are
quiet; received over the last three years. Victims get Vietnamese names (family names in their
national proportions: Nguyễn, Trần, Lê, Phạm, …; Thị Hoa, Ngọc Lan, …), 09x/03x/08x/07x phones written
the ways people write them, a CCCD number for about half, a date of birth; 60% of cases have an
alleged perpetrator; 4% of victims come back (same name, phone, ID) as repeat victims. Status and
severity follow a plausible spread. Rows are built with the application's own encryption
(EncryptedField.encrypt_raw under fresh data keys wrapped as datakeys.create wraps them, blind
indexes from blindindex.value_for) and inserted 1,000 per transaction with executemany: what open_case stores,
without its per-row ORM work, and without CASE_OPEN audit events. The intake figure below goes
through open_case itself.

What is measured (median of --repeat runs, each in a fresh transaction with no loaded objects and no
unwrapped keys, as a request starts; the busiest commune's officer unless said otherwise). "Bare SQL"
is the indexed SQL beneath the operation, compiled before the clock starts and run on the driver's
cursor: no ORM, no SQLAlchemy, no decryption, no policy.
  case list        casework.cases.listing.page over policy.scopes.visible_case_branches (each grant paged by
                   key on its own index, then merged), and each row's types as the page shows them;
                   the first page and one 20 pages in │ bare: the one range of the owning-unit index
                   that holds the same rows (checked equal first), and one query for their types
  case file        the case, policy + audit of the view (service.view_case), its people, every
                   encrypted field decrypted │ bare: the case row and its people's rows
  repeat check     casework.cases.search.repeat_matches on the file (phone, ID number, and full name
                   with birth year, of each victim) │ bare: its blind-index lookups
  search by phone  casework.cases.search.search_cases (rate limit lifted; audited) │ bare: the
                   blind-index candidate query, each candidate's case checked by key against
                   the officer's unit, and the matching cases
  intake           service.open_case, one commit each │ bare: the same rows (counter, case, types,
                   victim, two data keys, a hashed audit event after reading the chain's head), one
                   commit each
  pages            GET /cases/, POST /cases/search, GET /cases/<id> through the test client, signed
                   in: the whole request (session check, CSRF, templates, audit commit).

"Bare SQL" is a lower bound no implementation of the rules could reach: it leaves out the policy's
grants, the decryption and the audit event. So the list and the file also get a floor, what any
implementation of the same rules must run at the least: for the list, the very statements the app
sent (each grant paged by key, then merged), captured from one run and replayed on the driver's
cursor; for the file, its rows and data keys by bare SQL, every key unwrapped and every field
decrypted with the cipher itself, and the view's audit event hashed and appended; for the repeat
check, each lookup's candidates with their wrapped keys by bare SQL, every key unwrapped and every
candidate decrypted and compared, then which matching cases the officer may read; for the search,
the rate limit's count, the same candidates' work, the cases found, and the search's audit event.
The ratio to the floor is the cost of the application's own code (ORM, policy checks, key cache).

The database given with --pg is emptied: use a throwaway one. SQLite runs in a temporary file unless
--db names one (kept, with its benchmark master key beside it, for a later run with --reuse).
"""

from __future__ import annotations

import argparse
import base64
import bisect
import contextvars
import itertools
import json
import math
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import bindparam, delete, event, func, insert, select
from sqlalchemy.orm import aliased

import casework.audit.service as audit_service
import casework.db as casework_db
from casework import create_app
from casework.accounts import users as user_admin
from casework.accounts.models import Unit, User
from casework.accounts.units import import_official
from casework.audit.models import AuditEvent
from casework.audit.service import GENESIS, event_hash
from casework.audit.verify import ChainRow
from casework.cases import search, service, vocab
from casework.cases.listing import PAGE_SIZE
from casework.cases.models import Case, CaseCounter, CaseType, Person
from casework.cases.workflow.models import PendingDeadline
from casework.crypto import blindindex, cipher, datakeys
from casework.crypto.keyring import parse_keyring
from casework.crypto.models import DataKey
from casework.extensions import db
from casework.policy.scopes import visible_case_branches

PASSWORD = "bench horse battery staple"  # noqa: S105 (synthetic accounts of a throwaway database)
MILLION = 1_000_000
BATCH = 1_000

# --- Synthetic people ----------------------------------------------------------------------------


def words(text: str) -> list[str]:
    return text.split()


# Family names with their approximate national shares (%).
FAMILY = [
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 3), ("Huỳnh", 2),
    ("Phan", 4.5), ("Vũ", 2), ("Võ", 2), ("Đặng", 2.1), ("Bùi", 2), ("Đỗ", 1.4), ("Hồ", 1.3),
    ("Ngô", 1.3), ("Dương", 1), ("Lý", 0.5), ("Đinh", 0.6), ("Trương", 0.6), ("Lương", 0.4),
    ("Mai", 0.4), ("Hà", 0.5), ("Lò", 0.2), ("Hứa", 0.2), ("Tạ", 0.2),
]  # fmt: skip
FEMALE_MIDDLE = ["Thị"] * 12 + words("Ngọc Thu Thanh Minh Kim Bích Mỹ Hồng Phương")
FEMALE_GIVEN = words(
    "Hoa Lan Hương Mai Linh Hạnh Nga Thủy Hằng Trang Thảo Nhung Yến Loan Phương Huyền Dung Vân Hà "
    "Ngọc Hiền Huệ Liên Oanh Quỳnh Tâm Thắm Trinh Uyên Xuân Giang Hòa Nhàn Thơm Tuyết Ánh Diệp Chi "
    "Duyên Hồng Lệ Nhi Thư Vy My Anh"
)
MALE_MIDDLE = ["Văn"] * 8 + words("Đức Minh Quốc Hữu Công Xuân Thanh")
MALE_GIVEN = words(
    "Hùng Dũng Tuấn Nam Hải Minh Long Cường Thắng Sơn Tùng Phong Quang Trung Bình Hòa Toàn Khánh "
    "Huy Đạt Lâm Thành Tài Vinh Hiếu Lợi Tiến Kiên"
)
# Mobile prefixes of Viettel, Vinaphone, MobiFone and the others.
PREFIXES = words(
    "086 088 089 090 091 093 094 096 097 098 032 033 034 035 036 037 038 039 070 076 077 078 079 "
    "081 082 083 084 085"
)
SAFE = [
    "Gọi sau 9 giờ sáng, nói là trạm y tế",
    "Chỉ nhắn tin, không gọi",
    "Gặp ở nhà văn hóa thôn",
    "Qua chị gái, không gọi số chồng",
]
SUMMARIES = [
    "Chị bị chồng đánh nhiều lần sau khi uống rượu, có vết bầm ở tay.",
    "Hàng xóm báo tin nghe tiếng la hét và đập phá đồ đạc trong đêm.",
    "Chị bị nhà chồng cấm về thăm bố mẹ đẻ, bị kiểm soát toàn bộ tiền lương.",
    "Cháu bé có dấu hiệu bị bỏ mặc, thường xuyên đói và không được đi học.",
    "Chị đề nghị hỗ trợ pháp lý về ly hôn và quyền nuôi con.",
]

SOURCES = [
    ("victim", 35), ("relative", 20), ("neighbour", 8), ("branch", 12), ("hotline_111", 5),
    ("police", 7), ("petition", 5), ("citizen_reception", 4), ("media", 1), ("own_detection", 3),
]  # fmt: skip
TYPES = [
    (["domestic_violence.physical"], 30), (["domestic_violence.psychological"], 12),
    (["domestic_violence.economic"], 6), (["domestic_violence.physical", "domestic_violence.insult"], 8),
    (["family_dispute.divorce"], 10), (["family_dispute.custody"], 4), (["child_abuse.neglect"], 4),
    (["child_abuse.sexual"], 2), (["sexual_violence"], 5), (["trafficking"], 1),
    (["child_marriage"], 1), (["labour_rights"], 3), (["land_property"], 5), (["online_violence"], 2),
    (["social_policy"], 2), (["other"], 5),
]  # fmt: skip
STATUS = [
    ("open", 10),
    ("active", 30),
    ("monitoring", 15),
    ("closure_requested", 3),
    ("closed", 42),
]
SEVERITY = [(None, 10), ("S1", 45), ("S2", 28), ("S3", 14), ("S4", 3)]


def pick(rng: random.Random, weighted: list[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for value, weight in weighted:
        x -= weight
        if x < 0:
            return value
    return weighted[-1][0]


def phone_number(rng: random.Random) -> str:
    """A mobile number, written the ways people write them (0912 345 678, +84 912345678, …)."""
    digits = rng.choice(PREFIXES) + f"{rng.randrange(10_000_000):07d}"
    style = rng.random()
    if style < 0.2:
        return f"+84 {digits[1:4]} {digits[4:7]} {digits[7:]}"
    if style < 0.5:
        return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    return digits


def cccd(rng: random.Random, born: date, female: bool) -> str:
    """A 12-digit citizen ID: province of birth, century and sex, year, then a serial."""
    century = (1 if female else 0) + (2 if born.year >= 2000 else 0)
    return f"{rng.randrange(1, 97):03d}{century}{born.year % 100:02d}{rng.randrange(10**6):06d}"


def female_name(rng: random.Random) -> str:
    family = pick(rng, FAMILY)
    return f"{family} {rng.choice(FEMALE_MIDDLE)} {rng.choice(FEMALE_GIVEN)}"


def male_name(rng: random.Random) -> str:
    family = pick(rng, FAMILY)
    return f"{family} {rng.choice(MALE_MIDDLE)} {rng.choice(MALE_GIVEN)}"


@dataclass
class Victim:
    name: str
    phone: str | None
    id_number: str | None
    born: date
    commune: int


@dataclass
class World:
    rng: random.Random
    communes: list[int]  # unit ids
    weights: list[float]  # cumulative
    officers: dict[int, int]  # unit id → user id
    prefixes: dict[int, str] = field(default_factory=dict)  # unit id → code prefix (province)
    returning: list[Victim] = field(default_factory=list)  # a reservoir of past victims
    seeded: int = 0

    def commune(self) -> int:
        """A commune drawn by its weight."""
        x = self.rng.random() * self.weights[-1]
        return self.communes[min(bisect.bisect(self.weights, x), len(self.communes) - 1)]


# --- App and organisation ------------------------------------------------------------------------


def make_app(url: str, keyring_file: Path | None = None):  # type: ignore[no-untyped-def]
    """The app on this database. A kept database keeps its master key in keyring_file (a benchmark
    key for synthetic data; never do this with real data)."""
    if keyring_file is not None and keyring_file.exists():
        keyring_json = keyring_file.read_text()
    else:
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        keyring_json = json.dumps({"primary": "mk-bench", "keys": [{"id": "mk-bench", "key": key}]})
        if keyring_file is not None:
            keyring_file.write_text(keyring_json)
            keyring_file.chmod(0o600)
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "MASTER_KEYRING": parse_keyring(keyring_json),
            # Cheap password hashing: 3,321 officers are created, and hashing is not measured here.
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_KIB": 1024,
            "ARGON2_PARALLELISM": 1,
        }
    )


def build_world(rng: random.Random) -> World:
    """The official tree (through the import service) and one officer per commune: the first made
    through user_admin.create_user, the others copied from it in bulk (hashing is not measured)."""
    import_official(None)
    db.session.commit()
    parent = aliased(Unit)
    communes = dict(
        db.session.execute(
            select(Unit.id, parent.code)
            .join(parent, parent.id == Unit.parent_id)
            .where(Unit.level == "commune")
            .order_by(Unit.id)
        ).all()
    )
    officers = dict(
        db.session.execute(select(User.unit_id, User.id).where(User.role == "officer")).all()
    )
    missing = [u for u in communes if u not in officers]
    if missing:
        first, _ = user_admin.create_user(
            None,
            username=f"officer.{missing[0]}",
            display_name=f"Cán bộ {missing[0]}",
            role="officer",
            unit=db.session.get(Unit, missing[0]),
            password=PASSWORD,
        )
        db.session.flush()
        rows = [
            {
                "username": f"officer.{u}", "display_name": f"Cán bộ {u}", "role": "officer",
                "unit_id": u, "password_hash": first.password_hash, "must_change_password": False,
                "failed_logins": 0, "active": True, "version": 1,
            }
            for u in missing[1:]
        ]  # fmt: skip
        if rows:
            db.session.execute(insert(User.__table__), rows)
        db.session.commit()
        officers = dict(
            db.session.execute(select(User.unit_id, User.id).where(User.role == "officer")).all()
        )
    ids = list(communes)
    # Skewed load: a few busy communes, many quiet ones.
    weights = list(itertools.accumulate(rng.lognormvariate(0, 1.0) for _ in ids))
    return World(rng, ids, weights, officers, prefixes=communes)


def _age(rng: random.Random, child: bool) -> int:
    if child:
        return rng.randrange(3, 16)
    bands = [(rng.randrange(16, 30), 30), (rng.randrange(30, 60), 62), (rng.randrange(60, 85), 8)]
    return int(pick(rng, bands))


def next_victim(world: World, now: datetime) -> Victim:
    """A new victim, or (4%) one who comes back: same name, phone, ID and date of birth."""
    rng = world.rng
    if world.returning and rng.random() < 0.04:
        old = rng.choice(world.returning)
        # Most come back to the same commune; some have moved.
        moved = rng.random() < 0.2
        commune = world.commune() if moved else old.commune
        return Victim(old.name, old.phone, old.id_number, old.born, commune)
    commune = world.commune()
    child = rng.random() < 0.08
    born = (now - timedelta(days=365.25 * _age(rng, child) + rng.randrange(365))).date()
    victim = Victim(
        female_name(rng),
        phone_number(rng) if rng.random() < 0.85 and not child else None,
        cccd(rng, born, True) if rng.random() < 0.5 and not child else None,
        born,
        commune,
    )
    if len(world.returning) < 20_000:
        world.returning.append(victim)
    elif rng.random() < 0.05:
        world.returning[rng.randrange(len(world.returning))] = victim
    return victim


def _sealed(f: Any, row_id: uuid.UUID, owner_id: uuid.UUID, value: Any) -> bytes | None:
    """The field's own encryption: the ciphertext open_case would store for this row."""
    return None if value is None else f.encrypt_raw(db.session(), row_id, owner_id, value)


def _index(f: Any, value: str | None) -> int | None:
    if value is None:
        return None
    master = datakeys.current_keyring().primary
    wanted = f.index.normaliser(value)
    return blindindex.value_for(
        db.session(), master, f.table_name, f.column_name, wanted, f.index.bits
    )


KEYS: list[dict[str, Any]] = []  # the batch's data keys, inserted with its rows


def new_data_key(kind: str, owner_id: uuid.UUID, now: datetime) -> None:
    """datakeys.create without its ORM object: a fresh key, wrapped the same way under the primary
    master key, remembered for the fields' encryption and inserted with the batch (Core)."""
    session = db.session()
    uow = datakeys.unit_of_work(session)
    primary = datakeys.current_keyring().primary
    key = os.urandom(datakeys.DATA_KEY_BYTES)
    KEYS.append(
        {
            "id": uuid.uuid4(), "owner_kind": kind, "owner_id": owner_id, "key_version": 1,
            "master_key_id": primary.id, "wrapped_key": datakeys.wrap(uow.kek_for(primary), key),
            "created_at": now, "rewrapped_at": None, "shredded_at": None,
        }
    )  # fmt: skip
    uow.remember(kind, owner_id, 1, key)


def _person_row(
    role: str, sex: str, case_id: uuid.UUID, officer: int, now: datetime, **values: Any
) -> dict[str, Any]:
    person_id = uuid.uuid4()
    new_data_key("person", person_id, now)
    row: dict[str, Any] = {
        "id": person_id, "case_id": case_id, "role": role, "sex": sex, "created_at": now,
        "created_by_id": officer, "version": 1, "birth_year": values.pop("birth_year", None),
        "age_band": values.pop("age_band", None), "is_child": values.pop("is_child", None),
    }  # fmt: skip
    indexed = False
    for name in ("full_name", "aliases", "date_of_birth", "phone", "address", "id_number"):
        f = getattr(Person, name)
        value = values.get(name)
        row[name] = _sealed(f, person_id, person_id, value)
        if f.index is not None:
            row[f"{name}_bidx"] = _index(f, value)
            indexed = indexed or value is not None
    row["safe_contact"] = _sealed(
        Person.safe_contact, person_id, person_id, values.get("safe_contact")
    )
    row["bidx_key_id"] = datakeys.current_keyring().primary.id if indexed else None
    return row


def write_counters(
    counters: dict[tuple[str, int], int], stored: dict[tuple[str, int], int]
) -> None:
    """The codes' counters that moved in this batch (Core: one UPDATE or INSERT each), in the
    batch's transaction, so that an interrupted seed continues with fresh codes."""
    table = CaseCounter.__table__
    changed = [(k, v) for k, v in counters.items() if stored.get(k) != v]
    new = [{"prefix": p, "year": y, "last": v} for (p, y), v in changed if (p, y) not in stored]
    moved = [{"p": p, "y": y, "v": v} for (p, y), v in changed if (p, y) in stored]
    if new:
        db.session.execute(insert(table), new)
    if moved:
        db.session.execute(
            table.update()
            .where(table.c.prefix == bindparam("p"), table.c.year == bindparam("y"))
            .values(last=bindparam("v")),
            moved,
        )
    stored.update(changed)


def closed_at(rng: random.Random, received: datetime, now: datetime) -> datetime:
    """A closed case closes weeks to months after it was received (never in the future)."""
    return min(received + timedelta(days=rng.uniform(7, 180)), now)


def seed(world: World, until: int, *, quiet: bool = False) -> float:
    """Add cases until `until` exist, 1,000 per transaction; returns cases per second.

    Rows are built with the fields' own encryption (EncryptedField.encrypt_raw under fresh data
    keys wrapped as datakeys.create wraps them, blind indexes from blindindex.value_for) and
    inserted with Core executemany, data keys included: what open_case stores, without its per-row
    ORM work, and each batch's pending deadlines (casework.cases.workflow.pending). No audit events
    are written."""
    from casework.cases.workflow import pending

    if world.seeded == 0:
        pending.record_basis()  # every case from here on gets its deadlines as it is seeded
    rng = world.rng
    now = datetime.now(UTC)
    start = time.perf_counter()
    todo = until - world.seeded
    counters = {(c.prefix, c.year): c.last for c in db.session.scalars(select(CaseCounter))}
    stored = dict(counters)
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    done = 0
    while done < todo:
        cases, types, people = [], [], []
        for _ in range(min(BATCH, todo - done)):
            victim = next_victim(world, now)
            officer = world.officers[victim.commune]
            received = now - timedelta(seconds=rng.uniform(600, 3 * 365 * 86400))
            prefix, year = world.prefixes[victim.commune], received.astimezone(tz).year
            counters[(prefix, year)] = number = counters.get((prefix, year), 0) + 1
            case_id = uuid.uuid4()
            new_data_key("case", case_id, received)
            codes = pick(rng, TYPES)
            status, severity = pick(rng, STATUS), pick(rng, SEVERITY)
            cases.append(
                {
                    "id": case_id, "code": f"{prefix}-{year}-{number:06d}", "status": status,
                    "received_at": received, "received_by_id": officer,
                    "source": pick(rng, SOURCES), "owning_unit_id": victim.commune,
                    "handling_unit_id": victim.commune, "place_unit_id": victim.commune,
                    "assigned_to_id": officer,
                    "summary": _sealed(Case.summary, case_id, case_id, rng.choice(SUMMARIES)),
                    "reporter_name": None, "reporter_contact": None, "reporter_relation": None,
                    "immediate_danger": rng.random() < 0.07,
                    "child_involved": codes[0].startswith("child") or rng.random() < 0.1,
                    "injuries": rng.random() < 0.3,
                    "sexual_violence": codes[0].startswith(("sexual", "child_abuse.sexual")),
                    "severity": severity, "risk": None, "gbv_type": None,
                    "classified_at": received if severity else None,
                    "reportable_since": received if severity in ("S3", "S4") else None,
                    "closed_at": closed_at(rng, received, now) if status == "closed" else None, "closure_outcome": None,
                    "created_at": received, "updated_at": received, "version": 1,
                }
            )  # fmt: skip
            all_codes = sorted({*codes, *(c.partition(".")[0] for c in codes)})
            types += [{"case_id": case_id, "code": code} for code in all_codes]
            age = int((received.date() - victim.born).days // 365.25)
            people.append(
                _person_row(
                    "victim", "female", case_id, officer, received,
                    full_name=victim.name, phone=victim.phone, id_number=victim.id_number,
                    date_of_birth=victim.born, birth_year=victim.born.year,
                    age_band=vocab.age_band(max(age, 0)), is_child=age < 16,
                    safe_contact=rng.choice(SAFE) if rng.random() < 0.6 else None,
                )
            )  # fmt: skip
            if rng.random() < 0.6:
                people.append(
                    _person_row(
                        "perpetrator", "male", case_id, officer, received,
                        full_name=male_name(rng),
                        phone=phone_number(rng) if rng.random() < 0.7 else None,
                    )
                )  # fmt: skip
        db.session.execute(insert(DataKey.__table__), KEYS)
        KEYS.clear()
        db.session.execute(insert(Case.__table__), cases)
        db.session.execute(insert(CaseType.__table__), types)
        db.session.execute(insert(Person.__table__), people)
        pending.refresh([c["id"] for c in cases])
        write_counters(counters, stored)
        db.session.commit()
        db.session.expunge_all()
        done += len(cases)
        if not quiet:
            rate = done / (time.perf_counter() - start)
            print(f"\r  seeding: {world.seeded + done:,} cases ({rate:,.0f}/s)", end="", flush=True)
    world.seeded = until
    elapsed = time.perf_counter() - start
    if not quiet and todo:
        print()
    return todo / elapsed if elapsed else 0.0


# --- Timing --------------------------------------------------------------------------------------


def fresh() -> None:
    """Start as a request does: no transaction, no loaded objects, no unwrapped keys."""
    db.session.rollback()
    db.session.expunge_all()


@dataclass
class Timing:
    median_ms: float
    queries: int


def timed(run: Callable[[Any], object], repeat: int, prepare: Callable[[int], Any]) -> Timing:
    """Median of `repeat` runs, each in a fresh transaction (prepare is not timed), and the number
    of SQL statements one run sends."""
    times, queries = [], 0

    def count(*_: object) -> None:
        nonlocal queries
        queries += 1

    def counted(conn: Any, statement: str, params: Any = (), cursor: Any = None) -> Any:
        count()
        return plain(conn, statement, params, cursor)

    # BEGIN and the audit append run on the driver's cursor, past SQLAlchemy's events: count them
    # where they are sent.
    plain = casework_db.driver_execute
    for i in range(repeat):
        fresh()
        arg = prepare(i)
        if i == 0:
            event.listen(db.engine, "before_cursor_execute", count)
            casework_db.driver_execute = audit_service.driver_execute = counted
        t0 = time.perf_counter()
        try:
            run(arg)
        finally:
            times.append(time.perf_counter() - t0)
            if i == 0:
                event.remove(db.engine, "before_cursor_execute", count)
                casework_db.driver_execute = audit_service.driver_execute = plain
    fresh()
    return Timing(statistics.median(times) * 1000, queries)


def raw(stmt: Any, compiled: Any = None, **values: Any) -> tuple[str, Any]:
    """The SQL text and driver parameters of a SQLAlchemy statement: what reaches the database.
    `compiled` (from an earlier call's statement) and `values` fill in bound parameters."""
    if compiled is None:
        compiled = stmt.compile(
            dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
        )
    params = compiled.construct_params(values or None)
    processors = compiled._bind_processors

    def processor(key: str) -> Any:
        # An IN list rendered for the driver names each element after its parameter: id_1_1, …
        stem, _, n = key.rpartition("_")
        return processors.get(key) or (processors.get(stem) if n.isdigit() else None)

    processed = {
        k: processor(k)(v) if processor(k) and v is not None else v for k, v in params.items()
    }
    if compiled.positional:
        return compiled.string, tuple(processed[k] for k in compiled.positiontup)
    return compiled.string, processed


def bare(*statements: tuple[str, Any]) -> list[list[Any]]:
    """Run SQL texts on the driver's own cursor: no ORM, no SQLAlchemy, no decryption."""
    cursor = db.session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        out = []
        for sql_text, params in statements:
            cursor.execute(sql_text, params)
            out.append(cursor.fetchall() if cursor.description is not None else [])
        return out
    finally:
        cursor.close()


@dataclass
class Row:
    operation: str
    app: Timing
    bare: Timing
    floor: Timing | None = None  # what any implementation of the same rules must run
    floor_is: str = ""

    @property
    def ratio(self) -> float:
        return self.app.median_ms / self.bare.median_ms if self.bare.median_ms else math.inf


def busiest_communes() -> list[tuple[int, int]]:
    """(unit id, cases) of the busiest commune and of a median one (among those with cases)."""
    counts = db.session.execute(
        select(Case.owning_unit_id, func.count())
        .group_by(Case.owning_unit_id)
        .order_by(func.count().desc())
    ).all()
    return [tuple(counts[0]), tuple(counts[len(counts) // 2])]  # type: ignore[list-item]


def officer_of(world: World, unit_id: int) -> Callable[[int], User]:
    return lambda _i: db.session.get(User, world.officers[unit_id])  # type: ignore[return-value]


def indexed_page(unit_id: int, after: tuple[datetime, uuid.UUID] | None = None) -> Any:
    """The bare indexed SQL of a commune officer's page: one range of ix_case_file_owning_received
    (the seeded cases are owned and handled by the commune that received them)."""
    stmt = select(Case).where(Case.owning_unit_id == unit_id)
    if after is not None:
        stmt = stmt.where(
            (Case.received_at < after[0]) | ((Case.received_at == after[0]) & (Case.id < after[1]))
        )
    return stmt.order_by(Case.received_at.desc(), Case.id.desc()).limit(PAGE_SIZE + 1)


def later_cursor(unit_id: int, depth: int) -> tuple[datetime, uuid.UUID] | None:
    """The cursor of the page `depth` pages into the commune's list (as the Next link gives it)."""
    row = db.session.execute(
        indexed_page(unit_id)
        .with_only_columns(Case.received_at, Case.id)
        .limit(1)
        .offset(PAGE_SIZE * depth - 1)
    ).first()
    return (row[0], row[1]) if row else None


def measure_list(world: World, unit_id: int, repeat: int, label: str, depth: int = 0) -> Row:
    """A page as casework.cases.views.index builds it (each policy branch paged by key, then
    merged), and the rows' types it shows; bare: the one indexed range that holds the same rows."""
    from casework.cases.listing import as_is as _as_is
    from casework.cases.listing import page as _page

    cursor = later_cursor(unit_id, depth) if depth else None
    after = f"{cursor[0].isoformat()}_{cursor[1]}" if cursor else None
    fresh()
    officer = officer_of(world, unit_id)(0)
    shown = [c.id for c in _page(visible_case_branches(officer), after, _as_is)[0]]
    expected = list(db.session.scalars(indexed_page(unit_id, cursor).with_only_columns(Case.id)))
    if shown != expected[:PAGE_SIZE]:
        raise RuntimeError("the policy's page and the indexed range differ")
    fresh()

    def app(officer: User) -> None:
        rows, _cursor = _page(visible_case_branches(officer), after, _as_is)
        for case in rows:
            _ = case.type_codes

    def statements(i: int) -> list[tuple[str, Any]]:
        page = indexed_page(unit_id, cursor)
        ids = page.with_only_columns(Case.id).subquery()
        types = select(CaseType.case_id, CaseType.code).where(
            CaseType.case_id.in_(select(ids.c.id))
        )
        return [raw(page), raw(types)]

    return Row(
        label,
        timed(app, repeat, officer_of(world, unit_id)),
        timed_bare(repeat, statements),
        replayed(app, officer_of(world, unit_id), repeat),
        "the app's own SQL on the driver's cursor",
    )


def replayed(run: Callable[[Any], object], prepare: Callable[[int], Any], repeat: int) -> Timing:
    """The floor of a read: the very statements the app sent (its policy's grants, keyset and
    filters included), captured from one run and replayed on the driver's cursor."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        sent.append((statement, params))

    fresh()
    arg = prepare(0)
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        run(arg)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    fresh()
    found = timed(lambda stmts: bare(*stmts), repeat, lambda _i: list(sent))
    found.queries = len(sent)
    return found


def timed_bare(repeat: int, statements: Callable[[int], list[tuple[str, Any]]]) -> Timing:
    """The bare SQL, compiled before the clock starts."""
    found = timed(lambda stmts: bare(*stmts), repeat, statements)
    fresh()
    found.queries = len(statements(0))
    fresh()
    return found


def sample_cases(unit_id: int, n: int, rng: random.Random) -> list[uuid.UUID]:
    """Cases of the unit whose victim has a phone or an ID number (something to look up)."""
    ids = list(
        db.session.scalars(
            select(Case.id)
            .join(Person, Person.case_id == Case.id)
            .where(
                Case.owning_unit_id == unit_id,
                Person.role == "victim",
                Person._phone_bidx.is_not(None) | Person._id_number_bidx.is_not(None),  # type: ignore[attr-defined]
            )
            .distinct()
        )
    )
    return rng.sample(ids, min(n, len(ids)))


def measure_file(world: World, unit_id: int, cases: list[uuid.UUID], repeat: int) -> Row:
    """The file: the case, the view audited, its people, every identity field decrypted."""
    from casework.cases.sections import people

    def app(arg: tuple[User, uuid.UUID]) -> None:
        officer, case_id = arg
        case = db.session.get(Case, case_id)
        if case is None:
            raise RuntimeError("a sampled case is missing")
        service.view_case(officer, case)
        # In the page's order: the people are loaded before anything is decrypted, so the case's
        # and the people's keys come in one query.
        everyone = people(case)
        _ = case.summary, case.reporter_name, case.reporter_contact
        for p in everyone:
            _ = (p.full_name, p.aliases, p.date_of_birth, p.phone, p.address, p.id_number)
            _ = p.safe_contact

    def prepare(i: int) -> tuple[User, uuid.UUID]:
        return officer_of(world, unit_id)(i), cases[i % len(cases)]

    def statements(i: int) -> list[tuple[str, Any]]:
        case_id = prepare(i)[1]
        return [
            raw(select(Case).where(Case.id == case_id)),
            raw(select(Person).where(Person.case_id == case_id).order_by(Person.created_at)),
        ]

    app_timing = timed(app, repeat, prepare)
    return Row(
        "case file (case + people decrypted)",
        app_timing,
        timed_bare(repeat, statements),
        measure_file_floor(cases, repeat),
        "bare SQL, the same keys unwrapped and fields decrypted, the view's audit event",
    )


# --- The floor: the same SQL, decryption and audit append, written by hand ----------------------

CASE_FIELDS = (Case.summary, Case.reporter_name, Case.reporter_contact)
PERSON_FIELDS = (
    Person.full_name, Person.aliases, Person.date_of_birth, Person.phone, Person.address,
    Person.id_number, Person.safe_contact,
)  # fmt: skip


def _by_name(cursor_rows: list[list[Any]], description: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in description]
    return [dict(zip(names, row, strict=True)) for row in cursor_rows]


def _bare_named(*statements: tuple[str, Any]) -> list[list[dict[str, Any]]]:
    """As bare(), with each row as a dict by column name."""
    cursor = db.session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        out = []
        for sql_text, params in statements:
            cursor.execute(sql_text, params)
            rows = cursor.fetchall() if cursor.description is not None else []
            out.append(_by_name(rows, cursor.description) if rows else [])
        return out
    finally:
        cursor.close()


def _uuid(value: Any) -> str:
    """A UUID as the app writes it, whether the driver gives a UUID or SQLite's 32 hex digits."""
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _decrypt(f: Any, row: dict[str, Any], aeads: dict[Any, Any], owner: str) -> Any:
    """One field of a row, decrypted under its owner's key (its own row's id in the binding)."""
    blob = row.get(f.column_name)
    if blob is None:
        return None
    blob = bytes(blob)
    aead = aeads[(f.key_owner, owner, cipher.key_version_of(blob))]
    return f.decode(cipher.decrypt(aead, f.binding(_uuid(row["id"])), blob))


def _audit_append(tag: str, object_type: str, object_id: str | None, compiled: Any) -> None:
    """An audit event as audit.record appends it: the chain's head read, the event hashed and
    inserted after it (in the transaction, as the app's view; the run is rolled back)."""
    head = bare(_HEAD_SQL)[0]
    event_row = ChainRow(
        (head[0][0] + 1) if head else 1, datetime.now(UTC), None, None, None, "officer", tag,
        object_type, object_id, "ok", None, None, "{}", bytes(head[0][1]) if head else GENESIS,
        b"",
    )  # fmt: skip
    event_row = event_row._replace(hash=event_hash(event_row))
    bare(raw(None, compiled, **event_row._asdict()))


_HEAD_SQL: tuple[str, Any] = ("", ())


def _audit_insert() -> Any:
    """The audit insert, compiled (and the chain's head query, which _audit_append reads first)."""
    global _HEAD_SQL
    _HEAD_SQL = raw(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    )
    return (
        insert(AuditEvent)
        .values({c: bindparam(c) for c in ChainRow._fields})
        .compile(dialect=db.engine.dialect)
    )


def measure_file_floor(cases: list[uuid.UUID], repeat: int) -> Timing:
    """The case file's floor: the case row, its people's rows and their data keys by bare SQL,
    every key unwrapped and every field the app decrypts decrypted with the cipher itself, and
    the view's audit event appended: what any implementation of the same rules must do."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    # Generous to the floor: the key-encryption key and the audit insert are ready before the
    # clock starts.
    kek_bytes = datakeys.kek(datakeys.current_keyring().primary)
    audit_insert = _audit_insert()

    def statements(i: int) -> list[tuple[str, Any]]:
        case_id = cases[i % len(cases)]
        key = select(
            DataKey.owner_kind, DataKey.owner_id, DataKey.key_version, DataKey.wrapped_key
        ).where(DataKey.wrapped_key.is_not(None))
        people = select(Person.id).where(Person.case_id == case_id)
        return [
            raw(select(Case.__table__).where(Case.id == case_id)),
            raw(select(Person.__table__).where(Person.case_id == case_id).order_by(Person.created_at)),
            raw(key.where(DataKey.owner_kind == "case", DataKey.owner_id == case_id)),
            raw(key.where(DataKey.owner_kind == "person", DataKey.owner_id.in_(people))),
        ]  # fmt: skip

    def floor(stmts: list[tuple[str, Any]]) -> None:
        case_rows, people_rows, case_keys, person_keys = _bare_named(*stmts)
        key_rows = case_keys + person_keys
        aeads = {
            (k["owner_kind"], _uuid(k["owner_id"]), k["key_version"]): AESGCM(
                datakeys.unwrap(kek_bytes, bytes(k["wrapped_key"]))
            )
            for k in key_rows
        }
        case = case_rows[0]
        case_id = _uuid(case["id"])
        _ = [_decrypt(f, case, aeads, case_id) for f in CASE_FIELDS]
        for person in people_rows:
            owner = _uuid(person["id"])
            _ = [_decrypt(f, person, aeads, owner) for f in PERSON_FIELDS]
        _audit_append("case:file:view", "case_file", case_id, audit_insert)

    found = timed(floor, repeat, statements)
    found.queries = len(statements(0)) + 2
    fresh()
    return found


def index_value(f: Any, value: str) -> int:
    master = datakeys.current_keyring().primary
    wanted = f.index.normaliser(value)
    return blindindex.value_for(
        db.session(), master, f.table_name, f.column_name, wanted, f.index.bits
    )


def _candidates(f: Any, value: str, *where: Any) -> Any:
    """The candidate query blindindex.search sends for this value."""
    return select(Person.id, Person.id, getattr(Person, f.ct_attr)).where(
        getattr(Person, f.index_attr) == index_value(f, value), *where
    )


def _keyed_candidates(f: Any, value: str, *where: Any) -> Any:
    """The candidates and their owners' wrapped keys, in one query, as blindindex.search reads them."""
    owner = getattr(Person, f.owner_attr)
    return (
        select(Person.id, Person.case_id, getattr(Person, f.ct_attr), DataKey.wrapped_key)
        .outerjoin(
            DataKey,
            (DataKey.owner_kind == f.key_owner)
            & (DataKey.owner_id == owner)
            & DataKey.wrapped_key.is_not(None),
        )
        .where(getattr(Person, f.index_attr) == index_value(f, value), *where)
    )


def _true_matches(f: Any, wanted: str, rows: list[list[Any]], kek_bytes: bytes) -> set[str]:
    """The floor's decryption: every candidate's key unwrapped, its field decrypted with the cipher
    itself and compared after normalisation; the cases of the true matches."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    found: set[str] = set()
    for person_id, case_id, blob, wrapped in rows:
        if blob is None or wrapped is None:
            continue
        blob = bytes(blob)
        aead = AESGCM(datakeys.unwrap(kek_bytes, bytes(wrapped)))
        plain = f.decode(cipher.decrypt(aead, f.binding(_uuid(person_id)), blob))
        if f.index.normaliser(str(plain)) == wanted:
            found.add(_uuid(case_id))
    return found


def _victim_lookups(case_id: uuid.UUID) -> list[tuple[Any, str, tuple[Any, ...]]]:
    """The lookups repeat_matches makes for a case: each victim's phone and ID number, and her full
    name with her birth year (among victims and children)."""
    fresh()
    out: list[tuple[Any, str, tuple[Any, ...]]] = []
    other = Person.case_id != case_id
    for p in db.session.scalars(
        select(Person).where(Person.case_id == case_id, Person.role == "victim")
    ):
        out += [(getattr(Person, n), getattr(p, n), (other,)) for n in ("phone", "id_number")]
        if p.birth_year is not None:
            same = (other, Person.birth_year == p.birth_year, Person.role.in_(("victim", "child")))
            out.append((Person.full_name, p.full_name, same))
    fresh()
    return [(f, v, w) for f, v, w in out if v]


def measure_repeat(world: World, unit_id: int, cases: list[uuid.UUID], repeat: int) -> Row:
    """The possible-repeat-victim check the file page runs (search.repeat_matches)."""
    lookups = {case_id: _victim_lookups(case_id) for case_id in cases}
    kek_bytes = datakeys.kek(datakeys.current_keyring().primary)

    def app(arg: tuple[User, Case]) -> None:
        search.repeat_matches(*arg)

    def prepare(i: int) -> tuple[User, Case]:
        case = db.session.get(Case, cases[i % len(cases)])
        return officer_of(world, unit_id)(i), case  # type: ignore[return-value]

    def statements(i: int) -> list[tuple[str, Any]]:
        return [raw(_candidates(f, v, *w)) for f, v, w in lookups[cases[i % len(cases)]]]

    def keyed(i: int) -> tuple[list[tuple[Any, str]], list[tuple[str, Any]], uuid.UUID]:
        found = lookups[cases[i % len(cases)]]
        wanted = [(f, f.index.normaliser(v)) for f, v, _w in found]
        return (
            wanted,
            [raw(_keyed_candidates(f, v, *w)) for f, v, w in found],
            cases[i % len(cases)],
        )

    def floor(arg: tuple[list[tuple[Any, str]], list[tuple[str, Any]], uuid.UUID]) -> None:
        wanted, stmts, _case_id = arg
        matched: set[str] = set()
        for (f, value), rows in zip(wanted, bare(*stmts), strict=True):
            matched |= _true_matches(f, value, rows, kek_bytes)
        if matched:
            # Which of them the officer may read (her commune owns them): named, the rest counted.
            readable = select(Case.id).where(
                Case.id.in_([uuid.UUID(m) for m in matched]), Case.owning_unit_id == unit_id
            )
            bare(raw(readable))

    floor_timing = timed(floor, repeat, keyed)
    floor_timing.queries = max(len(keyed(i)[1]) for i in range(len(cases))) + 1
    return Row(
        "repeat-victim check on the file",
        timed(app, repeat, prepare),
        timed_bare(repeat, statements),
        floor_timing,
        "the candidates with their keys by bare SQL, each decrypted with the cipher and compared, "
        "the readable matches",
    )


def measure_search(world: World, unit_id: int, repeat: int) -> tuple[Row, list[str]]:
    """search.search_cases by phone (the rate limit lifted: the benchmark measures the search)."""
    fresh()
    phones = [
        str(p.phone)
        for p in db.session.scalars(
            select(Person)
            .join(Case, Case.id == Person.case_id)
            .where(Case.owning_unit_id == unit_id, Person._phone_bidx.is_not(None))  # type: ignore[attr-defined]
            .limit(repeat)
        )
    ]
    search.SEARCHES_PER_MINUTE = 10**9
    kek_bytes = datakeys.kek(datakeys.current_keyring().primary)
    audit_insert = _audit_insert()

    def app(arg: tuple[User, str]) -> None:
        if not search.search_cases(arg[0], "phone", arg[1]):
            raise RuntimeError("a phone of the unit's own cases was not found")

    def prepare(i: int) -> tuple[User, str]:
        return officer_of(world, unit_id)(i), phones[i % len(phones)]

    def readable() -> Any:
        return select(Case.id).where(Case.id == Person.case_id, Case.owning_unit_id == unit_id)

    def statements(i: int) -> list[tuple[str, Any]]:
        phone = prepare(i)[1]
        # Bare indexed SQL: the candidate's case checked by key against the officer's unit.
        candidates = _candidates(Person.phone, phone, readable().exists())
        matched = select(Person.case_id).where(Person.id.in_(select(candidates.subquery().c.id)))
        return [raw(candidates), raw(select(Case).where(Case.id.in_(matched)))]

    def keyed(i: int) -> tuple[str, tuple[str, Any], tuple[str, Any]]:
        phone = phones[i % len(phones)]
        since = datetime.now(UTC) - timedelta(minutes=1)
        searches = select(func.count()).where(
            AuditEvent.actor_id == world.officers[unit_id],
            AuditEvent.tag == "case:file:search",
            AuditEvent.outcome == "ok",
            AuditEvent.at > since,
        )
        return (
            Person.phone.index.normaliser(phone),
            raw(searches),
            raw(_keyed_candidates(Person.phone, phone, readable().exists())),
        )

    def floor(arg: tuple[str, tuple[str, Any], tuple[str, Any]]) -> None:
        wanted, searches, candidates = arg
        # The rate limit's count, the candidates decrypted, the cases found, the audit event.
        _count, rows = bare(searches, candidates)
        matched = _true_matches(Person.phone, wanted, rows, kek_bytes)
        cases_sql = select(Case.__table__).where(Case.id.in_([uuid.UUID(m) for m in matched]))
        bare(raw(cases_sql))
        _audit_append("case:file:search", "case_file", None, audit_insert)

    floor_timing = timed(floor, repeat, keyed)
    floor_timing.queries = 5
    row = Row(
        "search by phone",
        timed(app, repeat, prepare),
        timed_bare(repeat, statements),
        floor_timing,
        "the rate limit's count, the candidates with their keys by bare SQL, each decrypted with "
        "the cipher, the cases found, the search's audit event",
    )
    return row, phones


def _bare_intake(world: World, k: int, now: datetime, blob: bytes) -> list[tuple[str, Any]]:
    """The rows one intake writes, as SQL: counter, case, types, victim, two data keys, its
    pending deadline (the commune chair's notice), audit."""
    unit_id = world.commune()
    officer = world.officers[unit_id]
    case_id, person_id = uuid.uuid4(), uuid.uuid4()
    rows = [
        insert(CaseCounter).values(prefix=f"B{k}", year=9999, last=1),
        insert(Case).values(
            id=case_id, code=f"BARE-{uuid.uuid4().hex[:20]}", status="open", received_at=now,
            received_by_id=officer, source="victim", owning_unit_id=unit_id,
            handling_unit_id=unit_id, place_unit_id=unit_id, assigned_to_id=officer,
            summary=blob, immediate_danger=False, child_involved=False, injuries=False,
            sexual_violence=False, created_at=now, updated_at=now, version=1,
        ),
        insert(CaseType).values(case_id=case_id, code="domestic_violence"),
        insert(CaseType).values(case_id=case_id, code="domestic_violence.physical"),
        insert(PendingDeadline).values(
            case_id=case_id, kind="notify_commune_chair", subject="", due_at=now,
            owning_unit_id=unit_id, handling_unit_id=unit_id,
        ),
        insert(Person).values(
            id=person_id, case_id=case_id, role="victim", sex="female", created_at=now,
            created_by_id=officer, version=1, bidx_key_id="mk-bench",
            full_name=blob, full_name_bidx=k % 16384, phone=blob, phone_bidx=k % 16383,
            safe_contact=blob,
        ),
        *(
            insert(DataKey).values(
                id=uuid.uuid4(), owner_kind=kind, owner_id=owner, key_version=1,
                master_key_id="mk-bench", wrapped_key=blob[:40], created_at=now,
            )
            for kind, owner in (("case", case_id), ("person", person_id))
        ),
    ]  # fmt: skip
    return [raw(stmt) for stmt in rows]


def measure_intake(world: World, n: int) -> Row:
    """One intake per transaction and commit: through open_case, and the same rows as bare SQL."""
    rng = world.rng
    now = datetime.now(UTC)
    fresh()
    queries = 0

    def count(*_: object) -> None:
        nonlocal queries
        queries += 1

    start = time.perf_counter()
    for i, unit_id in enumerate([world.commune() for _ in range(n)]):
        officer = db.session.get(User, world.officers[unit_id])
        if i == 0:
            event.listen(db.engine, "before_cursor_execute", count)
        service.open_case(
            officer,
            received_at=now - timedelta(minutes=5),
            source="victim",
            types=["domestic_violence.physical"],
            summary=rng.choice(SUMMARIES),
            victim_name=female_name(rng),
            victim_phone=phone_number(rng),
            safe_contact=rng.choice(SAFE),
        )
        db.session.commit()
        if i == 0:
            event.remove(db.engine, "before_cursor_execute", count)
    app_ms = (time.perf_counter() - start) * 1000 / n
    world.seeded += n
    fresh()

    blob = secrets.token_bytes(80)
    prepared = [_bare_intake(world, k, now, blob) for k in range(n)]
    head_sql = raw(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
    audit_sql = (
        insert(AuditEvent)
        .values({c: bindparam(c) for c in ChainRow._fields})
        .compile(dialect=db.engine.dialect)
    )
    fresh()
    start = time.perf_counter()
    for statements in prepared:
        # As audit.record does: read the chain's head, append a hashed event after it.
        head = bare(head_sql)[0]
        event_row = ChainRow(
            (head[0][0] + 1) if head else 1, now, None, None, None, "officer", "case:file:open",
            "case_file", None, "ok", None, None, "{}", bytes(head[0][1]) if head else GENESIS, b"",
        )  # fmt: skip
        event_row = event_row._replace(hash=event_hash(event_row))
        bare(*statements, raw(None, audit_sql, **event_row._asdict()))
        db.session.commit()
    bare_ms = (time.perf_counter() - start) * 1000 / n
    floor_ms = _intake_floor(world, n, now, head_sql, audit_sql)
    # The bare rows' ciphertexts are random bytes: they must not stay for the next measurements.
    bare_cases = select(Case.id).where(Case.code.like("BARE-%"))
    bare_people = select(Person.id).where(Person.case_id.in_(bare_cases))
    for stmt in (
        delete(PendingDeadline).where(PendingDeadline.case_id.in_(bare_cases)),
        delete(DataKey).where(DataKey.owner_id.in_(bare_people.union(bare_cases))),
        delete(Person).where(Person.case_id.in_(bare_cases)),
        delete(CaseType).where(CaseType.case_id.in_(bare_cases)),
        delete(Case).where(Case.code.like("BARE-%")),
        delete(CaseCounter).where(CaseCounter.year == 9999),
    ):
        db.session.execute(stmt.execution_options(synchronize_session=False))
    db.session.commit()
    return Row(
        "intake, one commit each",
        Timing(app_ms, queries),
        Timing(bare_ms, len(prepared[0]) + 2),
        Timing(floor_ms, len(prepared[0]) + 2),
        "the bare rows, with two data keys made and wrapped, the summary and the victim's name, "
        "phone and safe contact encrypted with the cipher, her name's and phone's blind indexes, "
        "and the audit event, on the clock",
    )


def _compiled_insert(table: Any, columns: list[str]) -> Any:
    return (
        insert(table).values({c: bindparam(c) for c in columns}).compile(dialect=db.engine.dialect)
    )


def _intake_floor(world: World, n: int, now: datetime, head_sql: Any, audit_sql: Any) -> float:
    """The intake's floor (ms per intake): the rows _bare_intake writes, with the work no
    implementation of the rules can skip done on the clock — two fresh data keys wrapped under the
    master key, the summary and the victim's name, phone and safe contact encrypted with the
    cipher itself, the name's and phone's blind indexes, the chain's head read and the event
    hashed after it — one durable commit each. Statements compiled, and the key-encryption key
    and blind-index keys derived, before the clock starts."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    rng = world.rng
    primary = datakeys.current_keyring().primary
    kek_bytes = datakeys.kek(primary)
    indexed = (Person.full_name, Person.phone)
    index_keys = {f: blindindex.column_key(primary, f.table_name, f.column_name) for f in indexed}
    person_cols = ["id", "case_id", "role", "sex", "created_at", "created_by_id", "version",
                   "bidx_key_id", "full_name", "full_name_bidx", "phone", "phone_bidx",
                   "safe_contact"]  # fmt: skip
    case_cols = ["id", "code", "status", "received_at", "received_by_id", "source",
                 "owning_unit_id", "handling_unit_id", "place_unit_id", "assigned_to_id",
                 "summary", "immediate_danger", "child_involved", "injuries", "sexual_violence",
                 "created_at", "updated_at", "version"]  # fmt: skip
    key_cols = ["id", "owner_kind", "owner_id", "key_version", "master_key_id", "wrapped_key",
                "created_at"]  # fmt: skip
    sql = {
        "counter": _compiled_insert(CaseCounter.__table__, ["prefix", "year", "last"]),
        "case": _compiled_insert(Case.__table__, case_cols),
        "type": _compiled_insert(CaseType.__table__, ["case_id", "code"]),
        "pending": _compiled_insert(
            PendingDeadline.__table__,
            ["case_id", "kind", "subject", "due_at", "owning_unit_id", "handling_unit_id"],
        ),
        "person": _compiled_insert(Person.__table__, person_cols),
        "key": _compiled_insert(DataKey.__table__, key_cols),
    }
    intakes = [
        (world.commune(), rng.choice(SUMMARIES), female_name(rng), phone_number(rng), rng.choice(SAFE))
        for _ in range(n)
    ]  # fmt: skip
    fresh()
    start = time.perf_counter()
    for k, (unit_id, summary, name, phone, safe) in enumerate(intakes):
        officer = world.officers[unit_id]
        case_id, person_id = uuid.uuid4(), uuid.uuid4()
        keys = {owner: os.urandom(datakeys.DATA_KEY_BYTES) for owner in (case_id, person_id)}
        aeads = {owner: AESGCM(key) for owner, key in keys.items()}

        def seal(
            f: Any, row_id: uuid.UUID, value: str, owner: uuid.UUID, by: dict = aeads
        ) -> bytes:
            return cipher.encrypt(by[owner], 1, f.binding(row_id), f.encode(value))

        def index(f: Any, value: str) -> int:
            return blindindex.compute(index_keys[f], f.index.normaliser(value), f.index.bits)

        statements = [
            raw(None, sql["counter"], prefix=f"F{k}", year=9999, last=1),
            raw(None, sql["case"], id=case_id, code=f"BARE-{uuid.uuid4().hex[:20]}",
                status="open", received_at=now, received_by_id=officer, source="victim",
                owning_unit_id=unit_id, handling_unit_id=unit_id, place_unit_id=unit_id,
                assigned_to_id=officer, summary=seal(Case.summary, case_id, summary, case_id),
                immediate_danger=False, child_involved=False, injuries=False,
                sexual_violence=False, created_at=now, updated_at=now, version=1),
            raw(None, sql["type"], case_id=case_id, code="domestic_violence"),
            raw(None, sql["type"], case_id=case_id, code="domestic_violence.physical"),
            raw(None, sql["pending"], case_id=case_id, kind="notify_commune_chair", subject="",
                due_at=now + timedelta(hours=24), owning_unit_id=unit_id, handling_unit_id=unit_id),
            raw(None, sql["person"], id=person_id, case_id=case_id, role="victim", sex="female",
                created_at=now, created_by_id=officer, version=1, bidx_key_id=primary.id,
                full_name=seal(Person.full_name, person_id, name, person_id),
                full_name_bidx=index(Person.full_name, name),
                phone=seal(Person.phone, person_id, phone, person_id),
                phone_bidx=index(Person.phone, phone),
                safe_contact=seal(Person.safe_contact, person_id, safe, person_id)),
            *(
                raw(None, sql["key"], id=uuid.uuid4(), owner_kind=kind, owner_id=owner,
                    key_version=1, master_key_id=primary.id,
                    wrapped_key=datakeys.wrap(kek_bytes, keys[owner]), created_at=now)
                for kind, owner in (("case", case_id), ("person", person_id))
            ),
        ]  # fmt: skip
        head = bare(head_sql)[0]
        event_row = ChainRow(
            (head[0][0] + 1) if head else 1, now, None, None, None, "officer", "case:file:open",
            "case_file", str(case_id), "ok", None, None, "{}",
            bytes(head[0][1]) if head else GENESIS, b"",
        )  # fmt: skip
        event_row = event_row._replace(hash=event_hash(event_row))
        bare(*statements, raw(None, audit_sql, **event_row._asdict()))
        db.session.commit()
    return (time.perf_counter() - start) * 1000 / n


# --- Pages through the test client ---------------------------------------------------------------

TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def measure_pages(
    app_: Any, world: World, unit_id: int, cases: list[uuid.UUID], phones: list[str], repeat: int
) -> dict[str, str]:
    """Whole requests, signed in as the commune's officer; each in its own context, as a browser's
    request would be (the benchmark's own session is committed first)."""
    db.session.commit()
    client = app_.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"

    def request(method: str, url: str, **kw: Any) -> Any:
        def call() -> Any:
            response = client.open(url, method=method, **kw)
            response.get_data()
            return response

        return contextvars.Context().run(call)

    page = request("GET", "/login")
    found = TOKEN.search(page.get_data(as_text=True))
    form = {"username": f"officer.{unit_id}", "password": PASSWORD}
    signed = request("POST", "/login", data={**form, "csrf_token": found.group(1) if found else ""})
    if signed.status_code != 303:
        return {"sign-in": f"failed ({signed.status_code})"}
    page = request("GET", "/cases/search")
    found = TOKEN.search(page.get_data(as_text=True))
    if page.status_code != 200 or found is None:
        return {"search page": f"answered {page.status_code}"}
    token = found.group(1)
    search.SEARCHES_PER_MINUTE = 10**9
    out: dict[str, str] = {}

    def time_pages(name: str, call: Callable[[int], Any]) -> None:
        times, statuses = [], Counter()
        for i in range(repeat):
            t0 = time.perf_counter()
            response = call(i)
            times.append(time.perf_counter() - t0)
            statuses[response.status_code] += 1
        ms = statistics.median(times) * 1000
        odd = {s: n for s, n in statuses.items() if s != 200}
        out[name] = f"{ms:7.1f} ms" + (f"  (answers {odd})" if odd else "")

    time_pages("GET /cases/ (list)", lambda i: request("GET", "/cases/"))
    time_pages(
        "POST /cases/search (phone)",
        lambda i: request(
            "POST",
            "/cases/search",
            data={"kind": "phone", "term": phones[i % len(phones)], "csrf_token": token},
        ),
    )
    time_pages(
        "GET /cases/<id> (file)", lambda i: request("GET", f"/cases/{cases[i % len(cases)]}")
    )
    return out


# --- Running --------------------------------------------------------------------------------------


@dataclass
class Report:
    size: int
    rows: list[Row]
    seed_rate: float
    busiest: tuple[int, int]
    typical: tuple[int, int]
    pages: dict[str, str]


def measure(
    app_: Any, world: World, size: int, seed_rate: float, repeat: int, intakes: int
) -> Report:
    busiest, typical = busiest_communes()
    depth = max(0, min(20, busiest[1] // PAGE_SIZE - 1))
    cases = sample_cases(busiest[0], repeat, world.rng)
    search_row, phones = measure_search(world, busiest[0], repeat)
    rows = [
        measure_list(world, busiest[0], repeat, "case list, first page (busiest commune)"),
        measure_list(world, typical[0], repeat, "case list, first page (median commune)"),
        measure_list(
            world, busiest[0], repeat, f"case list, page {depth + 1} (busiest, keyset)", depth
        ),
        measure_file(world, busiest[0], cases, repeat),
        measure_repeat(world, busiest[0], cases, repeat),
        search_row,
    ]
    try:
        pages = measure_pages(app_, world, busiest[0], cases, phones, max(repeat // 2, 5))
    except Exception as exc:
        db.session.rollback()
        pages = {"(whole requests)": f"failed: {type(exc).__name__}"}
    rows.append(measure_intake(world, intakes))
    return Report(size, rows, seed_rate, busiest, typical, pages)


HEADER = f"  {'operation':<40}{'app':>10}{'queries':>8}{'bare SQL':>10}{'queries':>8}{'ratio':>7}"


def _line(
    operation: str, app_ms: float, app_q: int | str, bare_ms: float, bare_q: int | str
) -> str:
    ratio = app_ms / bare_ms if bare_ms else math.inf
    return (
        f"  {operation:<40}{app_ms:>8.2f}ms{app_q!s:>8}{bare_ms:>8.2f}ms{bare_q!s:>8}{ratio:>6.1f}×"
    )


def print_report(title: str, report: Report) -> None:
    print(f"\n{title}: {report.size:,} cases")
    print(
        f"  busiest commune {report.busiest[1]:,} cases, median commune {report.typical[1]:,}; "
        f"seeded at {report.seed_rate:,.0f} cases/s"
    )
    print(HEADER)
    for row in report.rows:
        print(
            _line(
                row.operation, row.app.median_ms, row.app.queries, row.bare.median_ms,
                row.bare.queries,
            )
        )  # fmt: skip
    for row in report.rows:
        if row.floor is not None:
            print(
                f"  {row.operation}: floor {row.floor.median_ms:.2f} ms ({row.floor_is}, "
                f"{row.floor.queries} statements); the app takes "
                f"{row.app.median_ms / row.floor.median_ms:.1f}× its floor"
            )
    intake = report.rows[-1]
    print(
        f"  intake throughput: {1000 / intake.app.median_ms:,.0f} cases/s through open_case, "
        f"{1000 / intake.bare.median_ms:,.0f} cases/s as bare INSERTs (one durable commit each)"
    )
    for name, value in report.pages.items():
        print(f"  page {name:<35}{value}")


def print_extrapolation(title: str, reports: list[Report], target: int = MILLION) -> None:
    """t(target) = t(n) × (target/n)^k per operation, k from the last two sizes, within [0, 1]."""
    if len(reports) < 2 or reports[-1].size >= target:
        return
    small, large = reports[-2], reports[-1]
    if large.size < 5 * small.size:
        return
    growth = math.log(target / large.size)
    span = math.log(large.size / small.size)

    def project(a: float, b: float) -> float:
        k = min(max(math.log(b / a) / span, 0.0), 1.0) if a and b else 0.0
        return b * math.exp(k * growth)

    print(
        f"\n{title}: extrapolated to {target:,} cases from {small.size:,} → {large.size:,} "
        "(not measured)"
    )
    print(HEADER)
    for a, b in zip(small.rows, large.rows, strict=True):
        app_ms = project(a.app.median_ms, b.app.median_ms)
        bare_ms = project(a.bare.median_ms, b.bare.median_ms)
        print(_line(b.operation, app_ms, "", bare_ms, ""))
    minutes = (target - large.size) / max(large.seed_rate, 1) / 60
    print(f"  seeding the other {target - large.size:,} cases here: about {minutes:,.0f} min")


def refresh_schema() -> None:
    """A kept database made by an older version: tables whose columns changed since are made
    again when they hold nothing the benchmark needs (empty, or the audit log it wrote itself)."""
    from sqlalchemy import inspect

    inspector = inspect(db.engine)
    stale = [
        table
        for table in db.metadata.sorted_tables
        if inspector.has_table(table.name)
        and {c.name for c in table.columns}
        != {c["name"] for c in inspector.get_columns(table.name)}
    ]
    for table in stale:
        empty = db.session.scalar(select(func.count()).select_from(table)) == 0
        if not (empty or table.name.startswith("audit_")):
            raise SystemExit(f"{table.name} changed since the database was seeded: seed again")
    db.session.commit()
    db.metadata.drop_all(db.engine, tables=list(reversed(stale)))
    db.create_all()


def run(title: str, url: str, sizes: list[int], args: argparse.Namespace, keyring: Path) -> None:
    from casework.cases.workflow import pending

    app_ = make_app(url, keyring)
    reports: list[Report] = []
    with app_.app_context():
        if not args.reuse:
            db.drop_all()
            db.create_all()
        else:
            refresh_schema()
        rng = random.Random(args.seed)
        t0 = time.perf_counter()
        world = build_world(rng)
        world.seeded = db.session.scalar(select(func.count()).select_from(Case)) or 0
        took = time.perf_counter() - t0
        print(f"{title}: {len(world.communes):,} communes with an officer each ({took:.0f} s)")
        pending.ensure_current()  # a database kept from an older version
        for size in sizes:
            rate = seed(world, size) if size > world.seeded else 0.0
            if db.engine.dialect.name == "postgresql":
                # Statistics, as autovacuum keeps them in production (it may be off on a test
                # server): without them the planner hashes whole tables for a few candidates.
                fresh()
                with db.engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
            report = measure(app_, world, size, rate, args.repeat, args.intakes)
            print_report(title, report)
            reports.append(report)
        print_extrapolation(title, reports)
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    add = parser.add_argument
    add("--sizes", default="10000,100000", help="case counts to measure at")
    add("--pg", default=os.environ.get("CASEWORK_BENCH_DATABASE_URL"), help="PostgreSQL URL")
    add("--no-sqlite", action="store_true", help="PostgreSQL only")
    add("--db", type=Path, help="SQLite file to use and keep (default: a temporary file)")
    add("--keyring", type=Path, help="master key file of a kept database (default: beside --db)")
    add("--reuse", action="store_true", help="keep the cases already in the database")
    add("--repeat", type=int, default=40, help="runs per measurement")
    add("--intakes", type=int, default=200, help="intakes for the throughput figure")
    add("--seed", type=int, default=2605, help="random seed of the synthetic data")
    args = parser.parse_args()
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s)
    print(f"casework case benchmark — Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")
    with tempfile.TemporaryDirectory() as tmp:
        temporary = Path(tmp)
        if not args.no_sqlite:
            path = args.db or temporary / "cases.db"
            keyring = args.keyring or path.with_suffix(".keyring.json")
            run("SQLite (WAL, synchronous=FULL)", f"sqlite:///{path}", sizes, args, keyring)
        if args.pg:
            keyring = args.keyring or temporary / "pg.keyring.json"
            if args.reuse and not keyring.exists():
                raise SystemExit("--reuse on PostgreSQL needs the --keyring of the earlier run")
            run("PostgreSQL", args.pg, sizes, args, keyring)


if __name__ == "__main__":
    main()
