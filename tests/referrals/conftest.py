"""Referral fixtures: the case tree of tests/cases, partners serving parts of it with their staff,
and helpers to give consent and send a referral through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from casework.cases import consent
from casework.cases.models import Case, Person
from casework.db import utcnow
from casework.extensions import db
from casework.referrals import service
from tests.cases.conftest import org  # noqa: F401 (fixture)
from tests.conftest import make_partner, make_user

ADDRESS = "Số 7 ngõ Bí Mật, phường Canary"  # the canary victim's address: never to a partner
REPORTER = "Reporter Trần Văn Kín"


@pytest.fixture
def partners(org):  # type: ignore[no-untyped-def]  # noqa: F811
    """Shelter A serves D1 (so C1's cases), Legal aid serves HY, Shelter B serves D2 only."""
    shelter_a = make_partner("Shelter A", "shelter", [org["D1"]])
    shelter_a.capacity = 2
    shelter_a.max_stay_days = 30
    legal = make_partner("Legal aid HY", "legal_aid", [org["HY"]])
    health = make_partner("Clinic D1", "health", [org["D1"]])
    social = make_partner("Social work D1", "social", [org["D1"]])
    police = make_partner("Police D1", "police", [org["D1"]])
    shelter_b = make_partner("Shelter B", "shelter", [org["D2"]])
    db.session.commit()
    return {
        "shelter_a": shelter_a,
        "legal": legal,
        "health": health,
        "social": social,
        "police": police,
        "shelter_b": shelter_b,
        "staff_a": make_user("staff.a", "partner", partner=shelter_a),
        "staff_legal": make_user("staff.legal", "partner", partner=legal),
        "staff_b": make_user("staff.b", "partner", partner=shelter_b),
    }


def victim_of(case: Case) -> Person:
    return db.session.scalar(
        select(Person).where(Person.case_id == case.id, Person.role == "victim")
    )


def with_secrets(case: Case) -> Case:
    """The victim's address and the reporter recorded, as a real file would have them."""
    victim_of(case).address = ADDRESS
    case.reporter_name = REPORTER
    db.session.commit()
    return case


def give(officer, case: Case, *purposes: str) -> list:  # type: ignore[no-untyped-def]
    made = consent.give_consent(
        officer,
        case,
        subject=victim_of(case),
        purposes=list(purposes),
        given_by="victim",
        method="verbal",
        given_at=utcnow() - timedelta(minutes=1),
    )
    db.session.commit()
    return made


def refer(officer, case: Case, partner, **overrides):  # type: ignore[no-untyped-def]
    from casework.referrals import packets

    fields = {
        "person": victim_of(case),
        "partner": partner,
        "services": {"shelter": ["shelter"], "legal_aid": ["legal_aid"]}.get(
            partner.kind, partner.service_codes[:1]
        ),
        "fields": list(packets.default_fields(partner.kind)),
        "needs": "A safe bed for two weeks",
    }
    fields.update(overrides)
    referral = service.send_referral(officer, case, **fields)
    db.session.commit()
    return referral
