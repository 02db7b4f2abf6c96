"""Every form class of the app has a fuzz spec: a new form without one fails the build."""

from __future__ import annotations

import importlib
import pkgutil

from flask_wtf import FlaskForm

import casework
import casework.formfields
from tests.fuzz.specs import SPECS


def _form_classes() -> set[type]:
    for module in pkgutil.walk_packages(casework.__path__, "casework."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: set[type] = set()
    pending = list(FlaskForm.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("casework.") and not cls.__name__.startswith("_"):
            found.add(cls)
    found.discard(casework.formfields.Form)  # the base of every form, with no field of its own
    return found


# The API's forms read JSON: schemathesis fuzzes them through the OpenAPI document
# (tests/api/test_schemathesis.py).
BY_SCHEMATHESIS = "casework.api."


def test_every_form_of_the_app_has_a_fuzz_spec():
    # Base classes (a leading underscore) hold shared fields and are fuzzed through their subclasses.
    names = {f"{c.__module__}.{c.__name__}" for c in _form_classes() - {s.form for s in SPECS}}
    missing = sorted(n for n in names if not n.startswith(BY_SCHEMATHESIS))
    assert missing == []
