"""The people of a case: who they are (encrypted), statistics fields (plain), ages, relationships."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from casework.audit.models import AuditEvent
from casework.cases import people, vocab
from casework.cases.models import Person, Relationship
from casework.errors import Invalid, StaleEdit
from casework.extensions import db
from casework.policy import NotPermitted
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, audit_text

HUSBAND = "Trần Văn Canary-Husband"


def _born(years: int, days: int = 30) -> date:
    """A date of birth `years` old today, a month clear of the birthday."""
    return people.years_before(people.local_today(), years) - timedelta(days=days)


def _victim(case):  # type: ignore[no-untyped-def]
    return db.session.scalar(
        select(Person).where(Person.case_id == case.id, Person.role == "victim")
    )


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def _add(officer, case, **fields):  # type: ignore[no-untyped-def]
    person = people.add_person(officer, case, **fields)
    db.session.commit()
    return person


# --- Adding and statistics ---------------------------------------------------------------------


def test_a_childs_date_of_birth_sets_her_birth_year_age_band_and_child_status(org):
    case = open_case(org["officer_c1"])
    dob = _born(8)
    child = _add(org["officer_c1"], case, role="child", full_name="Bé Na", date_of_birth=dob)
    assert child.date_of_birth == dob
    assert (child.birth_year, child.age_band, child.is_child) == (dob.year, "6-11", True)


@pytest.mark.parametrize(
    ("years", "band", "is_child"),
    [(0, "0-5", True), (15, "12-15", True), (16, "16-17", False), (34, "30-59", False)],
)
def test_child_status_means_under_sixteen(org, years, band, is_child):
    case = open_case(org["officer_c1"])
    person = _add(org["officer_c1"], case, role="child", full_name="X", date_of_birth=_born(years))
    assert (person.age_band, person.is_child) == (band, is_child)


def test_without_a_date_of_birth_the_age_fields_stay_empty(org):
    case = open_case(org["officer_c1"])
    person = _add(org["officer_c1"], case, role="perpetrator", full_name=HUSBAND, sex="male")
    assert (person.birth_year, person.age_band, person.is_child) == (None, None, None)


def test_identity_is_encrypted_and_never_in_raw_columns_or_audit(org):
    case = open_case(org["officer_c1"])
    _add(
        org["officer_c1"],
        case,
        role="representative",
        full_name=CANARY,
        aliases="Canary alias",
        date_of_birth=date(1980, 5, 17),
        phone="0977 111 222",
        address="Canary street 12",
        id_number="034180001234",
        safe_contact="Canary mornings",
        sex="female",
        ethnicity="Kinh",
        disability=True,
    )
    raw = repr(db.session.execute(text("SELECT * FROM person")).all())
    for secret in ("Canary", "Hoàng Yến", "977 111 222", "977111222", "034180001234", "1980-05-17"):
        assert secret not in raw
    audit_rows = audit_text()
    assert "Canary" not in audit_rows and "977 111 222" not in audit_rows
    assert "977111222" not in audit_rows
    event = _events("case:person:add")[-1]
    assert event.object_id == str(case.id) and '"role":"representative"' in event.details


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"role": "boss"}, "role"),
        ({"sex": "robot"}, "sex"),
        ({"full_name": "  "}, "full_name"),
        ({"full_name": "x" * 201}, "full_name"),
        ({"aliases": "x" * 301}, "aliases"),
        ({"address": "x" * 501}, "address"),
        ({"safe_contact": "x" * 301}, "safe_contact"),
        ({"ethnicity": "x" * 33}, "ethnicity"),
        ({"phone": "call the shop"}, "phone"),
        ({"phone": "0912 345 678" + "9" * 40}, "phone"),
        ({"id_number": "12#45"}, "id_number"),
        ({"date_of_birth": date(2999, 1, 1)}, "date_of_birth"),
        ({"date_of_birth": date(1800, 1, 1)}, "date_of_birth"),
    ],
)
def test_bad_details_are_refused_and_nothing_is_saved(org, fields, field_name):
    case = open_case(org["officer_c1"])
    before = _count(Person)
    values = {"role": "child", "full_name": "Bé Na", **fields}
    with pytest.raises(Invalid) as refused:
        people.add_person(org["officer_c1"], case, **values)
    assert field_name in refused.value.fields
    db.session.rollback()
    assert _count(Person) == before
    assert not _events("case:person:add")


def test_a_date_of_birth_tomorrow_is_in_the_future(org):
    case = open_case(org["officer_c1"])
    tomorrow = people.local_today() + timedelta(days=1)
    with pytest.raises(Invalid) as refused:
        people.add_person(
            org["officer_c1"], case, role="child", full_name="X", date_of_birth=tomorrow
        )
    assert "date_of_birth" in refused.value.fields
    born_today = _add(
        org["officer_c1"], case, role="child", full_name="Y", date_of_birth=people.local_today()
    )
    assert born_today.is_child is True


# --- The date-of-birth rule, for any date -----------------------------------------------------

TODAY = date(2026, 11, 29)


@given(st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 12, 31)))
def test_a_date_of_birth_is_accepted_only_between_120_years_ago_and_today(dob):
    earliest = date(1906, 11, 29)
    try:
        people.check_date_of_birth(dob, TODAY)
    except Invalid as refused:
        assert dob > TODAY or dob < earliest
        assert "date_of_birth" in refused.fields
    else:
        assert earliest <= dob <= TODAY


@given(
    st.dates(min_value=date(1906, 11, 29), max_value=TODAY), st.dates(max_value=date(2200, 1, 1))
)
def test_age_fields_follow_the_age_on_the_day(dob, day):
    stats = people.birth_statistics(dob, day)
    age = people.age_on(dob, day)
    assert stats.birth_year == dob.year
    assert stats.age_band == vocab.age_band(age)
    assert stats.is_child == (age < 16)
    if day >= dob:
        # Whole years: the last birthday is on or before the day, the next one after it.
        assert people.years_before(day, age) >= dob or (dob.month, dob.day) == (2, 29)
        assert people.years_before(day, age + 1) < dob
    else:
        assert age == 0


@given(st.dates(min_value=date(1906, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 120))
def test_a_person_is_n_years_old_on_her_nth_birthday(dob, years):
    try:
        birthday = dob.replace(year=dob.year + years)
    except ValueError:  # 29 February in a common year: the birthday is on 1 March
        birthday = date(dob.year + years, 3, 1)
    assert people.age_on(dob, birthday) == years
    assert people.age_on(dob, birthday - timedelta(days=1)) == max(years - 1, 0)


def test_a_small_childs_age_is_shown_in_months(org):
    today = people.local_today()
    with force_locale("en"):
        assert people.age_text(today - timedelta(days=250), today) == "8 months"
        assert people.age_text(_born(9), today) == "9 years"
        assert people.age_text(today - timedelta(days=40), today) == "1 month"
        assert people.age_text(today, today) == "0 months"
    assert people.age_text(None, today) is None


# --- Editing ------------------------------------------------------------------------------------


def test_an_edit_records_the_names_of_the_changed_fields_only(org):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    version = victim.version
    changed = people.update_person(
        org["officer_c1"],
        victim,
        expected_version=version,
        role="victim",
        full_name=CANARY,
        sex="female",
        phone="0988 000 111",
        safe_contact=victim.safe_contact,
        date_of_birth=_born(30),
    )
    db.session.commit()
    assert changed == ["date_of_birth", "phone"]
    assert victim.version == version + 1
    assert (victim.age_band, victim.is_child) == ("30-59", False)
    event = _events("case:person:update")[-1]
    assert '"fields":["date_of_birth","phone"]' in event.details
    assert "988 000 111" not in event.details and "988000111" not in event.details
    assert "Canary" not in event.details


def test_an_edit_that_changes_nothing_is_not_recorded(org):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    same = {
        "role": "victim",
        "full_name": victim.full_name,
        "sex": victim.sex,
        "phone": victim.phone,
        "safe_contact": victim.safe_contact,
    }
    assert people.update_person(org["officer_c1"], victim, expected_version=1, **same) == []
    assert not _events("case:person:update")


def test_a_stale_edit_is_refused(org):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    with pytest.raises(StaleEdit):
        people.update_person(
            org["officer_c1"],
            victim,
            expected_version=victim.version - 1,
            role="victim",
            full_name="X",
        )


# --- Relationships ------------------------------------------------------------------------------


def test_a_relationship_links_two_people_of_the_case(org):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    husband = _add(org["officer_c1"], case, role="perpetrator", full_name=HUSBAND, sex="male")
    link = people.add_relationship(org["officer_c1"], case, husband, victim, "spouse")
    db.session.commit()
    assert (link.person_id, link.other_id, link.kind) == (husband.id, victim.id, "spouse")
    event = _events("case:relationship:add")[-1]
    assert str(husband.id) in event.details and "Canary" not in event.details
    with force_locale("en"):
        cards = {c.person.id: c for c in people.cards(org["officer_c1"], case)}
    assert [(x.word, x.other.id) for x in cards[husband.id].links] == [("Husband", victim.id)]
    assert cards[victim.id].links[0].inverse


def test_nobody_is_related_to_herself(org):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    with pytest.raises(Invalid) as refused:
        people.add_relationship(org["officer_c1"], case, victim, victim, "sibling")
    assert "other" in refused.value.fields
    assert _count(Relationship) == 0


def test_people_of_two_cases_are_never_linked(org):
    case, other_case = open_case(org["officer_c1"]), open_case(org["officer_c1"])
    with pytest.raises(Invalid) as refused:
        people.add_relationship(
            org["officer_c1"], case, _victim(case), _victim(other_case), "sibling"
        )
    assert "other" in refused.value.fields
    assert _count(Relationship) == 0


def test_an_unknown_relationship_kind_is_refused(org):
    case = open_case(org["officer_c1"])
    husband = _add(org["officer_c1"], case, role="perpetrator", full_name=HUSBAND)
    with pytest.raises(Invalid) as refused:
        people.add_relationship(org["officer_c1"], case, husband, _victim(case), "owner")
    assert "kind" in refused.value.fields


def test_two_people_are_linked_once_whichever_way_round(org):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    husband = _add(org["officer_c1"], case, role="perpetrator", full_name=HUSBAND)
    people.add_relationship(org["officer_c1"], case, husband, victim, "spouse")
    db.session.commit()
    for a, b in ((husband, victim), (victim, husband)):
        with pytest.raises(Invalid) as refused:
            people.add_relationship(org["officer_c1"], case, a, b, "partner")
        assert "other" in refused.value.fields
    assert _count(Relationship) == 1


# --- Who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["officer_c2", "reviewer_d1", "reviewer_hy", "admin", "auditor"])
def test_only_the_handling_unit_adds_people(org, who):
    case = open_case(org["officer_c1"])
    with pytest.raises(NotPermitted):
        people.add_person(org[who], case, role="child", full_name="X")
    with pytest.raises(NotPermitted):
        people.update_person(
            org[who], _victim(case), expected_version=1, role="victim", full_name="Y"
        )
    with pytest.raises(NotPermitted):
        people.cards(org[who], case)


# --- Pages --------------------------------------------------------------------------------------


def _person_form(**fields: str) -> dict[str, str]:
    return {
        "role": "child",
        "full_name": "Bé Na",
        "sex": "female",
        "disability": "",
        **fields,
    }


def test_officer_adds_a_child_and_the_file_shows_her_age(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    dob = _born(8)
    response = browser.post(
        f"/cases/{case.id}/people/new",
        _person_form(date_of_birth=dob.isoformat(), phone="0911 222 333"),
    )
    assert response.status_code == 303
    assert "Bé" not in response.location and dob.isoformat() not in response.location
    html = browser.get(response.location).get_data(as_text=True)
    people_part = html.split('id="people"')[1].split("</section>")[0]
    assert "Bé Na" in people_part and "Child in the victim" in people_part
    assert "8 years" in people_part and "0911 222 333" in people_part
    title = html.split("<title>")[1].split("</title>")[0]
    assert "Bé Na" not in title and "Canary" not in title


def test_the_form_says_the_data_is_sensitive(app, org, browser):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    page = browser.get(f"/cases/{case.id}/people/new")
    assert page.status_code == 200
    assert "sensitive personal data" in page.get_data(as_text=True)


def test_a_future_date_of_birth_in_the_form_is_refused_with_422_and_keeps_the_text(
    app, org, browser
):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = browser.post(
        f"/cases/{case.id}/people/new",
        _person_form(date_of_birth="2999-01-01", safe_contact="Knock twice at the gate"),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Knock twice at the gate" in html and "in the future" in html
    assert _count(Person) == 1  # the victim of the intake only


@pytest.mark.parametrize(
    "fields",
    [{"role": "boss"}, {"sex": "robot"}, {"phone": "not a phone"}, {"full_name": "x" * 201}],
)
def test_bad_person_forms_answer_422_and_save_nothing(app, org, browser, fields):
    case = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    response = browser.post(f"/cases/{case.id}/people/new", _person_form(**fields))
    assert response.status_code == 422
    assert _count(Person) == 1


def test_a_stale_edit_answers_409_and_keeps_what_was_typed(app, org, new_browser):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    first, second = new_browser(), new_browser()
    _sign_in(first, "officer.c1")
    _sign_in(second, "officer.c1")
    page = f"/cases/{case.id}/people/{victim.id}/edit"
    tokens = first.token(page), second.token(page)
    base = {"version": str(victim.version), "role": "victim", "sex": "female", "disability": ""}
    ok = first.raw_post(
        page, data={**base, "full_name": CANARY, "address": "Hamlet 1", "csrf_token": tokens[0]}
    )
    assert ok.status_code == 303
    stale = second.raw_post(
        page,
        data={**base, "full_name": CANARY, "address": "Hamlet 2, typed", "csrf_token": tokens[1]},
    )
    assert stale.status_code == 409
    assert "Hamlet 2, typed" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, victim.id).address == "Hamlet 1"


def test_the_file_says_who_is_whose_husband(app, org, browser):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    husband = _add(org["officer_c1"], case, role="perpetrator", full_name=HUSBAND, sex="male")
    _sign_in(browser, "officer.c1")
    response = browser.post(
        f"/cases/{case.id}/people/{husband.id}/relationships/new",
        {"kind": "spouse", "other": str(victim.id)},
    )
    assert response.status_code == 303
    html = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"Alleged perpetrator</span> – husband of {CANARY}" in html


def test_the_relationship_form_refuses_the_person_herself(app, org, browser):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    _sign_in(browser, "officer.c1")
    response = browser.post(
        f"/cases/{case.id}/people/{victim.id}/relationships/new",
        {"kind": "sibling", "other": str(victim.id)},
    )
    assert response.status_code == 422
    assert _count(Relationship) == 0


def test_a_person_of_another_case_is_not_found_under_this_one(app, org, browser):
    case, other = open_case(org["officer_c1"]), open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    assert browser.get(f"/cases/{case.id}/people/{_victim(other).id}/edit").status_code == 404


@pytest.mark.parametrize("username", ["officer.c2", "reviewer.d1", "admin.tw", "auditor.tw"])
def test_outsiders_get_403_on_people_pages_and_nothing_changes(app, org, new_browser, username):
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    browser = new_browser()
    _sign_in(browser, username)
    for url in (
        f"/cases/{case.id}/people/new",
        f"/cases/{case.id}/people/{victim.id}/edit",
        f"/cases/{case.id}/people/{victim.id}/relationships/new",
    ):
        assert browser.get(url).status_code == 403, url
    response = browser.post(
        f"/cases/{case.id}/people/{victim.id}/edit",
        {"version": "1", "role": "victim", "full_name": "Changed", "sex": "female"},
        page="/",
    )
    assert response.status_code == 403
    assert CANARY not in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, victim.id).full_name == CANARY
    assert _events("access:request:refused")
