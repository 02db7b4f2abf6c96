"""Every web form under hostile input: arbitrary Unicode, control characters, huge text, odd dates and
numbers, unknown choices, missing fields. Each submission ends in a success or a clean refusal (422
with the error shown, 409, 401, 429) that stored nothing; never a server error.

The forms are fuzzed by area, one world per area (building it is the slow part): the specs of an
area run in order, those that end a case's ordinary work (closure, escalation) last."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import LIMITS, Spec, draw_submission, judge
from tests.fuzz.specs import SPECS


def area(spec: Spec) -> str:
    module = spec.form.__module__
    if ".referrals." in module:
        return "referrals"
    if "timeline" in module or "workflow" in module:
        return "timeline and workflow"
    if module.startswith("casework.cases."):
        return "case file"
    return "accounts, administration, audit, reports"


AREAS = sorted({area(s) for s in SPECS})


def fuzz(spec: Spec, world: dict[str, Any], browser: Any, token: str) -> None:
    @LIMITS
    @given(data=st.data())
    def submit(data: st.DataObject) -> None:
        form = draw_submission(data, spec, spec.valid(world))
        judge(browser, spec, spec.url(world), form, token)

    submit()


@pytest.mark.parametrize("name", AREAS)
def test_hostile_submissions_are_refused_cleanly_or_done(world, signed_in, name):  # type: ignore[no-untyped-def]
    for spec in [s for s in SPECS if area(s) == name]:
        browser, token = signed_in(spec.user)
        fuzz(spec, world, browser, token)
