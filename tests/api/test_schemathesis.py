"""schemathesis against the generated OpenAPI document, in process (WSGI): every operation gets
schema-valid (and then schema-invalid) requests from a token of the role that uses it, on a file with
real records, and must answer without a server error, with a status, content type, headers and body
that the document declares. Bounded: a few examples per operation (tens of seconds in all)."""

from __future__ import annotations

import contextvars
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from casework.cases.workflow import service as wf
from casework.extensions import db
from tests.api.conftest import make_token
from tests.api.test_action_requests_api import _ask
from tests.api.test_workflow import _closure, _escalated
from tests.cases.conftest import classified_case
from tests.referrals.conftest import give, refer, victim_of, with_secrets
from tests.workflow.test_action_requests import _moved_up

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}
# Who calls each part of the API: the role whose work it is.
CALLERS = (
    ("/audit", "auditor"),
    ("/partner", "staff_a"),
    ("/supervision", "reviewer_d1"),
    ("/quick-reports", "reviewer_d1"),
    ("/escalations", "reviewer_d1"),
    ("/closure-requests", "reviewer_d1"),
    ("/reports", "reviewer_d1"),
    ("", "officer_c1"),
)

# A report question needs a unit the caller may report on: a random code names none.
QUERIES = {"/reports": {"unit": "D1"}}


def _records(org, partners) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A serious case of C1 with a victim, consent, a referral to Shelter A and a quick report, and
    an escalation and a closure request waiting for D1, and a case moved up to D1 whose request to
    act waits for C1: the path parameters' real values."""
    case = with_secrets(classified_case(org["officer_c1"]))
    (consent,) = give(org["officer_c1"], case, "refer_shelter")
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    report = wf.send_quick_report(org["officer_c1"], case, "Beaten, now safe with a neighbour")
    db.session.commit()
    return {
        "case_id": str(case.id),
        "person_id": str(victim_of(case).id),
        "consent_id": str(consent.id),
        "referral_id": str(referral.id),
        "report_id": str(report.id),
        "escalation_id": str(_escalated(org).id),
        "request_id": str(_closure(org).id),
        "action_request_id": str(_ask(org, _moved_up(org)).id),
    }


def _caller(path: str) -> str:
    return next(role for prefix, role in CALLERS if path.startswith(prefix))


@pytest.fixture
def api_schema(app, org, partners, api):  # type: ignore[no-untyped-def]
    # The per-token rate limit is tested on its own (tests/api/test_errors.py); here it would only
    # turn the later operations' answers into 429s.
    app.config["API_RATE_PER_MINUTE"] = 1_000_000
    people = {**org, **partners}
    tokens = {role: make_token(people[role]) for _prefix, role in CALLERS}
    document = api.get("/openapi.json", tokens["officer_c1"]).get_json()
    return schemathesis.openapi.from_dict(document), tokens, _records(org, partners)


def _run(app, operation, mode: GenerationMode, token: str, ids: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    # Real records' ids, so that requests reach the services instead of stopping at a 404; in
    # the negative mode too, so that the invalid bodies and queries reach the validation.
    known = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
    query = QUERIES.get(operation.path)
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=known, query=query)

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        # The generated Authorization (a random bearer) is replaced by the caller's token.
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        db.session.commit()  # the test's own work, before the request reads the database
        # Each request in a context of its own, as a server runs it: the test's app context
        # would otherwise share `g` (and the signed-in user) between requests.
        response = contextvars.Context().run(case.call, app=app)
        case.validate_response(response, checks=CHECKS)

    check()


def test_every_operation_answers_as_its_document_says(app, api_schema):  # type: ignore[no-untyped-def]
    schema, tokens, ids = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    for operation in operations:
        token = tokens[_caller(operation.path)]
        for mode in EXAMPLES:
            _run(app, operation, mode, token, ids)
