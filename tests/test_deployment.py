"""The production server as deployed: gunicorn with deploy/gunicorn.conf.py and deploy/wsgi.py, in
production mode, behind a (simulated) nginx that sends X-Forwarded-For and X-Forwarded-Proto.
A user signs in, sees her home page, and the audit log records her real address, not the proxy's."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from casework import create_app
from casework.audit.models import AuditEvent
from casework.crypto.keyring import parse_keyring
from casework.extensions import db
from tests.conftest import PASSWORD, _reset_schema, make_tree, make_user, test_config

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
CLIENT = "203.0.113.7"  # a documentation address (RFC 5737), as nginx would forward it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, object]]:
    """gunicorn serving a database with one officer; yields its port and an app on the same data."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed (pip install -e '.[deploy]')")
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    keyring = json.dumps({"primary": "mk-deploy", "keys": [{"id": "mk-deploy", "key": key}]})
    keyring_file = tmp_path / "master.json"
    keyring_file.write_text(keyring)
    keyring_file.chmod(0o600)
    config = test_config(tmp_path, MASTER_KEYRING=parse_keyring(keyring))
    app = create_app(config)
    with app.app_context():
        _reset_schema()
        make_user("officer.c1", "officer", make_tree()["C1"])
    port = _free_port()
    env = {
        **os.environ,
        "CASEWORK_ENV": "production",
        "CASEWORK_DATABASE_URL": str(config["SQLALCHEMY_DATABASE_URI"]),
        "CASEWORK_SECRET_KEY": secrets.token_urlsafe(48),
        "CASEWORK_MASTER_KEYRING_FILE": str(keyring_file),
        "CASEWORK_INSTANCE_PATH": str(tmp_path / "instance"),
        "CASEWORK_BIND": f"127.0.0.1:{port}",
        "CASEWORK_WORKERS": "1",
        "CASEWORK_THREADS": "2",
        "CASEWORK_ARGON2_TIME_COST": "1",
        "CASEWORK_ARGON2_MEMORY_KIB": "1024",
        "CASEWORK_ARGON2_PARALLELISM": "1",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [str(gunicorn), "--config", str(ROOT / "deploy" / "gunicorn.conf.py")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start within 60 s"
                time.sleep(0.2)
        yield port, app
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()
        with app.app_context():
            db.engine.dispose()


class Client:
    """A browser behind nginx: every request arrives with the proxy's forwarded headers."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, form: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        headers = {
            "X-Forwarded-For": CLIENT,
            "X-Forwarded-Proto": "https",
            "Host": "casework.example.org",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://casework.example.org{path}"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        page = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response, page


def test_gunicorn_serves_a_sign_in_behind_the_proxy(served) -> None:  # type: ignore[no-untyped-def]
    port, app = served
    client = Client(port)
    response, page = client.send("GET", "/login")
    assert response.status == 200
    # Served as HTTPS (the proxy said so): HSTS, a Secure session cookie, the security headers.
    assert "max-age" in (response.getheader("Strict-Transport-Security") or "")
    assert "default-src 'none'" in (response.getheader("Content-Security-Policy") or "")
    assert all("Secure" in c for c in response.headers.get_all("Set-Cookie") or [])
    token = TOKEN.search(page).group(1)  # type: ignore[union-attr]

    response, _ = client.send(
        "POST", "/login", {"username": "officer.c1", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status == 303, "the officer could not sign in"
    response, page = client.send("GET", "/")
    assert response.status == 200
    assert "Staff officer.c1" in page  # her name in the header: she is signed in

    with app.app_context():
        login = db.session.scalars(
            select(AuditEvent).where(AuditEvent.tag == "account:login:password")
        ).all()
    client.conn.close()
    assert [e.client_address for e in login] == [CLIENT]


def test_a_wrong_password_under_gunicorn_is_refused_with_the_generic_message(served) -> None:  # type: ignore[no-untyped-def]
    port, _app = served
    client = Client(port)
    _, page = client.send("GET", "/login")
    token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
    response, page = client.send(
        "POST",
        "/login",
        {"username": "officer.c1", "password": "not it at all", "csrf_token": token},
    )
    assert response.status == 401
    assert "officer.c1" not in response.getheader("Location", "")
    response, _ = client.send("GET", "/cases/")
    client.conn.close()
    assert response.status in (302, 303)  # still signed out
