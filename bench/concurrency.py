"""Concurrent edits at full size (SECURITY.md: 0 lost updates of 1,600, 8 threads × 200).

    .venv/bin/python bench/concurrency.py                          # SQLite, 8 × 200
    .venv/bin/python bench/concurrency.py --edits 50               # a quicker run
    .venv/bin/python bench/concurrency.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/casework_bench

Eight officers, each in her own browser and thread, edit the same case's intake through a real
threaded HTTP server on 127.0.0.1 (Werkzeug's, a thread per request): each edit loads the form,
adds one to the counter kept in the summary ("Counter 41") and saves it with the version the form
carried. A save that meets a newer version is refused with 409 and tried again until it lands.
Then eight reviewers answer one escalation at the same moment. The run fails (exit 1) unless the
final counter equals the saves the server acknowledged (threads × edits), each save left one
audit event, the audit chain verifies, and exactly one escalation answer won.

The suite runs the same code at 8 × 10 (tests/security/test_concurrency.py). The PostgreSQL
database given with --pg is emptied and rebuilt.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--edits", type=int, default=200, help="saves per thread")
    parser.add_argument("--pg", help="a PostgreSQL URL (emptied) instead of a SQLite file")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from casework import create_app
    from casework.audit import Tag
    from casework.audit.models import AuditEvent
    from casework.audit.verify import verify_database
    from casework.cases.models import Case
    from casework.extensions import db
    from tests.conftest import _reset_schema, test_config
    from tests.security import races
    from tests.security.live import serve

    tmp = tempfile.mkdtemp(prefix="casework-concurrency-")
    overrides = {"SQLALCHEMY_DATABASE_URI": args.pg} if args.pg else {}
    app = create_app(test_config(tmp, **overrides))
    with app.app_context():
        _reset_schema()
        org = races.make_org(officers=args.threads, reviewers=args.threads)
        db.session.remove()
    database = "PostgreSQL" if args.pg else "SQLite"
    print(f"{database}: {args.threads} threads × {args.edits} edits through HTTP", flush=True)
    with serve(app) as (host, port):
        run = races.counter_race(host, port, org, args.edits)
        with app.app_context():
            # The reviewers' authenticator codes as they sign in (a code lasts 30 seconds).
            codes = races.codes_for(org.reviewers)
            db.session.remove()
        answers = races.answer_race(host, port, org, codes)
    total = args.threads * args.edits
    with app.app_context():
        final = db.session.get(Case, org.case_id).summary
        events = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.tag == Tag.CASE_UPDATE.value,
                AuditEvent.object_id == str(org.case_id),
            )
        )
        chain_ok = verify_database().ok
    winners = [name for name, message in answers.items() if message != races.ALREADY]
    print(f"  saves acknowledged   {run.saved:,} of {total:,}")
    print(f"  stale, retried       {run.stale:,} (409 each)")
    print(f"  final counter        {final!r}")
    print(f"  update events        {events:,}")
    print(f"  unexpected answers   {len(run.unexpected)} {run.unexpected[:5]}")
    print(f"  time                 {run.seconds:.1f} s ({run.saved / run.seconds:.1f} saves/s)")
    print(f"  audit chain          {'verifies' if chain_ok else 'BROKEN'}")
    print(
        f"  escalation answers   {len(winners)} won of {len(answers)}: {sorted(answers.values())}"
    )
    ok = (
        run.saved == total
        and final == f"Counter {total}"
        and events == total
        and not run.unexpected
        and chain_ok
        and len(winners) == 1
    )
    print("PASS: 0 lost updates" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
