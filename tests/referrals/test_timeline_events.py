"""Referral events in the case's actions timeline: sent, accepted or declined, completed, withdrawn,
for the readers of the file, showing no more of the referral than the file's referrals section."""

from __future__ import annotations

from casework.cases import timeline
from casework.extensions import db
from casework.referrals import service
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.referrals.conftest import give, refer

NEEDS = "A safe bed for two weeks"  # the packet's free text (tests/referrals/conftest.refer)


def _actions(html: str) -> str:
    return html.split('id="actions"')[1].split("</section>")[0]


def test_a_referrals_steps_appear_in_the_actions_timeline_newest_first(app, org, partners, browser):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_legal_aid")
    referral = refer(org["officer_c1"], case, partners["legal"])
    service.accept_referral(partners["staff_legal"], referral, expected_version=1)
    service.start_service(partners["staff_legal"], referral, expected_version=2)
    service.complete_referral(
        partners["staff_legal"], referral, outcome="Custody petition filed.", expected_version=3
    )
    db.session.commit()
    timeline.add_action(
        org["officer_c1"],
        case,
        kind="visit",
        occurred_at=referral.sent_at - (referral.sent_at - case.received_at) / 2,
        description="Home visit with the commune police.",
    )
    db.session.commit()
    _sign_in(browser, "officer.c1")
    section = _actions(browser.get(f"/cases/{case.id}").get_data(as_text=True))
    order = [
        section.index(label)
        for label in (
            "Referral completed",
            "Referral accepted",
            "Referral sent",
            "Home visit with the commune police.",
        )
    ]
    assert order == sorted(order)  # newest first, among the actions
    assert section.count("Legal aid HY") == 3 and section.count(referral.reference) == 3
    assert f"/cases/{case.id}/referrals/{referral.id}" in section
    # Nothing of the referral that the file's referrals section does not show.
    assert NEEDS not in section and "Custody petition filed." not in section
    # The printed file carries the same timeline.
    printed = browser.get(f"/cases/{case.id}/print").get_data(as_text=True)
    assert "Referral completed" in printed and "Custody petition filed." not in printed


def test_a_declined_and_a_withdrawn_referral_show_their_step_without_the_reason(
    app, org, partners, browser
):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter", "refer_legal_aid")
    declined = refer(org["officer_c1"], case, partners["shelter_a"])
    service.decline_referral(
        partners["staff_a"], declined, reason="No place left this week.", expected_version=1
    )
    withdrawn = refer(org["officer_c1"], case, partners["legal"])
    service.withdraw_referral(
        org["officer_c1"], withdrawn, reason="She went to her mother's.", expected_version=1
    )
    db.session.commit()
    _sign_in(browser, "officer.c1")
    section = _actions(browser.get(f"/cases/{case.id}").get_data(as_text=True))
    assert "Referral declined" in section and "Referral withdrawn" in section
    assert "Referral accepted" not in section and "Referral completed" not in section
    assert section.count("Referral sent") == 2
    for secret in ("No place left this week.", "She went to her mother's.", NEEDS):
        assert secret not in section


def test_only_the_files_readers_see_the_referral_events(app, org, partners, new_browser):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    refer(org["officer_c1"], case, partners["shelter_a"])
    for username in ("officer.c2", "staff.a", "admin.tw"):
        other = new_browser()
        _sign_in(other, username)
        page = other.get(f"/cases/{case.id}")
        assert page.status_code in (403, 404), username
        assert "Referral sent" not in page.get_data(as_text=True)
    # A reviewer above sees the de-identified summary: no referral, no partner.
    reviewer = new_browser()
    _sign_in(reviewer, "reviewer.d1")
    summary = reviewer.get(f"/cases/{case.id}/summary")
    assert summary.status_code == 200
    html = summary.get_data(as_text=True)
    assert "Referral sent" not in html and "Shelter A" not in html


def test_a_file_with_referrals_only_shows_them_instead_of_an_empty_timeline(
    app, org, partners, browser
):
    case = open_case(org["officer_c1"])
    give(org["officer_c1"], case, "refer_shelter")
    _sign_in(browser, "officer.c1")
    assert "Nothing recorded yet." in _actions(
        browser.get(f"/cases/{case.id}").get_data(as_text=True)
    )
    refer(org["officer_c1"], case, partners["shelter_a"])
    section = _actions(browser.get(f"/cases/{case.id}").get_data(as_text=True))
    assert "Referral sent" in section and "Nothing recorded yet." not in section
