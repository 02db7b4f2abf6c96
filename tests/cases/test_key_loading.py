"""Reading a case file unwraps its data keys with one query, whatever the number of people."""

from __future__ import annotations

from casework.cases import people as people_service
from casework.extensions import db
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, sql_sent


def _key_queries(read) -> int:  # type: ignore[no-untyped-def]
    with sql_sent() as sent:
        read()
    return sum("FROM data_key" in statement for statement, _ in sent)


def test_a_file_with_four_people_reads_every_identity_with_one_key_query(app, org, browser):  # type: ignore[no-untyped-def]
    officer = org["officer_c1"]
    case = open_case(officer)
    for name in ("Lê Văn Bình", "Lê Thị Mai", "Trần Thị Thu"):
        people_service.add_person(officer, case, role="child", full_name=name)
    db.session.commit()
    case_id = case.id
    db.session.expunge_all()
    _sign_in(browser, "officer.c1")
    pages: list[str] = []

    def read() -> None:
        pages.append(browser.get(f"/cases/{case_id}").get_data(as_text=True))

    assert _key_queries(read) == 1
    assert all(name in pages[0] for name in ("Lê Văn Bình", "Lê Thị Mai", "Trần Thị Thu", CANARY))
