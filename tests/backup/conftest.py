"""Backup fixtures reuse the case organisation (tests/cases/conftest.py)."""

from tests.cases.conftest import org  # noqa: F401 (fixture)
