"""The OpenAPI generator refuses two different schemas under one component name, instead of letting
one silently replace the other (clients would then be told a shape the API does not answer)."""

from __future__ import annotations

import copy

import pytest
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField

from casework.api import cases, openapi, schemas
from casework.api.registry import ROUTES, Route
from casework.api.schemas import SCHEMAS, DuplicateComponent


def _note_form(field_name: str, field_class: type) -> type[FlaskForm]:
    """A form class named ApiNoteForm (component "NoteRequest") with one field."""
    return type("ApiNoteForm", (FlaskForm,), {field_name: field_class("Note")})


def _route(path: str, form: type[FlaskForm]) -> Route:
    return Route(
        method="POST",
        path=path,
        endpoint=f"api.{path.strip('/')}",
        summary="test",
        scope="write",
        response=None,
        form=form,
    )


def test_two_forms_with_one_component_name_are_refused(ctx):  # type: ignore[no-untyped-def]
    first = _route("/first", _note_form("body", StringField))
    second = _route("/second", _note_form("count", IntegerField))
    with pytest.raises(DuplicateComponent, match="NoteRequest"):
        openapi.document(routes=[first, second])


def test_one_form_on_two_routes_is_one_component(ctx):  # type: ignore[no-untyped-def]
    form = _note_form("body", StringField)
    doc = openapi.document(routes=[_route("/first", form), _route("/second", form)])
    assert doc["components"]["schemas"]["NoteRequest"]["properties"]["body"]["type"] == [
        "string",
        "null",
    ]


def test_a_request_schema_may_not_take_a_response_schema_name(ctx):  # type: ignore[no-untyped-def]
    intake = ROUTES["api.create_case"]
    assert intake.form is cases.ApiIntakeForm
    answers = {**SCHEMAS, "IntakeRequest": {"type": "object"}}
    with pytest.raises(DuplicateComponent, match="IntakeRequest"):
        openapi.document(routes=[intake], answers=answers)


def test_a_response_schema_cannot_be_replaced_by_another(ctx):  # type: ignore[no-untyped-def]
    before = copy.deepcopy(SCHEMAS["Me"])
    with pytest.raises(DuplicateComponent, match="Me"):
        SCHEMAS["Me"] = {"type": "object"}
    with pytest.raises(DuplicateComponent):
        SCHEMAS.update({"Me": {"type": "string"}})
    assert SCHEMAS["Me"] == before
    SCHEMAS["Me"] = copy.deepcopy(before)  # the same schema again is no conflict
    assert isinstance(SCHEMAS, schemas.Components)
