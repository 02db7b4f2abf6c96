"""Fixtures: a fresh app and database per test (SQLite file, or PostgreSQL when
CASEWORK_TEST_DATABASE_URL is set), factories that go through the services, and a browser-like client
that carries CSRF tokens."""

from __future__ import annotations

import base64
import contextvars
import functools
import json
import os
import re
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, select, text

from casework import create_app
from casework.accounts import service as accounts
from casework.accounts import totp
from casework.accounts import users as user_admin
from casework.accounts.models import Unit, User
from casework.crypto.keyring import parse_keyring
from casework.errors import Invalid
from casework.extensions import db

PASSWORD = "correct horse battery staple"
CANARY = "Canary Nguyễn Thị Hoàng Yến"  # a victim's name that must never leak anywhere


def audit_text() -> str:
    """Every column of the audit log that a careless caller could fill with words (not timestamps,
    request ids or hashes, whose digits would match a phone number by chance)."""
    rows = db.session.execute(
        text(
            "SELECT actor_role, tag, object_type, object_id, outcome, client_address, details "
            "FROM audit_event ORDER BY seq"
        )
    ).all()
    return repr(rows)


@contextmanager
def sql_sent() -> Iterator[list[tuple[str, object]]]:
    """The statements (text as sent, parameters) the app sends to the database inside the block."""
    from sqlalchemy import event

    sent: list[tuple[str, object]] = []

    def note(_conn, _cursor, statement, parameters, *_rest):  # type: ignore[no-untyped-def]
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of one database's own mechanism run only on that database (deselected elsewhere)."""
    on_postgresql = bool(os.environ.get("CASEWORK_TEST_DATABASE_URL", "").startswith("postgresql"))
    other = "sqlite_only" if on_postgresql else "postgresql_only"
    kept = [item for item in items if other not in item.keywords]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if other in i.keywords])
        items[:] = kept


