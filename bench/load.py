"""Load benchmark: the production server (gunicorn, deploy/gunicorn.conf.py) on 127.0.0.1, a seeded
database, and a crowd of signed-in staff working at once.

    .venv/bin/python bench/load.py                                  # SQLite, 5,000 cases, 200 users
    .venv/bin/python bench/load.py --cases 1000000 --db /var/tmp/cases.db   # the national size
    .venv/bin/python bench/load.py --cases 1000000 --db /var/tmp/cases.db --reuse   # again, no seeding
    .venv/bin/python bench/load.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/casework_load
    .venv/bin/python bench/load.py --pg URL --no-sqlite --duration 120 --users 400

Seeding is bench/cases.py's: the official tree (34 provinces, 3,321 communes) with an officer in each,
then synthetic cases with every field really encrypted (about 1,000 a second on a quiet core: a
million takes 15-40 minutes; keep it with --db and --reuse). A database given with --pg is emptied.

The crowd: --users virtual users (default 200), 90% officers of the busiest communes (each her own
account, cases drawn with the same skew as the seeding) and 10% reviewers of their provinces (with a
second factor, as in production). Each signs in (not measured), then loops: pick an action, send it,
think for an exponentially distributed time (mean --think seconds, default 5: staff read a page
before the next click), for --duration seconds after a --ramp of sign-ins. The actions, by weight:

  officer   case list 30 · case file 30 · search by phone 10 · new action note 10 · (inbox 5)
  reviewer  deadline board 35 · supervision list 25 · monthly report 25 · case summary 15

Requests are measured from the first byte sent to the last byte read, per kind: count, throughput,
p50/p95/p99/max latency and errors (any status other than the kind's expected one, or a failed
connection). The target (SECURITY.md's reliability figures, issue 12): p95 under 100 ms for every kind
and 0 errors. The exit status is 0 when it is met, 1 otherwise.

Why a small client of threads on http.client rather than locust or wrk: it speaks the app's real
session (CSRF token, a TOTP code for reviewers) with the standard library only, runs in one process
beside the server (the machines this runs on have few cores: locust's gevent workers and a separate
master would take CPU from the server being measured), and its figures come from the same clock
for every kind. It is not a load generator for more than a few hundred users: the server, not the
client, is what is measured here (the client's own CPU use is printed).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess  # nosec B404  # starts gunicorn with fixed arguments
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench import cases as seeding  # noqa: E402
from casework.extensions import db  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TARGET_P95_MS = 100.0
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
REVIEWER_PASSWORD = seeding.PASSWORD
# Cheap hashing, as the seeding used: a sign-in with other parameters would rehash (a write).
ARGON2 = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024", "ARGON2_PARALLELISM": "1"}


# --- The seeded world -------------------------------------------------------------------------


@dataclass
class Actor:
    username: str
    role: str
    unit_code: str
    cases: list[str]  # ids of cases she may open
    open_cases: list[str] = field(default_factory=list)  # not closed: a note may be added
    phones: list[str] = field(default_factory=list)
    totp_seed: bytes | None = None


def prepare(url: str, keyring: Path, args: argparse.Namespace) -> list[Actor]:
    """Seed (or reuse) the database and choose the crowd; returns its accounts."""
    from casework.accounts import service as accounts
    from casework.accounts import users as user_admin
    from casework.accounts.models import Unit, User
    from casework.cases.models import Case
    from casework.cases.workflow import pending
    from casework.db import refresh_statistics
    from casework.reports import summary

    app = seeding.make_app(url, keyring)
    rng = random.Random(args.seed)
    with app.app_context():
        if not args.reuse:
            db.drop_all()
        db.create_all()  # on a kept database, the tables added since it was seeded
        t0 = time.perf_counter()
        world = seeding.build_world(rng)
        world.seeded = db.session.scalar(select(func.count()).select_from(Case)) or 0
        if args.cases > world.seeded:
            seeding.seed(world, args.cases)
        pending.ensure_current()  # a database kept from an older version
        summary.refresh()
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does for a production database after a bulk load: the planner's
            # statistics, and the visibility map that lets covering indexes answer alone.
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM (ANALYZE)"
                )
        refresh_statistics(db.session)  # SQLite: as `casework deadlines check` does from cron
        db.session.commit()
        print(f"  database ready: {world.seeded:,} cases ({time.perf_counter() - t0:.0f} s)")

        busiest = sorted(world.communes, key=lambda u: -_weight(world, u))
        n_reviewers = max(1, args.users // 10)
        officers = busiest[: args.users - n_reviewers]
        units = {u.id: u for u in db.session.scalars(select(Unit))}
        crowd = []
        for unit_id in officers:
            rows = db.session.execute(
                select(Case.id, Case.status)
                .where(Case.owning_unit_id == unit_id)
                .order_by(Case.received_at.desc())
                .limit(40)
            ).all()
            ids = [str(r.id) for r in rows]
            open_ids = [str(r.id) for r in rows if r.status not in ("closed", "closure_requested")]
            phones = [v.phone for v in world.returning if v.commune == unit_id and v.phone]
            crowd.append(
                Actor(f"officer.{unit_id}", "officer", units[unit_id].code, ids, open_ids, phones)
            )
        provinces = sorted({units[u].parent_id for u in officers})
        for i in range(n_reviewers):
            province = units[provinces[i % len(provinces)]]
            username = f"reviewer.load.{i}"
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None:
                user, _ = user_admin.create_user(
                    None,
                    username=username,
                    display_name=f"Reviewer {i}",
                    role="reviewer",
                    unit=province,
                    password=REVIEWER_PASSWORD,
                )
                seed_ = accounts.begin_totp_enrolment(user)
                from casework.accounts import totp

                accounts.confirm_totp_enrolment(
                    user, totp.code_at_step(seed_, totp.current_step() - 1)
                )
                db.session.commit()
            # A reused database keeps each reviewer where an earlier run put her.
            province = units[user.unit_id]
            ids = [
                str(i)
                for i in db.session.scalars(
                    select(Case.id)
                    .join(Unit, Unit.id == Case.owning_unit_id)
                    .where(Unit.parent_id == province.id)
                    .limit(40)
                )
            ]
            crowd.append(
                Actor(username, "reviewer", province.code, ids, totp_seed=accounts._seed(user))
            )
        db.session.remove()
        db.engine.dispose()
    return crowd


def _weight(world: seeding.World, unit_id: int) -> float:
    i = world.communes.index(unit_id)
    return world.weights[i] - (world.weights[i - 1] if i else 0.0)


# --- The server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, keyring: Path, workdir: Path, args: argparse.Namespace) -> tuple:
    port = free_port()
    env = {
        **os.environ,
        "CASEWORK_ENV": "production",
        "CASEWORK_DATABASE_URL": url,
        "CASEWORK_SECRET_KEY": secrets.token_urlsafe(48),
        "CASEWORK_MASTER_KEYRING_FILE": str(keyring),
        "CASEWORK_INSTANCE_PATH": str(workdir / "instance"),
        "CASEWORK_BIND": f"127.0.0.1:{port}",
        **({"CASEWORK_WORKERS": str(args.workers)} if args.workers else {}),
        **({"CASEWORK_THREADS": str(args.threads)} if args.threads else {}),
        "CASEWORK_PROXIES": "0",  # no proxy in front: the client connects directly
        **{f"CASEWORK_{k}": v for k, v in ARGON2.items()},
    }
    log = (workdir / "gunicorn.log").open("w")
    server = subprocess.Popen(  # noqa: S603  # nosec B603  # fixed arguments
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(
                f"gunicorn exited ({server.returncode}): see {workdir / 'gunicorn.log'}"
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                conn.close()
                return server, port
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise SystemExit("gunicorn did not answer within 120 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- The crowd --------------------------------------------------------------------------------


class Session:
    """One signed-in user over one keep-alive connection, carrying cookies and the CSRF token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode({**form, "csrf_token": self.token}, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                page = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed: one new connection, then give up.
                # A timeout is never retried: the server may still be working on the request.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if match := TOKEN.search(page):
            self.token = match.group(1)
        return response.status, response.headers.get("Location", ""), page

    def sign_in(self, actor: Actor) -> None:
        from casework.accounts import totp

        self.request("GET", "/login")
        status, location, _ = self.request(
            "POST", "/login", {"username": actor.username, "password": seeding.PASSWORD}
        )
        if actor.totp_seed is not None and "/login/code" in location:
            code = totp.code_at_step(actor.totp_seed, totp.current_step())
            status, location, _ = self.request("POST", "/login/code", {"code": code})
        if status != 303:
            raise RuntimeError(f"{actor.username} could not sign in ({status})")
        self.request("GET", "/")  # the home page carries the CSRF token every form uses


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if error:
                self.errors[kind].append(error)


def _report_query(actor: Actor) -> str:
    today = datetime.now(VN).date()
    month = (today.replace(day=1) - timedelta(days=1)) if today.day < 5 else today
    args = {"unit": actor.unit_code, "kind": "month", "year": month.year, "month": month.month}
    return "/reports?" + urlencode({**args, "grouping": "recorded"})


def actions(actor: Actor, rng: random.Random) -> list[tuple[str, int, str, str, dict | None]]:
    """The next action: (kind, weight, method, path, form) choices for this actor."""
    case = rng.choice(actor.cases) if actor.cases else None
    if actor.role == "reviewer":
        return [
            ("board", 35, "GET", "/deadlines", None),
            ("supervision", 25, "GET", "/cases/supervision", None),
            ("report", 25, "GET", _report_query(actor), None),
            # The files of her province's communes: she reads their de-identified summaries.
            *([("case summary", 15, "GET", f"/cases/{case}/summary", None)] if case else []),
        ]
    open_case = rng.choice(actor.open_cases) if actor.open_cases else None
    phone = rng.choice(actor.phones) if actor.phones else seeding.phone_number(rng)
    now = datetime.now(VN).strftime("%Y-%m-%dT%H:%M")
    note = {"kind": "visit", "occurred_at": now, "description": "Gọi điện hỏi thăm, chị ổn."}
    return [
        ("case list", 30, "GET", "/cases/", None),
        *([("case file", 30, "GET", f"/cases/{case}", None)] if case else []),
        ("search", 10, "POST", "/cases/search", {"kind": "phone", "term": phone}),
        *([("note", 10, "POST", f"/cases/{open_case}/actions/new", note)] if open_case else []),
        ("inbox", 5, "GET", "/inbox", None),
    ]


EXPECTED = {"search": 200, "note": 303}


def user_loop(
    actor: Actor,
    port: int,
    start_at: float,
    stop_at: float,
    args: argparse.Namespace,
    results: Results,
) -> None:
    rng = random.Random(actor.username)
    time.sleep(max(0.0, start_at - time.monotonic()))
    session = Session(port)
    try:
        session.sign_in(actor)
    except Exception as exc:  # a user who cannot sign in is an error of its own kind
        results.add("sign-in", 0.0, f"{type(exc).__name__}: {exc}")
        return
    measure_from = start_at + args.ramp
    while time.monotonic() < stop_at:
        choices = actions(actor, rng)
        kind, _, method, path, form = rng.choices(choices, weights=[c[1] for c in choices])[0]
        t0 = time.perf_counter()
        error = None
        try:
            status, _, _ = session.request(method, path, form)
            if status != EXPECTED.get(kind, 200):
                error = f"HTTP {status}"
        except Exception as exc:
            error = type(exc).__name__
        elapsed = time.perf_counter() - t0
        if time.monotonic() >= measure_from:
            results.add(kind, elapsed, error)
        time.sleep(min(rng.expovariate(1 / args.think), args.think * 6))


def run_crowd(crowd: list[Actor], port: int, args: argparse.Namespace) -> tuple[Results, float]:
    results = Results()
    now = time.monotonic()
    stop_at = now + args.ramp + args.duration
    threads = [
        threading.Thread(
            target=user_loop,
            args=(actor, port, now + args.ramp * i / len(crowd), stop_at, args, results),
            daemon=True,
        )
        for i, actor in enumerate(crowd)
    ]
    cpu0 = time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.ramp + args.duration + 120)
    return results, time.process_time() - cpu0


