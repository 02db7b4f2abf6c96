"""Crashes and a full disk (SECURITY.md, Reliability).

The production server (gunicorn) is killed with SIGKILL while four browsers save intakes: every
save it acknowledged is in the database afterwards, no case lacks its audit event (nor the
reverse), SQLite's integrity check says ok, and the audit chain verifies. The suite runs 3 such
trials; bench/crash.py runs 10. A full disk (SQLite's page limit) refuses a save whole, tells the
user in Vietnamese that nothing was saved, and the next save after space is freed lands.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text

from casework import create_app
from casework.audit import Tag
from casework.audit.models import AuditEvent
from casework.audit.verify import verify_database
from casework.cases.models import Case
from casework.crypto.keyring import parse_keyring
from casework.extensions import db
from tests.conftest import _keyring_json, _reset_schema, make_unit, make_user, test_config
from tests.security import crash

TRIALS = 3
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")  # the forms take local time
WRITERS = 4


@pytest.fixture
def crash_app(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """An app whose keyring is also handed, as JSON, to the server process."""
    keys = _keyring_json()
    app = create_app(test_config(tmp_path, MASTER_KEYRING=parse_keyring(keys)))
    with app.app_context():
        _reset_schema()
        c1 = make_unit("C1", "commune", make_unit("D1", "district", make_unit("TW", "central")))
        make_user("officer.c1", "officer", c1)
        db.session.remove()
    yield app, keys
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_killing_the_server_mid_write_loses_no_acknowledged_write(crash_app, tmp_path):
    app, keys = crash_app
    env = crash.server_env(app.config, keys, tmp_path / "instance")
    rng = random.Random(12)  # when to kill, not a secret  # nosec B311
    writes = crash.Writes()
    for trial in range(TRIALS):
        server = crash.Server(env)
        server.wait_ready()
        before = len(writes.acknowledged)
        crash.write_until_killed(server, "officer.c1", WRITERS, crash.kill_after(rng), writes)
        assert len(writes.acknowledged) > before, f"trial {trial}: nothing was acknowledged"
        with app.app_context():
            result = crash.check(writes.acknowledged)
            db.session.remove()
            db.engine.dispose()
        assert result.lost == [], f"trial {trial}"
        assert result.cases_without_event == 0
        assert result.events_without_case == 0
        assert result.integrity in ("ok", "n/a")
        assert result.audit_ok
    # The kills cut writes short: some saves were sent that were never acknowledged.
    assert writes.sent > len(writes.acknowledged)


def _intake(n: int) -> dict[str, object]:
    return {
        "received_at": (datetime.now(VIETNAM) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "source": "victim",
        "types": "domestic_violence",
        # A long summary fills pages quickly (encrypted, so it does not compress).
        "summary": f"Write {n}. " + "She was beaten and threatened again. " * 100,
        "victim_name": f"Victim {n}",
    }


def _counts() -> tuple[int, int]:
    cases = db.session.scalar(select(func.count()).select_from(Case))
    opened = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == Tag.CASE_OPEN.value)
    )
    return cases, opened


@pytest.mark.sqlite_only
def test_a_full_disk_refuses_the_save_whole_and_says_so_in_vietnamese(app, new_browser):
    with app.app_context():
        top = make_unit("TW", "central")
        make_user(
            "officer.c1", "officer", make_unit("C1", "commune", make_unit("D1", "district", top))
        )
        pages = db.session.execute(text("PRAGMA page_count")).scalar_one()
        limit = {"pages": pages + 40}

        @event.listens_for(db.engine, "connect")
        def _page_limit(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.execute(f"PRAGMA max_page_count={limit['pages']}")

        db.session.remove()
        db.engine.dispose()  # every connection from now on has the limit
    browser = new_browser(lang=None)  # Vietnamese, the default
    assert browser.login("officer.c1").status_code == 303
    saved = 0
    for n in range(200):
        response = browser.post("/cases/new", _intake(n))
        if response.status_code != 303:
            break
        saved += 1
    assert saved > 0, "the limit left no room for a single save"
    assert response.status_code == 507
    page = response.get_data(as_text=True)
    assert "Máy chủ đã hết dung lượng lưu trữ" in page
    assert "Chưa có gì được lưu" in page
    with app.app_context():
        # The refused save is wholly absent: no case without its event, no event without its case.
        assert _counts() == (saved, saved)
        assert db.session.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        assert verify_database().ok
        limit["pages"] = 1_000_000
        db.session.remove()
        db.engine.dispose()
    # Space freed: the same save now lands.
    assert browser.post("/cases/new", _intake(999)).status_code == 303
    with app.app_context():
        assert _counts() == (saved + 1, saved + 1)
