"""Workflow fixtures reuse the case organisation (tests/cases/conftest.py) and its partners."""

from tests.cases.conftest import org  # noqa: F401 (fixture)
from tests.referrals.conftest import partners  # noqa: F401 (fixture)
