"""Data-protection fixtures: the case organisation, a case with two people, and the shred ledger
kept in the test's own folder."""

from __future__ import annotations

import pytest

from casework.cases import people
from casework.extensions import db
from tests.cases.conftest import open_case, org  # noqa: F401 (fixture)

SISTER = "Trần Thị Minh Khuê"
SISTER_PHONE = "0987 654 321"
HUSBAND = "Lê Văn Quyết"


@pytest.fixture(autouse=True)
def _ledger(app, tmp_path):  # type: ignore[no-untyped-def]
    app.config["SHRED_LEDGER_FILE"] = str(tmp_path / "shred-ledger.jsonl")
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")


@pytest.fixture
def family(org):  # type: ignore[no-untyped-def]  # noqa: F811
    """A C1 case: the canary victim, her sister (a second victim) and the alleged perpetrator."""
    case = open_case(org["officer_c1"])
    sister = people.add_person(
        org["officer_c1"],
        case,
        role="victim",
        full_name=SISTER,
        sex="female",
        phone=SISTER_PHONE,
        address="Thôn Đông, xã Hòa Bình",
    )
    husband = people.add_person(
        org["officer_c1"], case, role="perpetrator", full_name=HUSBAND, sex="male"
    )
    db.session.commit()
    victim = next(p for p in case.people if p.role == "victim" and p.id != sister.id)
    return {"case": case, "victim": victim, "sister": sister, "husband": husband}
