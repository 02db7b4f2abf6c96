"""The case file's record endpoints answer what their OpenAPI schemas declare."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casework.cases.models import Person
from casework.db import utcnow
from casework.extensions import db
from tests.api.conftest import make_token
from tests.api.test_openapi import _document, _validator
from tests.cases.conftest import open_case


def test_record_answers_match_their_declared_schemas(org, api):  # type: ignore[no-untyped-def]
    token = make_token(org["officer_c1"])
    doc = _document(api, token)
    case = open_case(org["officer_c1"])
    victim = db.session.scalar(select(Person).where(Person.case_id == case.id))
    base = f"/cases/{case.id}"
    when = (utcnow() - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    later = (utcnow() + timedelta(days=2)).replace(microsecond=0).isoformat()
    consent = {"subject": str(victim.id), "purposes": ["record"], "given_by": "victim"}
    consent |= {"method": "verbal", "given_at": when}
    basis = {"basis": "protect_life", "purpose": "refer_police", "note": "Danger now."}
    action = {"kind": "visit", "occurred_at": when, "description": "Visited her."}
    support = {"person": str(victim.id), "service": "medical", "provider": "unit"}
    support |= {"status": "planned"}
    assessment = {"findings": "Legal aid."}
    checks = [
        ("PersonDetails", api.post(f"{base}/people", token, {"role": "child", "full_name": "Na"})),
        ("PeopleList", api.get(f"{base}/people", token)),
        ("ConsentList", api.post(f"{base}/consent", token, consent)),
        ("LegalBasis", api.post(f"{base}/legal-bases", token, basis)),
        ("ConsentSection", api.get(f"{base}/consent", token)),
        ("Action", api.post(f"{base}/actions", token, action)),
        ("ActionTimeline", api.get(f"{base}/actions", token)),
        (
            "Assessment",
            api.post(f"{base}/assessments/needs", token, assessment, headers={"If-Match": '"0"'}),
        ),
        ("AssessmentList", api.get(f"{base}/assessments", token)),
        ("Support", api.post(f"{base}/support", token, support)),
        ("FollowUp", api.post(f"{base}/follow-ups", token, {"due_at": later})),
        ("SupportSection", api.get(f"{base}/support", token)),
        ("Problem", api.post(f"{base}/support", token, {"colour": "red"})),
    ]
    for name, response in checks:
        assert response.status_code < 500, name
        if name != "Problem":
            assert response.status_code in (200, 201), (name, response.get_json())
        errors = list(_validator(doc, name).iter_errors(response.get_json()))
        assert not errors, (name, errors[:1])
