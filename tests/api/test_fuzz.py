"""Any JSON object sent to intake or classification gets a created case or a problem document,
never a server error, and a refused body changes nothing (a bounded property test; schemathesis
would do the same from the OpenAPI document)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from casework.cases.models import Case
from casework.extensions import db
from tests.api.conftest import answers_for, intake_body, make_token
from tests.cases.conftest import open_case

NAMES = [*intake_body().keys(), "reporter_relation", "colour", "severity", "types"]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
BODIES = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=6).map(
    lambda changes: intake_body(**changes)
)


LIMITS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@LIMITS
@given(body=BODIES)
def test_intake_never_fails_with_a_server_error(org, api, body):  # type: ignore[no-untyped-def]
    token = make_token(org["officer_c1"])
    before = db.session.scalar(select(func.count(Case.id)))
    response = api.post("/cases", token, body)
    after = db.session.scalar(select(func.count(Case.id)))
    assert response.status_code in answers_for(body, 201), response.get_data(as_text=True)
    assert after == before + (1 if response.status_code == 201 else 0)


@LIMITS
@given(body=st.dictionaries(st.sampled_from(["types", "severity", "risk", "gbv_type"]), VALUES))
def test_classification_never_fails_with_a_server_error(org, api, body):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    response = api.patch(
        f"/cases/{case.id}/classification", token, body, headers={"If-Match": f'"{case.version}"'}
    )
    assert response.status_code in answers_for(body, 200), response.get_data(as_text=True)
    if response.status_code in (400, 422):
        db.session.expire_all()
        assert db.session.get(Case, case.id).version == case.version
