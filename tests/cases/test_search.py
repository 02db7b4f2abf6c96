"""Finding cases by phone, ID number or name, and the possible-repeat-victim warning."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.cases import search
from casework.cases.models import Person
from casework.db import utcnow
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import NotPermitted
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, PASSWORD, audit_text, sql_sent

PHONE = "0912 345 678"


def _victim(case) -> Person:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(Person).where(Person.case_id == case.id))


def _set(case, **values) -> None:  # type: ignore[no-untyped-def]
    victim = _victim(case)
    for name, value in values.items():
        setattr(victim, name, value)
    db.session.commit()


def _codes(hits) -> set[str]:  # type: ignore[no-untyped-def]
    return {hit.case.code for hit in hits}


def _search_events() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.tag == "case:file:search").order_by(AuditEvent.seq)
        )
    )


# --- The service ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term", ["0912345678", "+84 912 345 678", "84912345678", "0084-912.345.678", "912345678"]
)
def test_search_by_phone_finds_the_case_whatever_the_spacing_or_prefix(org, term):
    case = open_case(org["officer_c1"], victim_phone=PHONE)
    hits = search.search_cases(org["officer_c1"], "phone", term)
    assert _codes(hits) == {case.code}
    assert hits[0].roles == ("victim",)


@pytest.mark.parametrize("term", ["001190012345", "001 190 012 345", "001-190-012-345"])
def test_search_by_id_number_ignores_separators(org, term):
    case = open_case(org["officer_c1"])
    _set(case, id_number="001190012345")
    assert _codes(search.search_cases(org["officer_c1"], "id_number", term)) == {case.code}


@pytest.mark.parametrize(
    "term",
    [
        CANARY,
        "canary  nguyen thi hoang yen",
        "CANARY NGUYỄN THỊ HOÀNG YẾN",
        " Canary Nguyen Thi Hoang Yen ",
    ],
)
def test_search_by_name_folds_case_spacing_and_diacritics(org, term):
    case = open_case(org["officer_c1"])
    assert _codes(search.search_cases(org["officer_c1"], "name", term)) == {case.code}


def test_search_matches_whole_values_only(org):
    open_case(org["officer_c1"], victim_phone=PHONE)
    officer = org["officer_c1"]
    assert search.search_cases(officer, "name", "Nguyễn Thị Hoàng Yến") == []
    assert search.search_cases(officer, "phone", "0912 345 67") == []


def test_search_does_not_return_another_communes_case(org):
    mine = open_case(org["officer_c1"], victim_phone=PHONE)
    theirs = open_case(org["officer_c2"], victim_phone=PHONE)
    assert _codes(search.search_cases(org["officer_c1"], "phone", PHONE)) == {mine.code}
    assert _codes(search.search_cases(org["officer_c2"], "name", CANARY)) == {theirs.code}


def test_supervising_reviewer_finds_only_what_she_may_open(org):
    case = open_case(org["officer_c1"], victim_phone=PHONE)
    reviewer = org["reviewer_d1"]
    assert search.search_cases(reviewer, "phone", PHONE) == []
    from casework.cases import service

    service.break_glass(reviewer, case, "Check a serious case", password=PASSWORD)
    db.session.commit()
    assert _codes(search.search_cases(reviewer, "phone", PHONE)) == {case.code}


def test_search_finds_a_perpetrator_by_phone_and_says_so(org):
    case = open_case(org["officer_c1"], victim_phone=None)
    husband = Person(case_id=case.id, role="perpetrator", sex="male", created_by_id=1)
    husband.full_name = "Trần Văn Nam"
    husband.phone = "0987 000 111"
    db.session.add(husband)
    db.session.commit()
    hits = search.search_cases(org["officer_c1"], "phone", "+84987000111")
    assert _codes(hits) == {case.code} and hits[0].roles == ("perpetrator",)


def test_admin_and_auditor_cannot_search(org):
    open_case(org["officer_c1"])
    for who in ("admin", "auditor"):
        with pytest.raises(NotPermitted):
            search.search_cases(org[who], "name", CANARY)


@pytest.mark.parametrize(
    ("kind", "term", "field"),
    [
        ("phone", "call me", "term"),
        ("id_number", "---", "term"),
        ("name", "   ", "term"),
        ("email", "x@example.org", "kind"),
        ("name", "x" * 201, "term"),
    ],
)
def test_unusable_search_is_refused_and_not_counted(org, kind, term, field):
    with pytest.raises(Invalid) as refused:
        search.search_cases(org["officer_c1"], kind, term)
    assert field in refused.value.fields
    assert _search_events() == []


def test_search_is_audited_with_its_kind_and_count_never_the_term(org):
    open_case(org["officer_c1"])
    search.search_cases(org["officer_c1"], "name", CANARY)
    search.search_cases(org["officer_c1"], "phone", "0999 999 999")
    db.session.commit()
    events = _search_events()
    assert [json.loads(e.details) for e in events] == [
        {"kind": "name", "results": 1},
        {"kind": "phone", "results": 0},
    ]
    everything = audit_text()
    for leak in (CANARY, "Canary", "canary", "Hoàng Yến", "hoang yen", "999 999 999", "999999999"):
        assert leak not in everything


def test_the_31st_search_in_a_minute_is_refused(org, monkeypatch):
    officer = org["officer_c1"]
    for _ in range(search.SEARCHES_PER_MINUTE):
        search.search_cases(officer, "phone", PHONE)
    db.session.commit()
    with pytest.raises(search.TooManySearches) as refused:
        search.search_cases(officer, "phone", PHONE)
    assert refused.value.status == 429
    # Others are not held back by her searches, and a minute later she may search again.
    assert search.search_cases(org["officer_c2"], "phone", PHONE) == []
    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr(search, "utcnow", lambda: later)
    assert search.search_cases(officer, "phone", PHONE) == []


def test_the_rate_limit_counts_only_the_users_recent_searches_from_one_index_range(org):

    from casework import audit
    from casework.audit import Tag

    officer = org["officer_c1"]
    # Her many other events (every read is recorded), and searches of another user.
    for _ in range(120):
        audit.record(officer, Tag.CASE_VIEW, None, object_type="case_file")
    for _ in range(3):
        search.search_cases(org["officer_c2"], "phone", PHONE)
    for _ in range(4):
        search.search_cases(officer, "phone", PHONE)
    db.session.commit()
    with sql_sent() as sent:
        assert search.searches_in_last_minute(officer) == 4
    statement, parameters = sent[-1]
    if db.engine.dialect.name == "sqlite":
        cursor = db.session.connection().connection.driver_connection.cursor()
        plan = " ".join(
            str(r[-1]) for r in cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        )
        assert "ix_audit_event_actor_tag_at" in plan and "at>?" in plan.replace(" ", ""), plan


# --- The page -------------------------------------------------------------------------------


def test_search_page_shows_results_from_the_post_without_the_term_in_any_url(
    app, org, browser, caplog
):
    caplog.set_level(logging.DEBUG)
    case = open_case(org["officer_c1"], victim_phone=PHONE)
    other = open_case(org["officer_c2"], victim_phone=PHONE)
    _sign_in(browser, "officer.c1")
    page = browser.get("/cases/search")
    assert page.status_code == 200
    assert 'method="post"' in page.get_data(as_text=True)
    response = browser.post("/cases/search", {"kind": "phone", "term": "+84 912-345-678"})
    assert response.status_code == 200  # rendered from the POST, no redirect
    assert "Location" not in response.headers
    html = response.get_data(as_text=True)
    assert case.code in html and f"/cases/{case.id}" in html
    assert other.code not in html and str(other.id) not in html
    assert response.headers["Cache-Control"] == "no-store"
    # The search by name finds the file too; the name is nowhere but in the form it was typed in.
    by_name = browser.post("/cases/search", {"kind": "name", "term": CANARY})
    assert case.code in by_name.get_data(as_text=True)
    hrefs = [part.split('"')[0] for part in by_name.get_data(as_text=True).split('href="')[1:]]
    phone_forms = ("912345678", "912-345", "912+345", "912%20345", "912 345")
    assert all("Canary" not in h and not any(f in h for f in phone_forms) for h in hrefs)
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert CANARY not in logged and "912-345" not in logged and "912345678" not in logged
    everything = audit_text()
    assert CANARY not in everything
    for phone in ("912-345-678", "912 345 678", "912345678"):
        assert phone not in everything


def test_a_search_in_the_address_bar_does_nothing(app, org, browser):
    open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = browser.get("/cases/search?kind=name&term=Canary")
    assert response.status_code == 200
    assert "case found" not in response.get_data(as_text=True)
    assert _search_events() == []


def test_search_page_refuses_bad_input_with_422(app, org, browser):
    _sign_in(browser, "officer.c1")
    response = browser.post("/cases/search", {"kind": "phone", "term": "not a number"})
    assert response.status_code == 422
    assert "phone number of digits" in response.get_data(as_text=True)
    assert _search_events() == []


def test_the_31st_search_page_in_a_minute_answers_429_and_is_audited_as_refused(app, org, browser):
    officer = org["officer_c1"]
    for _ in range(search.SEARCHES_PER_MINUTE):
        search.search_cases(officer, "name", CANARY)
    db.session.commit()
    _sign_in(browser, "officer.c1")
    response = browser.post("/cases/search", {"kind": "name", "term": CANARY})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    html = response.get_data(as_text=True)
    assert "Wait a minute" in html and "case found" not in html
    refused = [e for e in _search_events() if e.outcome == "refused"]
    assert len(refused) == 1
    assert json.loads(refused[0].details) == {"kind": "name", "reason": "rate_limit"}
    assert CANARY not in audit_text()


def test_admin_and_auditor_get_403_on_the_search_page(app, org, new_browser):
    for username in ("admin.tw", "auditor.tw"):
        b = new_browser()
        _sign_in(b, username)
        assert b.get("/cases/search").status_code == 403


# --- Possible repeat victim -----------------------------------------------------------------


def test_repeat_matches_by_phone_and_id_number(org):
    first = open_case(org["officer_c1"], victim_phone="0912345678", victim_name="Lê Thị Lan")
    second = open_case(org["officer_c1"], victim_phone="+84 912 345 678", victim_name="Lan")
    third = open_case(org["officer_c1"], victim_phone=None, victim_name="Phạm Thị Hoa")
    _set(first, id_number="034 180 000 111")
    _set(third, id_number="034180000111")
    unrelated = open_case(org["officer_c1"], victim_phone="0900 000 000", victim_name="Vũ Thị Mai")
    cases, hidden = search.repeat_matches(org["officer_c1"], first)
    assert {c.code for c in cases} == {second.code, third.code} and hidden == 0
    assert search.repeat_matches(org["officer_c1"], unrelated) == ([], 0)


def test_repeat_matches_by_full_name_need_the_same_birth_year(org):
    first = open_case(org["officer_c1"], victim_phone=None, victim_name="Nguyễn Thị Hoa")
    second = open_case(org["officer_c1"], victim_phone=None, victim_name="nguyen thi hoa")
    _set(first, birth_year=1990)
    _set(second, birth_year=1990)
    assert search.repeat_matches(org["officer_c1"], first).cases == [second]
    _set(second, birth_year=1991)
    assert search.repeat_matches(org["officer_c1"], first) == ([], 0)


def test_repeat_match_in_another_commune_is_counted_not_named(org):
    theirs = open_case(org["officer_c2"], victim_phone=PHONE)
    mine = open_case(org["officer_c1"], victim_phone=PHONE)
    assert search.repeat_matches(org["officer_c1"], mine) == ([], 1)
    assert search.repeat_matches(org["officer_c2"], theirs) == ([], 1)


def test_intake_of_a_known_victim_shows_a_link_to_her_other_case(app, org, browser):
    earlier = open_case(org["officer_c1"], victim_phone=PHONE)
    _sign_in(browser, "officer.c1")
    response = browser.post(
        "/cases/new",
        {
            "received_at": "2026-11-28T20:15",
            "source": "relative",
            "types": ["domestic_violence"],
            "summary": "Beaten again.",
            "victim_name": "Hoàng Yến",
            "victim_phone": "+84912345678",
        },
    )
    assert response.status_code == 303
    html = browser.get(response.location).get_data(as_text=True)
    warning = html.split('id="repeat"')[1].split("</section>")[0]
    assert "Possible repeat victim" in warning
    assert f'href="/cases/{earlier.id}"' in warning and earlier.code in warning
    assert "another unit" not in warning


def test_match_in_a_case_she_may_not_read_shows_only_the_vague_message(app, org, browser):
    theirs = open_case(org["officer_c2"], victim_phone=PHONE, summary="Their narrative")
    mine = open_case(org["officer_c1"], victim_phone=PHONE)
    _sign_in(browser, "officer.c1")
    html = browser.get(f"/cases/{mine.id}").get_data(as_text=True)
    warning = html.split('id="repeat"')[1].split("</section>")[0]
    assert (
        "A possible match exists in another unit; ask a reviewer common to both units." in warning
    )
    assert theirs.code not in html and str(theirs.id) not in html
    assert "Unit C2" not in html and "Their narrative" not in html
    assert "<a " not in warning


def test_no_warning_when_nothing_matches(app, org, browser):
    mine = open_case(org["officer_c1"], victim_phone=PHONE)
    open_case(org["officer_c1"], victim_phone="0900 111 222", victim_name="Đỗ Thị Thu")
    _sign_in(browser, "officer.c1")
    html = browser.get(f"/cases/{mine.id}").get_data(as_text=True)
    assert 'id="repeat"' not in html and "Possible repeat victim" not in html
