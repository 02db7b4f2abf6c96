"""A crypto app: keyring in a file (so rotation can rewrite it), ledger and attachments in tmp,
and the test-only models' tables beside the app's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from casework import create_app, crypto
from casework.crypto.keyring import write_new_keyring
from casework.extensions import db
from tests.conftest import test_config
from tests.crypto.models import TestBase


def crypto_config(tmp_path: Path, **overrides: object) -> dict[str, object]:
    keyring = tmp_path / "keys" / "master.json"
    if not keyring.exists():
        write_new_keyring(keyring)
    settings: dict[str, object] = {
        "MASTER_KEYRING": None,
        "MASTER_KEYRING_FILE": str(keyring),
        "SHRED_LEDGER_FILE": str(tmp_path / "shred-ledger.jsonl"),
        "ATTACHMENT_DIR": str(tmp_path / "attachments"),
    }
    settings.update(overrides)
    return test_config(tmp_path, **settings)


def make_crypto_app(tmp_path: Path, **overrides: object) -> Flask:
    app = create_app(crypto_config(tmp_path, **overrides))
    crypto.register_metadata(app, TestBase.metadata)
    return app


def reset_tables(app: Flask) -> None:
    with app.app_context():
        TestBase.metadata.drop_all(db.engine)
        db.drop_all()
        db.create_all()
        TestBase.metadata.create_all(db.engine)


@pytest.fixture
def capp(tmp_path: Path) -> Iterator[Flask]:
    app = make_crypto_app(tmp_path)
    reset_tables(app)
    yield app
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name != "sqlite":
            TestBase.metadata.drop_all(db.engine)
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def cctx(capp: Flask) -> Iterator[Flask]:
    with capp.app_context():
        yield capp
