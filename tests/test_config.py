"""The app refuses to start without its secrets, outside development and tests."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from casework import ConfigError, create_app


def _keyring(size: int = 32) -> str:
    key = base64.b64encode(os.urandom(size)).decode()
    return json.dumps({"primary": "k1", "keys": [{"id": "k1", "key": key}]})


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Start `casework` as an operator would, in production mode, with only the given settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    clean.update(
        {
            "CASEWORK_ENV": "production",
            "CASEWORK_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            "CASEWORK_INSTANCE_PATH": str(tmp_path / "instance"),  # empty: no stray key files
        }
    )
    clean.update(env)
    code = "from casework.cli import _create_app; _create_app(); print('started')"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = _run(tmp_path, CASEWORK_MASTER_KEYS=_keyring())
    if "started" in result.stdout:
        pytest.fail("the app started without a secret key")
    assert result.returncode == 1
    assert "casework: lỗi cấu hình: Không có khóa bí mật" in result.stderr


def test_production_refuses_to_start_without_a_master_key(tmp_path: Path) -> None:
    result = _run(tmp_path, CASEWORK_SECRET_KEY="s" * 48)
    assert result.returncode == 1 and "started" not in result.stdout
    assert "casework: lỗi cấu hình: Không có khóa chủ" in result.stderr


def test_production_refuses_a_master_key_of_the_wrong_size(tmp_path: Path) -> None:
    result = _run(tmp_path, CASEWORK_SECRET_KEY="s" * 48, CASEWORK_MASTER_KEYS=_keyring(16))
    assert result.returncode == 1
    assert "có 16 byte; cần đúng 32 byte" in result.stderr


def test_production_starts_with_both_secrets(tmp_path: Path) -> None:
    result = _run(tmp_path, CASEWORK_SECRET_KEY="s" * 48, CASEWORK_MASTER_KEYS=_keyring())
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_a_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": "short"})


def test_an_unknown_environment_name_is_refused(tmp_path: Path) -> None:
    result = _run(tmp_path, CASEWORK_ENV="staging")
    assert result.returncode == 1
    assert "CASEWORK_ENV phải là một trong các giá trị" in result.stderr
