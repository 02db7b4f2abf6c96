"""Report fixtures: the case organisation (tests/cases/conftest.py) and hand-placed cases.

Times are chosen in Vietnam's local time (UTC+7) so that month boundaries at local midnight are
tested: 31 March 23:30 local is 16:30 UTC on 31 March, 1 April 00:30 local is 17:30 UTC on 31 March.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from casework.cases import people, service
from casework.extensions import db
from tests.cases.conftest import open_case, org  # noqa: F401 (fixture)
from tests.conftest import CANARY

VN = timezone(timedelta(hours=7))


def local(*args: int) -> datetime:
    """A moment given in Vietnam's local time, as a UTC datetime."""
    return datetime(*args, tzinfo=VN).astimezone(UTC)


def case_at(officer, when: datetime, *, severity: str | None = None, **fields):  # type: ignore[no-untyped-def]
    """A case received at `when`, classified at `severity` when given (classified when received)."""
    case = open_case(officer, received_at=when, **fields)
    if severity is not None:
        service.classify(
            officer,
            case,
            expected_version=case.version,
            types=fields.get("types", ["domestic_violence.physical"]),
            severity=severity,
            risk="medium",
            gbv_type=None,
        )
        case.classified_at = when
        if case.reportable_since is not None:
            case.reportable_since = when
        db.session.commit()
    return case


def add_perpetrator(officer, case, kind: str = "spouse"):  # type: ignore[no-untyped-def]
    victim = next(p for p in case.people if p.role == "victim")
    man = people.add_person(officer, case, role="perpetrator", full_name="Trần Văn B", sex="male")
    people.add_relationship(officer, case, man, victim, kind)
    db.session.commit()
    return man


@pytest.fixture
def canary() -> str:
    return CANARY
