"""Kill the production server mid-write, 10 times (SECURITY.md: 0 acknowledged writes lost).

    .venv/bin/python bench/crash.py                     # SQLite, 10 trials, 4 browsers
    .venv/bin/python bench/crash.py --trials 3
    .venv/bin/python bench/crash.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/casework_bench

Each trial starts gunicorn (2 workers × 4 threads, production configuration, its own process
group) on one database, lets four browsers save intakes as fast as it answers, and kills the whole
process group with SIGKILL at a random moment 0.2-2 s after its first acknowledged save. Then,
with nothing running on it, the database must hold every case whose save was acknowledged (303),
no case without its audit event nor the reverse, pass SQLite's PRAGMA integrity_check, and verify
its audit chain. The database is kept from one trial to the next, so each trial also starts on a
database that was killed before.

The suite runs the same code for 3 trials (tests/security/test_crash.py). The PostgreSQL database
given with --pg is emptied and rebuilt.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--pg", help="a PostgreSQL URL (emptied) instead of a SQLite file")
    args = parser.parse_args()

    from casework import create_app
    from casework.crypto.keyring import parse_keyring
    from casework.extensions import db
    from tests.conftest import _keyring_json, _reset_schema, make_unit, make_user, test_config
    from tests.security import crash

    tmp = Path(tempfile.mkdtemp(prefix="casework-crash-"))
    keys = _keyring_json()
    overrides = {"SQLALCHEMY_DATABASE_URI": args.pg} if args.pg else {}
    app = create_app(test_config(tmp, MASTER_KEYRING=parse_keyring(keys), **overrides))
    with app.app_context():
        _reset_schema()
        top = make_unit("TW", "central")
        make_user(
            "officer.c1", "officer", make_unit("C1", "commune", make_unit("D1", "district", top))
        )
        db.session.remove()
    env = crash.server_env(app.config, keys, tmp / "instance")
    rng = random.Random(args.seed)  # when to kill, not a secret  # nosec B311
    writes = crash.Writes()
    failures = 0
    print(f"{'PostgreSQL' if args.pg else 'SQLite'}: {args.trials} trials, {args.writers} browsers")
    for trial in range(1, args.trials + 1):
        server = crash.Server(env)
        server.wait_ready()
        before, sent = len(writes.acknowledged), writes.sent
        after = crash.kill_after(rng)
        crash.write_until_killed(server, "officer.c1", args.writers, after, writes)
        with app.app_context():
            result = crash.check(writes.acknowledged)
            db.session.remove()
            db.engine.dispose()
        ok = (
            not result.lost
            and result.cases_without_event == 0
            and result.events_without_case == 0
            and result.integrity in ("ok", "n/a")
            and result.audit_ok
            and len(writes.acknowledged) > before
        )
        failures += not ok
        print(
            f"  trial {trial:2}: killed at {after:.2f} s; {writes.sent - sent} saves sent, "
            f"{len(writes.acknowledged) - before} acknowledged; lost {len(result.lost)}; "
            f"half-saved {result.cases_without_event + result.events_without_case}; "
            f"integrity {result.integrity}; audit chain {'ok' if result.audit_ok else 'BROKEN'}"
            f"{'' if ok else '  FAIL'}",
            flush=True,
        )
    print(
        f"{len(writes.acknowledged):,} acknowledged saves in all, 0 lost"
        if failures == 0
        else f"FAIL: {failures} trial(s)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
