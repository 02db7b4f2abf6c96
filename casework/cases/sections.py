"""What the case file page shows below the intake, gathered section by section.

Each area of the file (people, consent, timeline, support, attachments) contributes one entry, so the
file view stays one query per section and each area keeps its own code.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from casework.accounts.models import User
from casework.cases.models import Case, Person
from casework.extensions import db


def people(case: Case) -> list[Person]:
    return list(
        db.session.scalars(
            select(Person).where(Person.case_id == case.id).order_by(Person.created_at)
        )
    )


def for_file(actor: User, case: Case) -> dict[str, Any]:
    return {"people": people(case)}