# --- Report -----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def report(title: str, results: Results, args: argparse.Namespace, client_cpu: float) -> bool:
    print(f"\n{title}: {args.users} users, think {args.think:g} s, {args.duration:g} s measured")
    print(f"  {'request':<13}{'count':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'max ms':>9}{'errors':>8}")  # fmt: skip
    met = True
    every: list[float] = []
    errors = 0
    for kind in sorted(set(results.times) | set(results.errors)):
        times = [t * 1000 for t in results.times.get(kind, [])] or [0.0]
        bad = len(results.errors.get(kind, []))
        every += times
        errors += bad
        p95 = percentile(times, 95)
        met &= p95 < TARGET_P95_MS and bad == 0
        print(
            f"  {kind:<13}{len(times):>8}{len(times) / args.duration:>8.1f}"
            f"{statistics.median(times):>9.1f}{p95:>9.1f}{percentile(times, 99):>9.1f}"
            f"{max(times):>9.1f}{bad:>8}"
        )
    print(
        f"  {'all':<13}{len(every):>8}{len(every) / args.duration:>8.1f}"
        f"{statistics.median(every):>9.1f}{percentile(every, 95):>9.1f}"
        f"{percentile(every, 99):>9.1f}{max(every):>9.1f}{errors:>8}"
    )
    for kind, messages in sorted(results.errors.items()):
        common = ", ".join(f"{m} ×{messages.count(m)}" for m in sorted(set(messages))[:4])
        print(f"  errors of {kind}: {common}")
    print(f"  client CPU: {client_cpu:.0f} s over {args.ramp + args.duration:.0f} s")
    verdict = "MET" if met else "NOT MET"
    print(f"  target p95 < {TARGET_P95_MS:.0f} ms for every request kind and 0 errors: {verdict}")
    return met


