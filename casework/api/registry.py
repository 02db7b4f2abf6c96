"""The API's route registry: each endpoint declares its method, path, scope, request form and
response schema once, and the same record serves Flask (routing), the guard (scope) and the OpenAPI
document (api/openapi.py), so the document cannot drift from the code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint
from flask_wtf import FlaskForm

View = Callable[..., Any]


@dataclass(frozen=True)
class Param:
    """A query or path parameter: name, JSON schema, description."""

    name: str
    schema: dict[str, Any]
    description: str = ""
    where: str = "query"
    required: bool = False


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI style: /cases/{case_id}
    endpoint: str
    summary: str
    scope: str  # "read" or "write"
    response: str | None  # name of a schema in schemas.SCHEMAS
    status: int = 200
    form: type[FlaskForm] | None = None
    params: tuple[Param, ...] = ()
    problems: tuple[int, ...] = ()  # error statuses beyond 401, 429 and 500, which all may give
    etag: bool = False  # the response carries an ETag
    if_match: bool = False  # the request needs If-Match (412 stale, 428 missing)
    extra: dict[str, Any] = field(default_factory=dict)


ROUTES: dict[str, Route] = {}


def _flask_rule(path: str) -> str:
    """/cases/{case_id} → /cases/<uuid:case_id> (every path parameter of this API is a UUID)."""
    return path.replace("{", "<uuid:").replace("}", ">")


def route(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    summary: str,
    scope: str | None = None,
    response: str | None = None,
    **options: Any,
) -> Callable[[View], View]:
    """Register a view on the blueprint and in ROUTES; scope defaults to read for GET, else write."""

    def decorate(view: View) -> View:
        endpoint = f"{bp.name}.{view.__name__}"
        ROUTES[endpoint] = Route(
            method=method,
            path=path,
            endpoint=endpoint,
            summary=summary,
            scope=scope or ("read" if method == "GET" else "write"),
            response=response,
            **options,
        )
        bp.add_url_rule(_flask_rule(path), view_func=view, methods=[method])
        return view

    return decorate


def for_endpoint(endpoint: str | None) -> Route | None:
    return ROUTES.get(endpoint or "")