def _keyring_json() -> str:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return json.dumps({"primary": "mk-test", "keys": [{"id": "mk-test", "key": key}]})


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the network (loopback databases excepted)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "::1", "localhost")
            and not host.startswith("/")
        ):
            raise RuntimeError(f"network access attempted in a test: {host}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


_worker_databases: list[str] = []


def _server_engine(url: str):  # type: ignore[no-untyped-def]
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


@functools.cache
def _database_url() -> str | None:
    """CASEWORK_TEST_DATABASE_URL; under pytest-xdist each worker gets a PostgreSQL database of its
    own beside it (created here, dropped when the worker ends)."""
    url = os.environ.get("CASEWORK_TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker or not url.startswith("postgresql"):
        return url
    own = make_url(url)
    own = own.set(database=f"{own.database}_{worker}")
    server = _server_engine(url)
    with server.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    server.dispose()
    _worker_databases.append(own.render_as_string(hide_password=False))
    return _worker_databases[-1]


def pytest_sessionfinish(session: pytest.Session) -> None:
    for url in _worker_databases:
        server = _server_engine(url)
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        server.dispose()


def test_config(tmp_path: object, **overrides: object) -> dict[str, object]:
    url = _database_url() or f"sqlite:///{tmp_path}/test.db"
    config: dict[str, object] = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "MASTER_KEYRING": parse_keyring(_keyring_json()),
        # Cheap hashing keeps the suite fast; production parameters are tested on their own.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
        "ARGON2_PARALLELISM": 1,
    }
    config.update(overrides)
    return config


test_config.__test__ = False  # type: ignore[attr-defined]


def drop_everything() -> None:
    """Drop every table, Alembic's bookkeeping included (PostgreSQL databases outlive a test)."""
    from sqlalchemy import text

    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


# PostgreSQL databases outlive a test: a schema created once is emptied between tests (deleting the
# few rows is far cheaper than dropping and creating some forty tables), unless a test changed its shape (the migration
# and guard tests drop and rebuild it), in which case it is created afresh.
_FRESH_SHAPE: dict[
    str, tuple[int, int]
] = {}  # database URL → (tables, triggers) just after create_all
_SHAPE = text(
    "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()),"
    " (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)"
)


def _shape() -> tuple[int, int]:
    with db.engine.connect() as conn:
        tables, triggers = conn.execute(_SHAPE).one()
    return tables, triggers


_RESTART_SEQUENCES = text(
    "SELECT setval(c.oid, 1, false) FROM pg_class c"
    " WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
)


def _empty_tables() -> None:
    """DELETE, not TRUNCATE: on a few rows it is several times faster (no new files to create)."""
    with db.engine.begin() as conn:
        # The audit tables refuse deletes through their triggers, and foreign keys are triggers too:
        # a replica session fires none of them.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(_RESTART_SEQUENCES)


def _reset_schema() -> None:
    if db.engine.dialect.name == "postgresql":
        url = db.engine.url.render_as_string(hide_password=False)
        if _FRESH_SHAPE.get(url) == _shape():
            _empty_tables()
            return
        drop_everything()
        db.create_all()
        _FRESH_SHAPE[url] = _shape()
        return
    drop_everything()
    db.create_all()


@pytest.fixture
def app(tmp_path: object) -> Iterator[Flask]:
    app = create_app(test_config(tmp_path))
    with app.app_context():
        _reset_schema()
    yield app
    with app.app_context():
        db.session.remove()  # the SQLite file goes with tmp_path; PostgreSQL's is emptied next time
        db.engine.dispose()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An application context for calling services directly (the test commits, as a request would)."""
    with app.app_context():
        yield


class Browser:
    """A test client that behaves like a browser: HTTPS, cookies, and the form's CSRF token."""

    TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def _isolated(self, call, *args, **kw):  # type: ignore[no-untyped-def]
        """Run a request as a browser would: in its own app context, after the test's own work
        is committed (a test that set data up in an app context must not share `g` or hold
        SQLite's write lock while the request runs)."""
        from flask import has_app_context

        if has_app_context():
            db.session.commit()

        def request_and_read():  # type: ignore[no-untyped-def]
            response = call(*args, **kw)
            response.get_data()  # a streamed body must be read inside the request's context
            return response

        return contextvars.Context().run(request_and_read)

    def get(self, url: str, **kw: object):  # type: ignore[no-untyped-def]
        return self._isolated(self.client.get, url, **kw)

    def open(self, url: str, **kw: object):  # type: ignore[no-untyped-def]
        return self._isolated(self.client.open, url, **kw)

    def raw_post(self, url: str, **kw: object):  # type: ignore[no-untyped-def]
        return self._isolated(self.client.post, url, **kw)

    def token(self, page: str = "/login") -> str:
        html = self.get(page).get_data(as_text=True)
        match = self.TOKEN.search(html)
        if match is None:
            # Signed-in pages redirect /login home; every page carries the footer's token.
            html = self.get("/", follow_redirects=True).get_data(as_text=True)
            match = self.TOKEN.search(html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def post(
        self,
        url: str,
        data: dict[str, object] | None = None,
        *,
        page: str | None = None,
        **kw: object,
    ):  # type: ignore[no-untyped-def]
        form = dict(data or {})
        form.setdefault("csrf_token", self.token(page or url))
        return self._isolated(self.client.post, url, data=form, **kw)

    def login(self, username: str, password: str = PASSWORD, code: str | None = None):  # type: ignore[no-untyped-def]
        response = self.post("/login", {"username": username, "password": password})
        if code is not None and response.status_code == 303 and "/login/code" in response.location:
            response = self.post("/login/code", {"code": code})
        return response


def _https_client(app: Flask, lang: str | None) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # Secure cookies, as in production
    if lang:
        # As if the user had chosen the language in the footer (tests read English messages).
        with contextvars.Context().run(client.session_transaction) as sess:
            sess["lang"] = lang
    return client


@pytest.fixture
def browser(app: Flask) -> Browser:
    """A browser whose user chose English; `new_browser(lang=None)` gives the Vietnamese default."""
    return Browser(_https_client(app, "en"))


@pytest.fixture
def new_browser(app: Flask):  # type: ignore[no-untyped-def]
    return lambda lang="en": Browser(_https_client(app, lang))


# --- Factories: real objects, made through the services ---------------------------------------


def make_unit(
    code: str, level: str = "commune", parent: Unit | None = None, name: str | None = None
) -> Unit:
    from casework.accounts import units

    unit = units.create_unit(
        None, code=code, name=name or f"Unit {code}", level=level, parent=parent
    )
    db.session.commit()
    return unit


def make_tree() -> dict[str, Unit]:
    """central → province → two districts → a commune each."""
    tw = make_unit("TW", "central")
    hy = make_unit("HY", "province", tw)
    d1 = make_unit("D1", "district", hy)
    d2 = make_unit("D2", "district", hy)
    c1 = make_unit("C1", "commune", d1)
    c2 = make_unit("C2", "commune", d2)
    return {"TW": tw, "HY": hy, "D1": d1, "D2": d2, "C1": c1, "C2": c2}


def make_partner(  # type: ignore[no-untyped-def]
    name: str = "Shelter A",
    kind: str = "shelter",
    units: list[Unit] | None = None,
    services: tuple[str, ...] | None = None,
):
    """A partner offering `services` (default: what its kind usually offers)."""
    from casework.referrals.models import DEFAULT_SERVICES, Partner

    offered = services if services is not None else DEFAULT_SERVICES[kind]
    partner = Partner(name=name, kind=kind, services=",".join(offered))
    partner.units_served = list(units or [])
    db.session.add(partner)
    db.session.commit()
    return partner


def make_user(
    username: str,
    role: str = "officer",
    unit: Unit | None = None,
    partner: object = None,
    *,
    with_totp: bool | None = None,
) -> User:
    """A user with PASSWORD; with_totp (default: when the role requires it) enrols a second factor."""
    user, _ = user_admin.create_user(
        None,
        username=username,
        display_name=f"Staff {username}",
        role=role,
        unit=unit,
        partner=partner,
        password=PASSWORD,
    )
    if with_totp is None:
        with_totp = accounts.second_factor_required(user)
    if with_totp:
        seed = accounts.begin_totp_enrolment(user)
        # The previous step's code, so that the current one stays unused for signing in. It is
        # accepted for one step more: when that step ended before the check, take the new one's.
        while True:
            step = totp.current_step()
            try:
                accounts.confirm_totp_enrolment(user, totp.code_at_step(seed, step - 1))
                break
            except Invalid:
                if totp.current_step() == step:
                    raise
    db.session.commit()
    return user


def current_code(user: User, offset: int = 0) -> str:
    """The code the user's authenticator shows now (offset in 30 s steps)."""
    return totp.code_at_step(accounts._seed(user), totp.current_step() + offset)


def get_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


def age_rows(model: type, column: str, delta: object) -> None:
    """Move a timestamp column of every row into the past (the clock-free way to test timeouts)."""
    for row in db.session.scalars(select(model)):
        setattr(row, column, getattr(row, column) - delta)
    db.session.commit()
