"""Retention fixtures: the case organisation with a province reviewer, and closed cases whose
closure is moved into the past (the clock-free way to make a retention period end)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from casework.cases import service as cases
from casework.cases.models import Case
from casework.cases.workflow import service as wf
from casework.extensions import db
from tests.cases.conftest import open_case, org  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def _instance_files(app, tmp_path):  # type: ignore[no-untyped-def]
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    app.config["SHRED_LEDGER_FILE"] = str(tmp_path / "shred-ledger.jsonl")


def closed_case(org, *, days_ago: float, types=("domestic_violence.physical",), **fields):  # type: ignore[no-untyped-def]  # noqa: F811
    """A case opened, classified and closed through the services, its closure then moved back."""
    officer = org["officer_c1"]
    case = open_case(officer, types=list(types), **fields)
    cases.classify(
        officer,
        case,
        expected_version=case.version,
        types=list(types),
        severity="S2",
        risk="low",
        gbv_type=None,
    )
    request = wf.request_closure(officer, case, "resolved", "Violence stopped; victim safe.")
    wf.approve_closure(org["reviewer_d1"], request)
    db.session.commit()
    moved = case.closed_at - timedelta(days=days_ago)
    db.session.execute(update(Case).where(Case.id == case.id).values(closed_at=moved))
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Case, case.id)
