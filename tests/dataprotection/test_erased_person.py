"""One erased person leaves the rest of her case file readable: she shows as erased in the file,
the printable file, the lists and the API; a search by her phone finds nothing; statistics still
count her. A case's own erasure still makes the whole file 410 Gone (tests/cases/test_erased.py)."""

from __future__ import annotations

from casework.cases import people
from casework.cases.people import local_date
from casework.crypto import shredding
from casework.errors import Invalid
from casework.extensions import db
from casework.reports import figures
from casework.reports.periods import Period
from casework.reports.service import Scope, Window
from tests.api.conftest import Api, make_token
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY
from tests.dataprotection.conftest import SISTER, SISTER_PHONE

LABEL_EN = "[personal data erased]"


def _erase(person):  # type: ignore[no-untyped-def]
    shredding.shred(None, "person", person.id)
    db.session.commit()
    db.session.expire_all()


def test_the_file_stays_readable_and_shows_the_erased_person_as_erased(app, family, browser):
    case, sister = family["case"], family["sister"]
    _erase(sister)
    _sign_in(browser, "officer.c1")
    response = browser.get(f"/cases/{case.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert SISTER not in html and SISTER_PHONE not in html and "Thôn Đông" not in html
    assert LABEL_EN in html and "Erased at her request" in html
    assert CANARY in html  # the other victim is untouched
    assert "0912 345 678" in html
    # No way to correct her: the button is gone, and the page itself answers 410.
    assert f"/people/{sister.id}/edit" not in html
    assert browser.get(f"/cases/{case.id}/people/{sister.id}/edit").status_code == 410


def test_the_printable_file_and_the_lists_leave_her_out(app, family, browser):
    case = family["case"]
    _erase(family["sister"])
    _sign_in(browser, "officer.c1")
    printed = browser.get(f"/cases/{case.id}/print")
    assert printed.status_code == 200
    html = printed.get_data(as_text=True)
    assert SISTER not in html and LABEL_EN in html and CANARY in html
    listing = browser.get("/cases/")
    assert listing.status_code == 200 and case.code in listing.get_data(as_text=True)
    assert SISTER not in listing.get_data(as_text=True)


def test_a_search_by_her_phone_or_name_finds_nothing_but_the_other_victim_is_found(
    app, family, browser
):
    _erase(family["sister"])
    _sign_in(browser, "officer.c1")
    page = "/cases/search"
    by_phone = browser.post(page, {"kind": "phone", "term": SISTER_PHONE})
    assert by_phone.status_code == 200
    assert family["case"].code not in by_phone.get_data(as_text=True)
    by_name = browser.post(page, {"kind": "name", "term": SISTER})
    assert family["case"].code not in by_name.get_data(as_text=True)
    other = browser.post(page, {"kind": "phone", "term": "0912 345 678"})
    assert family["case"].code in other.get_data(as_text=True)


def test_the_api_answers_the_file_with_her_identity_null_and_marked_erased(app, family, org):
    case, sister = family["case"], family["sister"]
    token = make_token(org["officer_c1"])
    _erase(sister)
    api = Api(app)
    response = api.get(f"/cases/{case.id}", token)
    assert response.status_code == 200
    assert SISTER not in response.get_data(as_text=True)
    rows = {p["id"]: p for p in response.get_json()["people"]}
    assert rows[str(sister.id)]["erased"] is True and rows[str(sister.id)]["full_name"] is None
    assert rows[str(family["victim"].id)] == {**rows[str(family["victim"].id)], "erased": False}
    assert rows[str(family["victim"].id)]["full_name"] == CANARY
    listed = api.get(f"/cases/{case.id}/people", token)
    assert listed.status_code == 200 and SISTER_PHONE not in listed.get_data(as_text=True)
    cards = {p["id"]: p for p in listed.get_json()["items"]}
    assert cards[str(sister.id)]["erased"] is True and cards[str(sister.id)]["phone"] is None
    assert cards[str(sister.id)]["sex"] == "female"


def test_reports_count_her_as_before(app, family, org):
    case = family["case"]
    received = local_date(case.received_at)  # the month in Vietnam, as reports count it
    period = Period.calendar("month", received.year, received.month)
    scope = Scope(org["HY"], "recorded")
    before = figures.raw_counts(scope, Window(period))
    _erase(family["sister"])
    after = figures.raw_counts(scope, Window(period))
    assert after == before
    assert sum(after["victim_sex"].values()) == 2  # the canary and her, both still counted
    assert family["sister"].sex == "female"  # her statistics fields stay


def test_her_details_cannot_be_corrected_once_erased(app, family, org):
    sister = family["sister"]
    _erase(sister)
    try:
        people.update_person(
            org["officer_c1"],
            sister,
            expected_version=sister.version,
            role="victim",
            full_name="Someone else",
        )
    except Invalid:
        db.session.rollback()
    else:
        raise AssertionError("an erased person was corrected")
    assert db.session.get(type(sister), sister.id).erased


def test_the_case_key_erasure_still_answers_410(app, family, browser):
    shredding.shred(None, "case", family["case"].id)
    db.session.commit()
    _sign_in(browser, "officer.c1")
    assert browser.get(f"/cases/{family['case'].id}").status_code == 410
