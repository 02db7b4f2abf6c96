"""Case lists are built from the policy's branches (one indexed query per grant, merged by page):
every grant shows its cases once, recusal and expiry take them away, and pages neither repeat nor
skip a case."""

from __future__ import annotations

from datetime import timedelta

from casework.cases import service
from casework.cases.models import BreakGlass, Case
from casework.cases.views import PAGE_SIZE, _as_is, _page
from casework.cases.workflow import service as wf
from casework.db import utcnow
from casework.extensions import db
from casework.policy.scopes import (
    supervised_case_branches,
    supervised_cases,
    visible_case_branches,
    visible_cases,
)
from tests.cases.conftest import open_case
from tests.conftest import PASSWORD, age_rows, make_user


def _all_pages(branches_of, user) -> list[Case]:  # type: ignore[no-untyped-def]
    """Follow the Next cursor from the first page to the last, as a user clicking through."""
    shown: list[Case] = []
    cursor = None
    for _ in range(100):
        rows, cursor = _page(branches_of(user), cursor, _as_is)
        shown += rows
        if cursor is None:
            return shown
    raise AssertionError("the pages never end")


def _listed(user) -> list[Case]:  # type: ignore[no-untyped-def]
    return _all_pages(visible_case_branches, user)


def _newest_first(cases: list[Case]) -> list[Case]:
    return sorted(cases, key=lambda c: (c.received_at, c.id), reverse=True)


def _classified(org) -> Case:  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    service.classify(
        org["officer_c1"],
        case,
        expected_version=case.version,
        types=["domestic_violence"],
        severity="S3",
        risk="high",
        gbv_type=None,
    )
    db.session.commit()
    return case


def test_a_recused_colleague_no_longer_lists_the_case_and_the_others_still_do(org):
    colleague = make_user("officer.c1b", "officer", org["C1"])
    reviewer = make_user("reviewer.c1", "reviewer", org["C1"])
    kept, recused = open_case(org["officer_c1"]), open_case(org["officer_c1"])
    service.recuse(reviewer, recused, colleague)
    db.session.commit()
    assert _listed(colleague) == [kept]
    assert db.session.scalars(visible_cases(colleague)).all() == [kept]
    assert set(_listed(org["officer_c1"])) == {kept, recused}


def test_a_recused_reviewer_loses_the_case_from_her_supervision_list(org):
    case = open_case(org["officer_c1"])
    colleague = make_user("reviewer.d1b", "reviewer", org["D1"])
    assert _all_pages(supervised_case_branches, org["reviewer_d1"]) == [case]
    service.recuse(make_user("reviewer.c1", "reviewer", org["C1"]), case, org["reviewer_d1"])
    db.session.commit()
    assert _all_pages(supervised_case_branches, org["reviewer_d1"]) == []
    assert db.session.scalars(supervised_cases(org["reviewer_d1"])).all() == []
    assert _all_pages(supervised_case_branches, colleague) == [case]


def test_break_glass_lists_the_case_only_until_it_expires(org):
    case = open_case(org["officer_c1"])
    reviewer = org["reviewer_d1"]
    assert _listed(reviewer) == []
    service.break_glass(reviewer, case, "Checking a serious case", minutes=30, password=PASSWORD)
    db.session.commit()
    assert _listed(reviewer) == [case]
    age_rows(BreakGlass, "expires_at", timedelta(minutes=31))
    assert _listed(reviewer) == []
    assert db.session.scalars(visible_cases(reviewer)).all() == []
    # The grant was the reviewer's own: her colleague never saw it.
    assert _listed(make_user("reviewer.d1b", "reviewer", org["D1"])) == []


def test_an_escalated_case_is_listed_once_by_every_unit_that_handled_it(org):
    case = _classified(org)
    wf.accept_escalation(org["reviewer_d1"], wf.request_escalation(org["officer_c1"], case, "1"))
    db.session.commit()
    # The commune owns it and handed it up; the district handles it: each lists it once.
    assert _listed(org["officer_c1"]) == [case]
    assert _listed(org["reviewer_d1"]) == [case]
    wf.accept_escalation(org["reviewer_hy"], wf.request_escalation(org["reviewer_d1"], case, "2"))
    db.session.commit()
    # The district neither owns nor handles it any more: it reads it as a unit that handed it up.
    assert case.handling_unit_id == org["HY"].id
    assert _listed(org["reviewer_d1"]) == [case]
    assert _listed(org["reviewer_hy"]) == [case]
    assert _listed(org["officer_c2"]) == []
    assert _listed(org["reviewer_d2"]) == []


