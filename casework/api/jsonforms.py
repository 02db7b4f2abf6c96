"""JSON bodies through the web's WTForms forms: one validation for both doors.

The body must be a JSON object whose members are the form's fields with the JSON type each field
takes (the same mapping that writes the OpenAPI schema, `field_schema`); unknown members are refused.
Then the form validates as it does for the web, with CSRF off (a bearer token is no cookie).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    DateTimeLocalField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length

from casework.api.problems import Problem
from casework.security import NUL_REFUSED

F = TypeVar("F", bound=FlaskForm)

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "array": (list,),
}


_EXPECTED = {
    "string": _l("Expected text."),
    "boolean": _l("Expected true or false."),
    "integer": _l("Expected a whole number."),
    "array": _l("Expected a list of codes."),
}


class Rfc3339Field(Field):
    """A moment as RFC 3339 text with its offset ("2026-11-29T08:30:00+07:00"), kept in UTC.
    The web's form takes Vietnam's local time without an offset; an API client says which it means."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        try:
            moment = datetime.fromisoformat(str(valuelist[0]).replace("Z", "+00:00"))
            # A moment at the calendar's edge (year 1 or 9999) may have no UTC equivalent.
            self.data = moment.astimezone(UTC) if moment.tzinfo is not None else None
        except (ValueError, OverflowError):
            self.data = None
        if self.data is None:
            raise ValueError(_l("Give a date and time with its offset, as in RFC 3339."))


def api_fields(form: FlaskForm) -> list[Field]:
    """The fields a client sends: everything but hidden ones (versions travel in If-Match)."""
    return [f for f in form if not isinstance(f, HiddenField) and f.name != "csrf_token"]


def is_required(field: Field) -> bool:
    return any(isinstance(v, (DataRequired, InputRequired)) for v in field.validators)


def _codes(field: SelectField) -> list[str]:
    return [str(value) for value, *_rest in field.choices or [] if value != ""]


def field_schema(field: Field) -> dict[str, Any]:
    """The JSON schema of a form field (see the module docstring of api/openapi.py)."""
    schema: dict[str, Any]
    if isinstance(field, SelectMultipleField):
        schema = {"type": "array", "items": {"type": "string", "enum": _codes(field)}}
    elif isinstance(field, SelectField):
        schema = {"type": "string", "enum": _codes(field)}
    elif isinstance(field, BooleanField):
        schema = {"type": "boolean"}
    elif isinstance(field, IntegerField):
        schema = {"type": "integer"}
    elif isinstance(field, (Rfc3339Field, DateTimeField, DateTimeLocalField)):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(field, DateField):
        schema = {"type": "string", "format": "date"}
    elif isinstance(field, StringField):
        schema = {"type": "string"}
        for v in field.validators:
            if isinstance(v, Length):
                if v.max is not None and v.max >= 0:
                    schema["maxLength"] = v.max
                if v.min is not None and v.min > 0:
                    schema["minLength"] = v.min
    else:
        raise TypeError(f"no JSON schema for {type(field).__name__}")
    if field.label and field.label.text:
        schema["title"] = str(field.label.text)
    if not is_required(field):
        # Optional members may be sent as null, meaning "none".
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


NUL_CHARACTER = b"\\u0000"  # JSON's only way to write one (a raw NUL byte is not valid JSON)


def read_json() -> dict[str, Any]:
    """The body as a JSON object: 415 unless application/json, 400 when malformed."""
    if not request.is_json:
        raise Problem("unsupported-media-type")
    raw = request.get_data(cache=True)  # 413 here when over the API's body limit
    if NUL_CHARACTER in raw.lower():
        # PostgreSQL can store no NUL in a text column: refused here, with its reason.
        raise Problem("bad-request", NUL_REFUSED)
    body = request.get_json(silent=True)
    if body is None:
        raise Problem("bad-json")
    if not isinstance(body, dict):
        raise Problem("invalid", _l("The body must be a JSON object."))
    return body


def _type_error(field: Field, value: Any) -> str | None:
    expected = field_schema(field)["type"]
    kind = expected[0] if isinstance(expected, list) else expected
    if value is None:
        return None if isinstance(expected, list) else str(_l("This information is required."))
    ok = isinstance(value, _JSON_TYPES[kind]) and not (
        kind == "integer" and isinstance(value, bool)
    )
    if ok and kind == "array":
        ok = all(isinstance(item, str) for item in value)
    if ok:
        return None
    return str(_EXPECTED[kind])


def _formdata(fields: dict[str, Field], body: dict[str, Any]) -> MultiDict[str, Any]:
    data: MultiDict[str, Any] = MultiDict()
    for name, value in body.items():
        if value is None or value is False:
            continue  # absent: a checkbox left unticked, an optional field left empty
        if isinstance(value, list):
            for item in value:
                data.add(name, item)
        elif value is True:
            data.add(name, "y")
        else:
            data.add(name, str(value) if isinstance(fields[name], IntegerField) else value)
    return data


def validated(form_class: type[F], body: dict[str, Any]) -> F:
    """The form filled from a JSON object and validated; 422 with errors by field otherwise."""
    form = form_class(formdata=None, meta={"csrf": False})
    fields = {f.name: f for f in api_fields(form)}
    errors: dict[str, list[str]] = {}
    for name, value in body.items():
        if name not in fields:
            errors[name] = [str(_l("Unknown field."))]
        elif (message := _type_error(fields[name], value)) is not None:
            errors[name] = [message]
    if errors:
        raise Problem("invalid", errors=errors)
    form = form_class(formdata=_formdata(fields, body), meta={"csrf": False})
    if not form.validate():
        raise Problem(
            "invalid", errors={name: [str(m) for m in msgs] for name, msgs in form.errors.items()}
        )
    return form
