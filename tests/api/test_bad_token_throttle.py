"""Bad bearer tokens count as failed sign-ins of the client's address (SECURITY.md: 30 failures in
10 minutes get 429 for 10 minutes): the address is turned away, with Retry-After, whatever token it
then shows; other addresses are not; every refusal is audited without the token."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casework.accounts.models import LoginFailure
from casework.audit.models import AuditEvent
from casework.extensions import db
from tests.api.conftest import is_problem, make_token
from tests.conftest import age_rows, audit_text

ATTACKER = {"REMOTE_ADDR": "203.0.113.7"}
OFFICE = {"REMOTE_ADDR": "198.51.100.20"}
GUESS = "cwp_" + "A" * 43  # shaped like a token, matching none


def _guess(api, n: int, environ=ATTACKER):  # type: ignore[no-untyped-def]
    return [api.get("/me", f"{GUESS[:-3]}{i:03d}", environ_base=environ) for i in range(n)]


def test_thirty_bad_tokens_block_the_address_for_ten_minutes(org, api):  # type: ignore[no-untyped-def]
    good = make_token(org["officer_c1"])
    answers = _guess(api, 30)
    assert all(is_problem(r, 401, "unauthenticated") for r in answers)

    blocked = api.get("/me", good, environ_base=ATTACKER)  # even a valid token, from there
    assert is_problem(blocked, 429, "rate-limited")
    assert 590 <= int(blocked.headers["Retry-After"]) <= 600
    assert "network" in blocked.get_json()["detail"]
    assert api.get("/me", GUESS, environ_base=ATTACKER).status_code == 429

    # Another address, and the token itself, are untouched.
    assert api.get("/me", good, environ_base=OFFICE).status_code == 200
    # A blocked request is not a new failure: the block does not extend itself.
    assert len(db.session.scalars(select(LoginFailure)).all()) == 30

    # After the ten minutes the address may try again.
    age_rows(LoginFailure, "at", timedelta(minutes=21))
    assert api.get("/me", good, environ_base=ATTACKER).status_code == 200


def test_fewer_failures_or_no_token_at_all_do_not_block(org, api):  # type: ignore[no-untyped-def]
    good = make_token(org["officer_c1"])
    _guess(api, 29)
    for _ in range(5):  # no Authorization header is no guess
        assert is_problem(api.get("/me", environ_base=ATTACKER), 401, "unauthenticated")
    assert api.get("/me", good, environ_base=ATTACKER).status_code == 200


def test_failures_spread_over_more_than_the_window_do_not_block(org, api):  # type: ignore[no-untyped-def]
    good = make_token(org["officer_c1"])
    _guess(api, 15)
    age_rows(LoginFailure, "at", timedelta(minutes=11))
    _guess(api, 15)
    assert api.get("/me", good, environ_base=ATTACKER).status_code == 200


def test_the_bad_token_shares_the_sign_in_count_of_the_address(org, api, new_browser):  # type: ignore[no-untyped-def]
    _guess(api, 30, environ=ATTACKER)
    browser = new_browser()
    browser.client.environ_base.update(ATTACKER)
    refused = browser.post("/login", {"username": "officer.c1", "password": "wrong"}, page="/login")
    assert refused.status_code == 429


def test_refusals_are_audited_without_the_token(org, api):  # type: ignore[no-untyped-def]
    answers = _guess(api, 31)
    assert answers[-1].status_code == 429
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.client_address == ATTACKER["REMOTE_ADDR"])
    ).all()
    reasons = [e.details for e in events if e.tag == "api:request:call"]
    assert len(reasons) == 31
    assert sum('"reason":"bad_token"' in d for d in reasons) == 30
    assert sum('"reason":"address_throttled"' in d for d in reasons) == 1
    assert all(e.outcome == "refused" and e.actor_id is None for e in events)
    log = audit_text()
    assert GUESS[:-3] not in log