def test_pages_follow_each_other_without_repeats_or_gaps_across_grants_and_equal_times(org):
    now = utcnow().replace(microsecond=0)
    officer = org["officer_c1"]
    # Many cases received at the very same minute: the id breaks the tie on the page boundary.
    same_time = [open_case(officer, received_at=now - timedelta(hours=5)) for _ in range(30)]
    spread = [open_case(officer, received_at=now - timedelta(minutes=7 * i)) for i in range(22)]
    # A case handled by the district and one opened to a reviewer by break-glass: other branches.
    escalated = _classified(org)
    wf.accept_escalation(org["reviewer_d1"], wf.request_escalation(officer, escalated, "up"))
    glassed = open_case(org["officer_c2"], received_at=now - timedelta(hours=5))
    db.session.commit()
    service.break_glass(org["reviewer_hy"], glassed, "Checking a serious case", password=PASSWORD)
    db.session.commit()

    shown = _listed(officer)
    expected = _newest_first([*same_time, *spread, escalated])
    assert shown == expected
    assert len(shown) > 2 * PAGE_SIZE and len(set(shown)) == len(shown)
    # The statement compiled once with parameters and the one built for this user agree.
    assert _all_pages(lambda u: list(visible_case_branches(u)), officer) == shown

    district = _listed(org["reviewer_d1"])
    assert district == [escalated]
    province = _listed(org["reviewer_hy"])
    assert province == [glassed]
    supervised = _all_pages(supervised_case_branches, org["reviewer_hy"])
    assert supervised == _newest_first([*same_time, *spread, escalated, glassed])


def test_a_malformed_cursor_is_refused_with_400(app, org, browser):
    from tests.cases.test_views import _sign_in

    open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    assert browser.get("/cases/?after=yesterday_not-an-id").status_code == 400


def test_the_list_filters_apply_to_every_grant(app, org, browser):
    from tests.cases.test_views import _sign_in

    escalated = _classified(org)
    wf.accept_escalation(
        org["reviewer_d1"], wf.request_escalation(org["officer_c1"], escalated, "up")
    )
    fresh = open_case(org["officer_c1"])
    db.session.commit()
    _sign_in(browser, "officer.c1")
    html = browser.get("/cases/?severity=S3").get_data(as_text=True)
    assert escalated.code in html and fresh.code not in html
    html = browser.get("/cases/?status=open").get_data(as_text=True)
    assert fresh.code in html and escalated.code not in html


def test_the_type_filter_keeps_only_cases_of_that_type_in_every_grant(app, org, browser):
    from tests.cases.test_views import _sign_in

    escalated = _classified(org)  # domestic violence, now handled by the district
    wf.accept_escalation(
        org["reviewer_d1"], wf.request_escalation(org["officer_c1"], escalated, "up")
    )
    divorce = open_case(org["officer_c1"], types=["family_dispute.divorce"])
    db.session.commit()
    _sign_in(browser, "officer.c1")
    html = browser.get("/cases/?type=family_dispute").get_data(as_text=True)
    assert divorce.code in html and escalated.code not in html
    html = browser.get("/cases/?type=domestic_violence").get_data(as_text=True)
    assert escalated.code in html and divorce.code not in html


def test_search_and_repeat_warnings_follow_the_same_grants_and_recusals(org):
    from casework.cases import search

    colleague = make_user("officer.c1b", "officer", org["C1"])
    first, second = open_case(org["officer_c1"]), open_case(org["officer_c1"])
    elsewhere = open_case(org["officer_c2"])  # the same victim's phone, in another commune
    service.recuse(make_user("reviewer.c1", "reviewer", org["C1"]), second, colleague)
    db.session.commit()
    found = {hit.case for hit in search.search_cases(colleague, "phone", "0912 345 678")}
    assert found == {first}
    named, hidden = search.repeat_matches(colleague, first)
    assert named == [] and hidden == 2  # the recused case and the other commune's: counted only
    named, hidden = search.repeat_matches(org["officer_c1"], first)
    assert named == [second] and hidden == 1
    assert elsewhere not in named


def test_the_overdue_filter_keeps_cases_with_a_follow_up_past_due_and_not_done(app, org, browser):
    from casework.cases import support
    from casework.cases.models import FollowUp
    from tests.cases.test_views import _sign_in

    officer = org["officer_c1"]
    late, on_time, done = (open_case(officer) for _ in range(3))
    for case in (late, on_time, done):
        support.schedule_follow_up(officer, case, due_at=utcnow() + timedelta(days=1))
    db.session.commit()
    age_rows(FollowUp, "due_at", timedelta(days=3))  # all three are now two days late…
    on_time_follow_up = db.session.scalars(
        db.select(FollowUp).where(FollowUp.case_id == on_time.id)
    ).one()
    on_time_follow_up.due_at = utcnow() + timedelta(days=2)  # …but this one was moved on
    finished = db.session.scalars(db.select(FollowUp).where(FollowUp.case_id == done.id)).one()
    support.update_follow_up(
        officer,
        finished,
        expected_version=finished.version,
        status="done",
        note="Called her, she is safe",
        done_at=utcnow(),
    )
    db.session.commit()
    _sign_in(browser, "officer.c1")
    html = browser.get("/cases/?overdue=1").get_data(as_text=True)
    assert late.code in html
    assert on_time.code not in html and done.code not in html
    assert all(c.code in browser.get("/cases/").get_data(as_text=True) for c in (late, on_time))


