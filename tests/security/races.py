"""Concurrent edits through HTTP, for tests/security/test_concurrency.py and bench/concurrency.py.

The edited record is a case's intake: the summary holds a counter ("Counter 41"); each edit loads
the form, adds one and saves it with the version the form carried. Two people who load the same
version cannot both save: the second is refused (409) and loads the form again. Lost updates would
show as a final counter below the number of saves the server acknowledged.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from casework.db import utcnow
from casework.extensions import db
from tests.conftest import PASSWORD, current_code, make_unit, make_user
from tests.security.live import Client, token
from tests.security.live import field as form_field

COUNTER = re.compile(r"^Counter (\d+)$")
STALE = "Someone else saved this record after you opened it"
WON = "Your unit now handles the case."
RETURNED = "Returned with guidance."
ALREADY = "This escalation has already been answered by someone else."


@dataclass
class Org:
    officers: list[str]
    reviewers: list[str]
    case_id: Any
    escalation_id: Any


def make_org(officers: int = 8, reviewers: int = 8) -> Org:
    """A district with a commune; the commune's officers, the district's reviewers; a case whose
    summary is the counter, and a second case waiting for the district to take it."""
    from casework.cases import service as cases
    from casework.cases.workflow import service as wf

    tw = make_unit("TW", "central")
    d1 = make_unit("D1", "district", tw)
    c1 = make_unit("C1", "commune", d1)
    staff = [make_user(f"officer{i}", "officer", c1) for i in range(officers)]
    chiefs = [make_user(f"reviewer{i}", "reviewer", d1) for i in range(reviewers)]
    fields = {
        "received_at": utcnow() - timedelta(hours=1),
        "source": "victim",
        "types": ["domestic_violence.physical"],
        "victim_name": "Victim Phạm Thị Đếm",
        "victim_phone": "0912 345 678",
    }
    counted = cases.open_case(staff[0], summary="Counter 0", **fields).case
    waiting = cases.open_case(staff[0], summary="Threatened by an official", **fields).case
    cases.classify(
        staff[0],
        waiting,
        expected_version=waiting.version,
        types=["domestic_violence"],
        severity="S3",
        risk="high",
        gbv_type=None,
    )
    escalation = wf.request_escalation(staff[0], waiting, "The perpetrator is an official")
    db.session.commit()
    return Org([u.username for u in staff], [u.username for u in chiefs], counted.id, escalation.id)


@dataclass
class EditRun:
    saved: int = 0  # edits the server acknowledged (303 after the save)
    stale: int = 0  # edits refused as stale (409) and tried again
    unexpected: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _edit_once(client: Client, path: str, run: EditRun) -> bool:
    """Load the form, add one to the counter, save. True when saved."""
    page = client.get(path)
    if page.status != 200:
        with run.lock:
            run.unexpected.append(f"GET {page.status}")
        return False
    number = COUNTER.match(form_field(page.body, "summary").strip())
    assert number, "the summary is no longer a counter"
    form = {
        "csrf_token": token(page.body),
        "version": form_field(page.body, "version"),
        "received_at": form_field(page.body, "received_at"),
        "source": "victim",
        "summary": f"Counter {int(number.group(1)) + 1}",
    }
    reply = client.request("POST", path, form)
    with run.lock:
        if reply.status == 303:
            run.saved += 1
            return True
        if reply.status == 409 and STALE in reply.body:
            run.stale += 1
        else:
            run.unexpected.append(f"POST {reply.status}")
    return False


def counter_race(host: str, port: int, org: Org, per_thread: int) -> EditRun:
    """Every officer in her own thread and browser saves `per_thread` increments, retrying
    stale ones, all at once."""
    run = EditRun()
    path = f"/cases/{org.case_id}/intake"
    start = threading.Barrier(len(org.officers))

    def work(username: str) -> None:
        client = Client(host, port)
        assert client.login(username, PASSWORD).status == 303
        start.wait()
        done = 0
        tries = 0
        while done < per_thread and tries < per_thread * 50:
            tries += 1
            done += _edit_once(client, path, run)
        client.close()
        if done < per_thread:
            with run.lock:
                run.unexpected.append(f"{username} gave up after {tries} tries")

    began = time.perf_counter()
    threads = [threading.Thread(target=work, args=(name,)) for name in org.officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - began
    return run


def codes_for(usernames: list[str]) -> dict[str, str]:
    """Each reviewer's current authenticator code (read in an app context, before the race)."""
    from tests.conftest import get_user

    return {name: current_code(get_user(name)) for name in usernames}


def answer_race(host: str, port: int, org: Org, codes: dict[str, str]) -> dict[str, str]:
    """All reviewers answer the one escalation at the same moment, half accepting, half returning
    it; returns each reviewer's message as her next page shows it."""
    results: dict[str, str] = {}
    start = threading.Barrier(len(org.reviewers))
    case_path = f"/escalations/{org.escalation_id}"

    def work(i: int, username: str) -> None:
        client = Client(host, port)
        reply = client.login(username, PASSWORD)
        if reply.location == "/login/code":
            reply = client.post("/login/code", {"code": codes[username]})
        assert reply.status == 303 and reply.location == "/", (username, reply.status)
        csrf = token(client.get("/inbox").body)
        start.wait()
        if i % 2 == 0:
            reply = client.request("POST", case_path + "/accept", {"csrf_token": csrf})
        else:
            form = {"csrf_token": csrf, "guidance": "Handle it at the commune with the police."}
            reply = client.request("POST", case_path + "/return", form)
        if reply.status != 303:
            results[username] = f"status {reply.status}"
            client.close()
            return
        page = client.get(reply.location).body
        client.close()
        found = [m for m in (WON, RETURNED, ALREADY) if m in page]
        results[username] = found[0] if len(found) == 1 else f"unclear: {found}"

    threads = [
        threading.Thread(target=work, args=(i, name)) for i, name in enumerate(org.reviewers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
