"""The app refuses to start, before serving, when its keys cannot read its data."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import update

from casework import ConfigError, create_app
from casework.cli import main
from casework.crypto import selfcheck
from casework.crypto.models import DataKey
from casework.extensions import db
from tests.crypto.conftest import crypto_config
from tests.crypto.models import Victim


def _start(tmp_path: Path, **overrides: object) -> Flask:
    return create_app(crypto_config(tmp_path, CRYPTO_SELFCHECK=True, **overrides))


def _with_data(capp: Flask) -> None:
    with capp.app_context():
        db.session.add(Victim(full_name="Đỗ Thị Ngọc"))
        db.session.commit()


def test_a_healthy_app_starts(capp: Flask, tmp_path: Path) -> None:
    _with_data(capp)
    _start(tmp_path)


def test_a_missing_master_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No master key"):
        _start(tmp_path, MASTER_KEYRING_FILE=str(tmp_path / "nowhere.json"))


def test_a_master_key_of_the_wrong_size_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "short.json"
    short = base64.b64encode(bytes(16)).decode()
    path.write_text(json.dumps({"primary": "mk-a", "keys": [{"id": "mk-a", "key": short}]}))
    with pytest.raises(ConfigError, match="exactly 32 are required"):
        _start(tmp_path, MASTER_KEYRING_FILE=str(path))


def test_data_keys_wrapped_by_an_unknown_key_id_refuse_to_start(
    capp: Flask, tmp_path: Path
) -> None:
    _with_data(capp)
    with capp.app_context():
        db.session.execute(update(DataKey).values(master_key_id="mk-lost"))
        db.session.commit()
    with pytest.raises(ConfigError, match="'mk-lost', which the keyring does not hold"):
        _start(tmp_path)


def test_a_different_key_under_the_right_id_refuses_to_start(capp: Flask, tmp_path: Path) -> None:
    _with_data(capp)
    path = Path(capp.config["MASTER_KEYRING_FILE"])
    data = json.loads(path.read_text())
    data["keys"][0]["key"] = base64.b64encode(bytes(32)).decode()  # same id, other bytes
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="does not unwrap"):
        _start(tmp_path, MASTER_KEYRING_FILE=str(forged))


def test_a_failing_known_answer_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = bytearray(base64.b64decode(selfcheck.KAT_CIPHERTEXT))
    broken[-1] ^= 1
    monkeypatch.setattr(selfcheck, "KAT_CIPHERTEXT", base64.b64encode(bytes(broken)).decode())
    with pytest.raises(ConfigError, match="Encryption self-check failed"):
        _start(tmp_path)


def test_the_command_line_exits_non_zero_with_the_message(
    capp: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_data(capp)
    with capp.app_context():
        db.session.execute(update(DataKey).values(master_key_id="mk-lost"))
        db.session.commit()
    config = crypto_config(tmp_path, CRYPTO_SELFCHECK=True)
    import casework

    # The real entry point, as `casework keys status` runs it, with this test's configuration.
    monkeypatch.setattr(casework, "create_app", lambda *a, **k: create_app(config))
    result = CliRunner().invoke(main, ["keys", "status"])
    assert result.exit_code == 1
    assert "casework: lỗi cấu hình: Tự kiểm tra mã hóa không đạt" in result.output
    assert "khóa dữ liệu được bảo vệ bằng khóa chủ 'mk-lost'" in result.output
