"""The fuzzed world: the tree of tests/cases with a case holding one of every record a form edits
(people, consent, legal basis, assessment, action, support, follow-up, a referral being worked on
by a shelter), a case with a closure request and one with an escalation waiting; and signed-in
browsers, one per user (a second factor is used once, so each user signs in once per test)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from casework.cases import consent, people, support, timeline
from casework.cases import service as cases
from casework.cases.models import Person
from casework.cases.workflow import requests
from casework.cases.workflow import service as workflow
from casework.dataprotection import breaches
from casework.dataprotection import service as data_requests
from casework.db import utcnow
from casework.extensions import db
from casework.referrals import service as referrals
from casework.retention import service as retention
from tests.cases.conftest import open_case, org  # noqa: F401 (fixture)
from tests.conftest import Browser, current_code, make_partner, make_user
from tests.referrals.conftest import give, refer


def _victim(case: Any) -> Person:
    return db.session.scalar(
        select(Person).where(Person.case_id == case.id, Person.role == "victim")
    )


def _classify(officer: Any, case: Any) -> None:
    """Classified, so the case is active (a closure may be requested)."""
    cases.classify(
        officer,
        case,
        expected_version=case.version,
        types=["domestic_violence.physical"],
        severity="S1",
        risk=None,
        gbv_type=None,
    )


@pytest.fixture
def world(org):  # type: ignore[no-untyped-def]  # noqa: F811
    officer = org["officer_c1"]
    shelter = make_partner("Shelter A", "shelter", [org["D1"]])
    staff = make_user("staff.a", "partner", partner=shelter)

    case = open_case(officer)
    _classify(officer, case)
    victim = _victim(case)
    child = people.add_person(
        officer, case, role="child", full_name="Bé Nguyễn Thị Na", sex="female"
    )
    man = people.add_person(officer, case, role="perpetrator", full_name="Trần Văn B", sex="male")
    timeline.add_assessment(
        officer, case, kind="safety", risk="medium", findings="Threats", safety_plan="Sister"
    )
    action = timeline.add_action(
        officer,
        case,
        kind="visit",
        occurred_at=utcnow() - timedelta(minutes=10),
        description="Home visit",
    )
    row = support.add_support(
        officer, case, person=victim, service="counselling", partner=None, status="planned"
    )
    follow_up = support.schedule_follow_up(officer, case, due_at=utcnow() + timedelta(days=3))
    basis = consent.record_legal_basis(
        officer, case, basis="protect_life", purpose="share_higher_level", note="Danger"
    )
    db.session.commit()
    (given,) = give(officer, case, "refer_shelter")
    referral = refer(officer, case, shelter, services=["shelter"])
    referrals.accept_referral(staff, referral, expected_version=referral.version)
    referrals.start_service(staff, referral, expected_version=referral.version)
    db.session.commit()
    delivery = referral.supports[0] if getattr(referral, "supports", None) else None

    closing = open_case(officer)
    _classify(officer, closing)
    workflow.request_closure(officer, closing, "resolved", "She is safe now")
    escalated = open_case(officer)
    escalation = workflow.request_escalation(officer, escalated, "Needs the district")
    moved = open_case(officer)
    workflow.accept_escalation(
        org["reviewer_d1"], workflow.request_escalation(officer, moved, "Needs the district")
    )
    asked = requests.ask(
        org["reviewer_d1"],
        moved,
        unit_id=org["C1"].id,
        what="Visit her today",
        due_at=utcnow() + timedelta(hours=6),
    )
    db.session.commit()
    closure = workflow.pending_closure(closing)
    # Data protection and retention: requests of the victim (one waiting, two granted), a lost
    # phone in the breach register, and the province's hold on the file.
    asked_data = {
        kind: data_requests.record_request(
            officer,
            case,
            victim,
            kind=kind,
            requester_relation="subject",
            received_at=utcnow() - timedelta(minutes=30),
            details="She asks what the Union holds about her.",
        )
        for kind in ("access", "rectification", "restriction")
    }
    for kind in ("access", "rectification"):
        granted = asked_data[kind]
        data_requests.review(
            org["reviewer_d1"],
            granted,
            approve=True,
            safety_concern=False,
            note=None,
            expected_version=granted.version,
        )
    breach = breaches.record_breach(
        officer,
        discovered_at=utcnow() - timedelta(hours=3),
        categories=["identity"],
        units=[org["C1"]],
        description="A phone with the commune's contact list was lost.",
    )
    hold = retention.set_hold(org["reviewer_hy"], case, "Court case pending", None)
    db.session.commit()
    return {
        **org,
        "shelter": shelter,
        "staff_a": staff,
        "case": case,
        "victim": victim,
        "child": child,
        "man": man,
        "action": action,
        "support": row,
        "follow_up": follow_up,
        "basis": basis,
        "consent": given,
        "referral": referral,
        "delivery": delivery,
        "closing": closing,
        "closure": closure,
        "escalated": escalated,
        "escalation": escalation,
        "moved": moved,
        "asked": asked,
        "data_waiting": asked_data["restriction"],
        "data_export": asked_data["access"],
        "data_granted": asked_data["rectification"],
        "breach": breach,
        "hold": hold,
    }


@pytest.fixture
def signed_in(world, new_browser):  # type: ignore[no-untyped-def]
    """signed_in(key) → (a browser signed in as world[key], its CSRF token); None: signed out."""
    made: dict[str | None, tuple[Browser, str]] = {}

    def get(key: str | None) -> tuple[Browser, str]:
        if key not in made:
            browser = new_browser()
            if key is not None:
                user = world[key]
                code = current_code(user) if user.totp_enabled else None
                response = browser.login(user.username, code=code)
                assert response.status_code == 303, f"{key} could not sign in"
                token = browser.token("/")
            else:
                token = browser.token("/login")
            made[key] = (browser, token)
        return made[key]

    return get
