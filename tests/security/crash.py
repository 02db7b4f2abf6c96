"""Kill the production server (gunicorn, as deploy/ runs it) while browsers are saving, and check
that nothing it acknowledged is lost. Shared by tests/security/test_crash.py and bench/crash.py.

A write is an intake: POST /cases/new; the server acknowledges it with 303 to the new case's
address. Whatever was in flight when the process died may be there or not, but never in part: a
case without its audit event, or an audit event without its case, fails the check.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess  # nosec B404 (the test starts the app's own server)
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from casework.audit import Tag
from casework.audit.models import AuditEvent
from casework.cases.models import Case
from casework.extensions import db
from tests.conftest import PASSWORD
from tests.security.live import Client, token

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(config: dict[str, Any], keyring_json: str, instance: Path) -> dict[str, str]:
    """The environment a production server reads (CASEWORK_*), for the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    env.update(
        CASEWORK_ENV="production",
        CASEWORK_DATABASE_URL=str(config["SQLALCHEMY_DATABASE_URI"]),
        CASEWORK_SECRET_KEY=str(config["SECRET_KEY"]),
        CASEWORK_MASTER_KEYS=keyring_json,
        CASEWORK_INSTANCE_PATH=str(instance),
        # Cheap hashing, as in the rest of the suite (sign-in is not what is measured).
        CASEWORK_ARGON2_TIME_COST="1",
        CASEWORK_ARGON2_MEMORY_KIB="1024",
        CASEWORK_ARGON2_PARALLELISM="1",
        CASEWORK_ATTACHMENT_DIR=json.dumps(str(instance / "attachments")),
    )
    return env


class Server:
    """gunicorn in its own process group: killed as a whole with SIGKILL, as a power cut would."""

    def __init__(self, env: dict[str, str], workers: int = 2, threads: int = 4) -> None:
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
            "casework:create_app()",
        ]
        self.process = subprocess.Popen(  # noqa: S603  # nosec B603 (fixed arguments)
            command, cwd=ROOT, env=env, start_new_session=True, stderr=subprocess.PIPE
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
            try:
                probe = Client("127.0.0.1", self.port, timeout=5)
                try:
                    if probe.get("/healthz").status == 200:
                        return
                finally:
                    probe.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError("the server did not start")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        if self.process.stderr is not None:
            self.process.stderr.close()


@dataclass
class Writes:
    acknowledged: list[str] = field(default_factory=list)  # ids of the cases answered with 303
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _intake(n: int, csrf: str) -> dict[str, Any]:
    # The form takes Vietnam's local time (the app's BABEL_DEFAULT_TIMEZONE).
    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(minutes=1)
    return {
        "csrf_token": csrf,
        "received_at": now.strftime("%Y-%m-%dT%H:%M"),
        "source": "victim",
        "types": "domestic_violence",
        "summary": f"Crash write {n}: beaten last night, now at her sister's.",
        "victim_name": f"Victim {n}",
    }


def write_until_killed(
    server: Server, username: str, writers: int, kill_after: float, writes: Writes
) -> None:
    """`writers` browsers save intakes in a loop; the server is killed `kill_after` seconds after
    it acknowledged its first save (so that saves are flowing, whatever the machine's speed)."""
    stop = threading.Event()
    flowing = threading.Event()

    def work(i: int) -> None:
        client = Client("127.0.0.1", server.port, timeout=10)
        try:
            assert client.login(username, PASSWORD).status == 303
            csrf = token(client.get("/cases/new").body)
        except (OSError, AssertionError):
            client.close()
            return
        n = 0
        while not stop.is_set():
            n += 1
            with writes.lock:
                writes.sent += 1
            try:
                reply = client.request("POST", "/cases/new", _intake(i * 100_000 + n, csrf))
            except (OSError, http.client.HTTPException):
                break  # the server is gone: this write was never acknowledged
            if reply.status == 303 and reply.location.startswith("/cases/"):
                with writes.lock:
                    writes.acknowledged.append(reply.location.rsplit("/", 1)[-1])
                flowing.set()
        client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    flowing.wait(timeout=120)
    time.sleep(kill_after)
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=30)


@dataclass
class Check:
    lost: list[str]  # acknowledged, not in the database
    cases_without_event: int
    events_without_case: int
    integrity: str  # SQLite's PRAGMA integrity_check ("ok"), or "n/a" elsewhere
    audit_ok: bool


def check(acknowledged: list[str]) -> Check:
    """In an app context on the crashed database (nothing else running on it)."""
    import uuid

    from sqlalchemy import text

    from casework.audit.verify import verify_database
    from casework.db import uuid_text

    present = {str(i) for i in db.session.scalars(select(Case.id))}
    lost = [i for i in acknowledged if str(uuid.UUID(i)) not in present]
    opened = select(AuditEvent.object_id).where(AuditEvent.tag == Tag.CASE_OPEN.value)
    cases_without = db.session.scalar(
        select(func.count()).select_from(Case).where(uuid_text(Case.id).not_in(opened))
    )
    events_without = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.tag == Tag.CASE_OPEN.value,
            AuditEvent.object_id.not_in(select(uuid_text(Case.id))),
        )
    )
    integrity = "n/a"
    if db.engine.dialect.name == "sqlite":
        integrity = db.session.execute(text("PRAGMA integrity_check")).scalar_one()
    report = verify_database()
    return Check(lost, cases_without, events_without, integrity, report.ok)


def kill_after(rng: random.Random) -> float:
    """Somewhere in the middle of the writing, after the first acknowledged save."""
    return rng.uniform(0.2, 2.0)
