"""Case fixtures: a tree with two communes per district, staff at each level, and an intake helper."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.cases import service
from casework.db import utcnow
from casework.extensions import db
from tests.conftest import CANARY, make_tree, make_user


@pytest.fixture
def org(ctx):  # type: ignore[no-untyped-def]
    """TW → HY → D1 → C1, D2 → C2, with an officer at each commune and reviewers above."""
    tree = make_tree()
    people = {
        "officer_c1": make_user("officer.c1", "officer", tree["C1"]),
        "officer_c2": make_user("officer.c2", "officer", tree["C2"]),
        "reviewer_d1": make_user("reviewer.d1", "reviewer", tree["D1"]),
        "reviewer_d2": make_user("reviewer.d2", "reviewer", tree["D2"]),
        "reviewer_hy": make_user("reviewer.hy", "reviewer", tree["HY"]),
        "admin": make_user("admin.tw", "admin", tree["TW"]),
        "auditor": make_user("auditor.tw", "auditor", tree["TW"]),
    }
    return {**tree, **people}


def open_case(officer, **overrides):  # type: ignore[no-untyped-def]
    """An intake through the service, committed; the victim is the canary unless told otherwise."""
    fields = {
        "received_at": utcnow() - timedelta(minutes=30),
        "source": "victim",
        "types": ["domestic_violence.physical"],
        "summary": f"{CANARY} was beaten by her husband last night.",
        "victim_name": CANARY,
        "victim_phone": "0912 345 678",
        "safe_contact": "Call after 9 am, say you are from the health station",
    }
    fields.update(overrides)
    result = service.open_case(officer, **fields)
    db.session.commit()
    return result.case


def classified_case(officer, severity: str = "S3"):  # type: ignore[no-untyped-def]
    """An intake classified as domestic violence at the severity (S3: a quick report is due) and
    high risk, so it is active; committed."""
    case = open_case(officer)
    service.classify(
        officer,
        case,
        expected_version=case.version,
        types=["domestic_violence"],
        severity=severity,
        risk="high",
        gbv_type=None,
    )
    db.session.commit()
    return case
