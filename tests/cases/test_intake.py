"""Intake: a case recorded at the officer's own unit, encrypted, audited, with its alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from casework.audit.models import AuditEvent
from casework.cases import service
from casework.cases.models import Case, Person
from casework.db import utcnow
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import NotPermitted, Permission, can
from casework.policy.scopes import visible_cases
from tests.cases.conftest import open_case
from tests.conftest import CANARY, PASSWORD


def test_intake_creates_a_case_with_a_code_that_names_no_one(org):
    case = open_case(org["officer_c1"])
    assert case.code.startswith("HY-") and case.code.endswith("-000001")
    assert case.status == "open"
    assert case.owning_unit_id == case.handling_unit_id == org["C1"].id
    victim = db.session.scalar(select(Person).where(Person.case_id == case.id))
    assert victim.role == "victim" and victim.full_name == CANARY
    assert open_case(org["officer_c1"]).code.endswith("-000002")


def test_identity_and_narrative_are_not_stored_in_plain_text(org):
    case = open_case(org["officer_c1"])
    rows = (
        db.session.execute(text("SELECT * FROM case_file")).all()
        + db.session.execute(text("SELECT * FROM person")).all()
    )
    blob = repr(rows)
    assert "Canary" not in blob and "Hoàng Yến" not in blob
    assert "345 678" not in blob and "345678" not in blob  # the phone, in any spacing
    assert case.summary.startswith(CANARY)


def test_intake_is_audited_without_personal_data(org):
    case = open_case(org["officer_c1"])
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "case:file:open"))
    assert event.object_id == str(case.id) and event.actor_id == org["officer_c1"].id
    assert "Canary" not in event.details and "345 678" not in event.details
    assert "345678" not in event.details


def test_domestic_violence_intake_says_the_commune_chair_must_be_told_at_once(org):
    result = service.open_case(
        org["officer_c1"],
        received_at=utcnow(),
        source="relative",
        types=["domestic_violence"],
        summary="x",
        victim_name="A",
    )
    codes = {a.code: a for a in result.alerts}
    assert "notify_commune_chair" in codes
    assert codes["notify_commune_chair"].due == result.case.received_at + timedelta(hours=1)


def test_child_in_danger_brings_the_twelve_hour_emergency_timer(org):
    received = utcnow() - timedelta(hours=1)
    result = service.open_case(
        org["officer_c1"],
        received_at=received,
        source="neighbour",
        types=["child_abuse.physical"],
        summary="x",
        victim_name="B",
        child_involved=True,
        immediate_danger=True,
    )
    codes = {a.code: a for a in result.alerts}
    assert codes["child_emergency_12h"].due == received + timedelta(hours=12)
    assert "report_child_abuse" in codes and "111" in str(codes["report_child_abuse"].message)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"types": []}, "types"),
        ({"types": ["no_such_type"]}, "types"),
        ({"summary": "  "}, "summary"),
        ({"summary": "x" * 4001}, "summary"),
        ({"victim_name": ""}, "victim_name"),
        ({"source": "pigeon"}, "source"),
        ({"received_at": utcnow() + timedelta(days=1)}, "received_at"),
        ({"victim_phone": "call me maybe"}, "victim_phone"),
    ],
)
def test_bad_intake_is_refused_and_saves_nothing(org, override, field):
    with pytest.raises(Invalid) as refused:
        open_case(org["officer_c1"], **override)
    assert field in refused.value.fields
    db.session.rollback()
    assert db.session.scalar(select(Case.id)) is None


def test_admin_and_auditor_cannot_open_cases(org):
    for who in ("admin", "auditor"):
        with pytest.raises(NotPermitted):
            open_case(org[who])
        db.session.rollback()


def test_officer_of_one_commune_cannot_read_another_communes_case(org):
    case = open_case(org["officer_c1"])
    assert can(org["officer_c1"], Permission.CASE_READ, case)
    assert not can(org["officer_c2"], Permission.CASE_READ, case)
    assert db.session.scalars(visible_cases(org["officer_c2"])).all() == []
    assert db.session.scalars(visible_cases(org["officer_c1"])).all() == [case]


def test_reviewer_above_supervises_but_needs_break_glass_to_read(org):
    case = open_case(org["officer_c1"])
    reviewer = org["reviewer_d1"]
    assert can(reviewer, Permission.CASE_SUPERVISE, case)
    assert not can(reviewer, Permission.CASE_READ, case)
    service.break_glass(
        reviewer, case, "Checking the handling of a serious case", password=PASSWORD
    )
    db.session.commit()
    assert can(reviewer, Permission.CASE_READ, case)
    assert case in db.session.scalars(visible_cases(reviewer)).all()


def test_break_glass_expires(org):
    from casework.cases.models import BreakGlass
    from tests.conftest import age_rows

    case = open_case(org["officer_c1"])
    service.break_glass(org["reviewer_d1"], case, "Check", minutes=60, password=PASSWORD)
    db.session.commit()
    age_rows(BreakGlass, "expires_at", timedelta(minutes=61))
    assert not can(org["reviewer_d1"], Permission.CASE_READ, case)


def test_reviewer_of_a_sibling_district_neither_supervises_nor_breaks_glass(org):
    case = open_case(org["officer_c1"])
    assert not can(org["reviewer_d2"], Permission.CASE_SUPERVISE, case)
    with pytest.raises(NotPermitted):
        service.break_glass(org["reviewer_d2"], case, "curious", password=PASSWORD)


def test_recusal_wins_over_membership(org):
    from tests.conftest import make_user

    colleague = make_user("officer.c1b", "reviewer", org["C1"])
    case = open_case(org["officer_c1"])
    service.recuse(colleague, case, org["officer_c1"])
    db.session.commit()
    assert not can(org["officer_c1"], Permission.CASE_READ, case)
    assert db.session.scalars(visible_cases(org["officer_c1"])).all() == []


def test_only_a_reviewer_of_the_handling_unit_recuses(org):
    from tests.conftest import make_user

    case = open_case(org["officer_c1"])
    colleague = make_user("officer.c1b", "officer", org["C1"])
    for actor in (colleague, org["reviewer_d1"]):  # an officer of the file; a reviewer above it
        with pytest.raises(NotPermitted):
            service.recuse(actor, case, org["officer_c1"])
    assert can(org["officer_c1"], Permission.CASE_READ, case)


def test_classification_makes_an_open_case_active(org):
    case = open_case(org["officer_c1"])
    service.classify(
        org["officer_c1"],
        case,
        expected_version=case.version,
        types=["domestic_violence.physical"],
        severity="S3",
        risk="high",
        gbv_type="physical_assault",
    )
    db.session.commit()
    assert case.status == "active" and case.severity == "S3" and case.classified_at is not None


def test_a_stale_classification_is_refused(org):
    from casework.errors import StaleEdit

    case = open_case(org["officer_c1"])
    old = case.version
    service.classify(
        org["officer_c1"],
        case,
        expected_version=old,
        types=["other"],
        severity="S1",
        risk=None,
        gbv_type=None,
    )
    db.session.commit()
    with pytest.raises(StaleEdit):
        service.classify(
            org["officer_c1"],
            case,
            expected_version=old,
            types=["other"],
            severity="S4",
            risk=None,
            gbv_type=None,
        )
    db.session.rollback()
    assert case.severity == "S1"
