"""The OpenAPI document is valid OpenAPI 3.1, lists every registered route, resolves every $ref, and
the API's answers match the schemas it declares."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from casework.api.registry import ROUTES
from tests.api.conftest import intake_body, is_problem, make_token
from tests.cases.conftest import open_case


def _document(api, token):  # type: ignore[no-untyped-def]
    response = api.get("/openapi.json", token)
    assert response.status_code == 200
    return response.get_json()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_the_document_is_valid_openapi_3_1_with_every_route(org, api):  # type: ignore[no-untyped-def]
    doc = _document(api, make_token(org["officer_c1"], scope="read"))
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any structural error
    for route in ROUTES.values():
        operation = doc["paths"][route.path][route.method.lower()]
        assert operation["security"] == [{"bearerToken": [route.scope]}]
        assert "401" in operation["responses"] and "429" in operation["responses"]
    refs = _refs(doc)
    assert refs
    for ref in refs:
        _resolve(doc, ref)


def test_request_schemas_come_from_the_web_forms(org, api):  # type: ignore[no-untyped-def]
    schemas = _document(api, make_token(org["officer_c1"]))["components"]["schemas"]
    intake = schemas["IntakeRequest"]
    assert set(intake["required"]) == {"received_at", "source", "summary", "victim_name"}
    assert intake["properties"]["summary"]["maxLength"] == 4000
    assert intake["properties"]["received_at"]["format"] == "date-time"
    assert "victim" in intake["properties"]["source"]["enum"]
    assert intake["properties"]["immediate_danger"]["type"] == ["boolean", "null"]
    assert intake["properties"]["types"]["type"] == ["array", "null"]
    assert intake["additionalProperties"] is False
    patch = schemas["ClassifyPatch"]
    assert "required" not in patch and "version" not in patch["properties"]
    assert "S4" in patch["properties"]["severity"]["enum"]


def _validator(doc: dict[str, Any], name: str) -> Draft202012Validator:
    registry: Registry = Registry().with_resource(
        "urn:doc", Resource.from_contents(doc, DRAFT202012)
    )
    return Draft202012Validator({"$ref": f"urn:doc#/components/schemas/{name}"}, registry=registry)


def test_answers_match_their_declared_schemas(org, api):  # type: ignore[no-untyped-def]
    token = make_token(org["officer_c1"])
    doc = _document(api, token)
    case = open_case(org["officer_c1"])
    checks = [
        ("Me", api.get("/me", token)),
        ("CaseList", api.get("/cases", token)),
        ("CaseFile", api.post("/cases", token, intake_body())),
        ("CaseView", api.get(f"/cases/{case.id}", token)),
        ("CaseView", api.get(f"/cases/{case.id}", make_token(org["reviewer_d1"]))),
        ("DeadlineBoard", api.get("/deadlines", token)),
        ("Problem", api.post("/cases", token, {"colour": "red"})),
        ("Problem", api.get("/me")),
    ]
    for name, response in checks:
        errors = list(_validator(doc, name).iter_errors(response.get_json()))
        assert not errors, (name, errors[:1])


def test_the_document_needs_a_token(org, api):  # type: ignore[no-untyped-def]
    assert is_problem(api.get("/openapi.json"), 401, "unauthenticated")