def bench(title: str, url: str, keyring: Path, workdir: Path, args: argparse.Namespace) -> bool:
    print(f"{title}: seeding to {args.cases:,} cases")
    crowd = prepare(url, keyring, args)
    server, port = start_server(url, keyring, workdir, args)
    try:
        shape = f"{args.workers or 'default'} workers × {args.threads or 'default'} threads"
        print(f"  gunicorn on 127.0.0.1:{port} (deploy/gunicorn.conf.py): {shape}")
        results, cpu = run_crowd(crowd, port, args)
    finally:
        stop_server(server)
    met = report(title, results, args, cpu)
    if results.errors:
        lines = (workdir / "gunicorn.log").read_text(errors="replace").splitlines()
        print("  the server's log ends with:\n    " + "\n    ".join(lines[-15:]))
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    add = parser.add_argument
    add("--cases", type=int, default=5_000, help="cases in the database (1000000: national)")
    add("--users", type=int, default=200, help="concurrent users")
    add("--think", type=float, default=5.0, help="mean think time between requests (s)")
    add("--duration", type=float, default=60.0, help="measured seconds")
    add("--ramp", type=float, default=20.0, help="seconds over which users sign in (unmeasured)")
    add("--workers", type=int, help="gunicorn workers (default: deploy/gunicorn.conf.py's)")
    add("--threads", type=int, help="threads per gunicorn worker (default: as --workers)")
    add("--pg", default=os.environ.get("CASEWORK_BENCH_DATABASE_URL"), help="PostgreSQL URL")
    add("--no-sqlite", action="store_true", help="PostgreSQL only")
    add("--db", type=Path, help="SQLite file to use and keep (default: a temporary file)")
    add("--keyring", type=Path, help="master key file of a kept PostgreSQL database")
    add("--reuse", action="store_true", help="keep the cases already in the database")
    add("--seed", type=int, default=2605, help="random seed of the synthetic data")
    args = parser.parse_args()
    print(f"casework load benchmark — Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.no_sqlite:
            path = args.db or workdir / "load.db"
            keyring = path.with_suffix(".keyring.json")
            met &= bench("SQLite", f"sqlite:///{path}", keyring, workdir, args)
        if args.pg:
            keyring = args.keyring or workdir / "pg.keyring.json"
            if args.reuse and not keyring.exists():
                raise SystemExit("--reuse on PostgreSQL needs the --keyring of the earlier run")
            met &= bench("PostgreSQL", args.pg, keyring, workdir, args)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
