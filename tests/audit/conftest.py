"""Audit fixtures reuse the case organisation (tests/cases/conftest.py) and the crypto app whose
keyring is a file that rotation rewrites (tests/crypto/conftest.py)."""

from tests.cases.conftest import org  # noqa: F401 (fixture)
from tests.crypto.conftest import capp, cctx  # noqa: F401 (fixtures)
