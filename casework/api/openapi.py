"""The OpenAPI 3.1 document, generated from the route registry, the WTForms request forms and the
response schemas (api/schemas.py) on every request: nothing here is written by hand per endpoint.

Form fields map to JSON schema as api/jsonforms.field_schema says: StringField → string (maxLength
from Length), SelectField → enum of the choices' codes, SelectMultipleField → array of that enum,
BooleanField → boolean, IntegerField → integer, date-time fields → string/date-time; required from
DataRequired/InputRequired; optional members may be null.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, jsonify
from flask_wtf import FlaskForm

from casework.api import bp, schemas
from casework.api.jsonforms import api_fields, field_schema, is_required
from casework.api.problems import KINDS, MEDIA_TYPE
from casework.api.registry import ROUTES, Route, route

VERSION = "1.0.0"
ALWAYS = (401, 429, 500)  # any endpoint may answer these
_TITLES: dict[int, object] = {}
for _status, _title, _detail in KINDS.values():
    _TITLES.setdefault(_status, _title)  # the first kind of a status is its general one


def _form_schema(route_: Route, form_class: type[FlaskForm]) -> tuple[str, dict[str, Any]]:
    form = form_class(formdata=None, meta={"csrf": False})
    fields = api_fields(form)
    partial = route_.method == "PATCH"  # a merge patch: members not sent keep their value
    name = form_class.__name__.removeprefix("Api").removesuffix("Form")
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: field_schema(f) for f in fields},
        "additionalProperties": False,
    }
    required = [] if partial else [f.name for f in fields if is_required(f)]
    if required:
        schema["required"] = required
    return name + ("Patch" if partial else "Request"), schema


def _parameters(route_: Route) -> list[dict[str, Any]]:
    params = [
        {
            "name": p.name,
            "in": p.where,
            "required": p.required or p.where == "path",
            "schema": p.schema,
            **({"description": p.description} if p.description else {}),
        }
        for p in route_.params
    ]
    if route_.if_match:
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": True,
                "description": "The ETag of the record as read; 412 when it has changed since.",
                "schema": {"type": "string"},
            }
        )
    return params


def _success(route_: Route) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if route_.etag:
        headers["ETag"] = {
            "description": "The record's version.",
            "schema": {"type": "string"},
        }
    if route_.status == 201:
        headers["Location"] = {"description": "The new record.", "schema": {"type": "string"}}
    answer: dict[str, Any] = {"description": "OK"}
    if route_.response:
        answer["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{route_.response}"}}
        }
    if headers:
        answer["headers"] = headers
    return answer


def _operation(route_: Route, request_schemas: schemas.Components) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route_.endpoint.removeprefix("api."),
        "summary": route_.summary,
        "security": [{"bearerToken": [route_.scope]}],
        "x-scope": route_.scope,
        "responses": {str(route_.status): _success(route_)},
    }
    for status in sorted({*ALWAYS, *route_.problems}):
        op["responses"][str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    if route_.form is not None:
        name, schema = _form_schema(route_, route_.form)
        request_schemas[name] = schema  # raises when another form's schema has this name
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    params = _parameters(route_)
    if params:
        op["parameters"] = params
    return op


def document(
    routes: Iterable[Route] | None = None, answers: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The document of `routes` (all registered ones) with the response schemas `answers` (SCHEMAS).
    Raises schemas.DuplicateComponent when two different schemas would share a component name."""
    paths: dict[str, dict[str, Any]] = {}
    # Request schemas are checked against each other and against the response schemas alike.
    components = schemas.Components(schemas.SCHEMAS if answers is None else answers)
    statuses: set[int] = set(ALWAYS)
    chosen = ROUTES.values() if routes is None else routes
    for route_ in sorted(chosen, key=lambda r: (r.path, r.method)):
        paths.setdefault(route_.path, {})[route_.method.lower()] = _operation(route_, components)
        statuses.update(route_.problems)
    responses = {
        f"Problem{status}": {
            "description": str(_TITLES.get(status, "Error")),
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in sorted(statuses)
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "casework API",
            "version": VERSION,
            "description": "Case management of the Vietnam Women's Union. See docs/api.md.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": dict(components),
            "responses": responses,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token (My account → API tokens).",
                }
            },
        },
    }


schemas.SCHEMAS["OpenApiDocument"] = {"type": "object", "description": "This document."}


@route(
    bp,
    "GET",
    "/openapi.json",
    summary="This API's OpenAPI 3.1 document (any token, read scope)",
    response="OpenApiDocument",
)
def openapi_document() -> Response:
    return jsonify(document())
