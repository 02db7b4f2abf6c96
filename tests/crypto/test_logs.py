"""No key material in any log line, whatever the crypto package does."""

from __future__ import annotations

import base64
import logging
import uuid

import pytest
from flask import Flask

from casework.crypto import blindindex, datakeys, rotation, shredding
from casework.extensions import db
from tests.conftest import CANARY
from tests.crypto.models import Note, Victim


def _forms(secret: bytes) -> list[str]:
    return [
        secret.hex(),
        base64.b64encode(secret).decode(),
        repr(secret)[2:-1],
        secret.hex().upper(),
    ]


def test_no_key_material_or_plaintext_in_logs(
    cctx: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    victim = Victim(full_name=CANARY, phone="0912345678")
    case = uuid.uuid4()
    db.session.add_all([victim, Note(case_id=case, body=CANARY)])
    db.session.flush()
    secrets = [k.material for k in cctx.config["MASTER_KEYRING"].keys.values()]
    secrets += list(datakeys.unit_of_work(db.session()).keys.values())
    db.session.commit()
    assert blindindex.search(Victim.full_name, CANARY)
    rotation.run(cctx, grace_seconds=0)
    secrets += [k.material for k in cctx.config["MASTER_KEYRING"].keys.values()]
    shredding.shred(None, "case", case)
    db.session.commit()
    logging.getLogger("casework").info("end of test %s", victim.id)
    text = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert "end of test" in text  # the capture works
    assert CANARY not in text
    for secret in secrets:
        for form in _forms(secret):
            assert form not in text


def test_reprs_show_ids_only(cctx: Flask) -> None:
    victim = Victim(full_name=CANARY)
    db.session.add(victim)
    db.session.commit()
    uow = datakeys.unit_of_work(db.session())
    _ = victim.full_name
    for obj in (uow, cctx.config["MASTER_KEYRING"], *cctx.config["MASTER_KEYRING"].keys.values()):
        shown = repr(obj)
        for key in uow.keys.values():
            assert key.hex() not in shown and repr(key) not in shown
        assert CANARY not in shown