def test_the_unit_filter_narrows_a_reviewer_list_to_one_unit_below_her(app, org, browser):
    from tests.cases.test_views import _sign_in

    in_d1 = open_case(org["officer_c1"])
    in_d2 = open_case(org["officer_c2"])
    _sign_in(browser, "reviewer.hy")
    page = browser.get("/cases/supervision").get_data(as_text=True)
    assert in_d1.code in page and in_d2.code in page
    # The form offers the districts just below the province.
    assert f'value="{org["D1"].id}"' in page and f'value="{org["D2"].id}"' in page
    page = browser.get(f"/cases/supervision?unit={org['D1'].id}").get_data(as_text=True)
    assert in_d1.code in page and in_d2.code not in page


def test_the_unit_filter_never_widens_a_list(app, org, browser):
    from tests.cases.test_views import _sign_in

    other = open_case(org["officer_c2"])
    mine = open_case(org["officer_c1"])
    _sign_in(browser, "officer.c1")
    # Naming another commune's unit shows nothing of it; nonsense is ignored.
    html = browser.get(f"/cases/?unit={org['C2'].id}").get_data(as_text=True)
    assert other.code not in html and mine.code not in html
    html = browser.get("/cases/?unit=-1%27").get_data(as_text=True)
    assert mine.code in html and other.code not in html


def test_the_list_can_be_read_oldest_first_across_pages(org):
    from casework.cases import listing

    officer = org["officer_c1"]
    now = utcnow().replace(microsecond=0)
    cases = [open_case(officer, received_at=now - timedelta(minutes=5 * i)) for i in range(30)]
    oldest_first = listing.filters({"order": "oldest"}, officer)
    shown: list[Case] = []
    after = None
    while True:
        rows, after = _page(visible_case_branches(officer), after, oldest_first)
        shown += rows
        if after is None:
            break
    assert shown == list(reversed(_newest_first(cases)))
    assert len(shown) == 30


def test_a_list_page_costs_the_same_statements_for_two_cases_as_for_eight(org, app, browser):  # type: ignore[no-untyped-def]
    """The rows load only what a row shows; nothing a page or the API shows is read case by case
    (a field left out of the rows would be read once per row, and the count would grow)."""
    from tests.api.conftest import Api, make_token
    from tests.cases.test_views import _sign_in
    from tests.conftest import sql_sent

    officer = org["officer_c1"]
    _sign_in(browser, "officer.c1")
    token = make_token(officer)
    api = Api(app)

    def sent_for(call) -> int:  # type: ignore[no-untyped-def]
        with sql_sent() as sent:
            response = call()
        assert response.status_code == 200
        return len(sent)

    counts = []
    for n in (2, 8):
        while db.session.query(Case).count() < n:
            _classified(org)
        db.session.commit()
        browser.get("/cases/"), api.get("/cases", token)  # a first call records its sign-in
        web = sent_for(lambda: browser.get("/cases/"))
        listed = sent_for(lambda: api.get("/cases", token))
        counts.append((web, listed))
    assert counts[0] == counts[1], counts
    page = browser.get("/cases/").get_data(as_text=True)
    assert page.count("/cases/") >= 8 and "S3" in page


def test_each_row_of_a_list_shows_its_own_types_sorted(org, app):  # type: ignore[no-untyped-def]
    """The types come with the rows (one statement): a case with several types lists them all, in
    order, and a case with one type only its own."""
    from sqlalchemy import select

    from casework.cases.models import CaseType
    from tests.api.conftest import Api, make_token

    officer = org["officer_c1"]
    two = open_case(officer, types=["trafficking", "domestic_violence.physical"])
    one = open_case(officer, types=["child_abuse"])

    def stored(case: Case) -> list[str]:
        return sorted(db.session.scalars(select(CaseType.code).where(CaseType.case_id == case.id)))

    expected = {two.id: stored(two), one.id: stored(one)}
    assert expected[one.id] == ["child_abuse"] and "trafficking" in expected[two.id]
    db.session.expire_all()
    rows, _cursor = _page(visible_case_branches(officer), None, _as_is)
    assert {c.id: c.type_codes for c in rows if c.id in expected} == expected
    items = Api(app).get("/cases", make_token(officer)).get_json()["items"]
    listed = {item["id"]: item["types"] for item in items}
    assert {k: listed[str(k)] for k in expected} == expected
