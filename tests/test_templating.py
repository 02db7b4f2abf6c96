"""Static files: URLs that carry a hash of the content, a year in the browser's cache; pages never."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import make_tree, make_user

STYLESHEET = re.compile(
    r'<link rel="stylesheet" href="(/static/css/casework\.css\?v=([0-9a-f]+))">'
)
LONG_CACHE = "public, max-age=31536000, immutable"


@pytest.fixture
def own_static(app: Flask, tmp_path: Path) -> Path:
    """The app serves a copy of its static folder, which a test may change."""
    folder = tmp_path / "static"
    shutil.copytree(str(app.static_folder), folder)
    app.static_folder = str(folder)
    return folder


def _fetch(app: Flask, url: str, **kw: object):  # type: ignore[no-untyped-def]
    """GET a static file and close it (Werkzeug streams a file from disk until closed)."""
    response = app.test_client().get(url, **kw)
    response.get_data()
    response.close()
    return response


def _stylesheet(app: Flask) -> tuple[str, str]:
    page = app.test_client().get("/login")
    assert page.status_code == 200
    found = STYLESHEET.search(page.get_data(as_text=True))
    assert found, "the page links no versioned stylesheet"
    return found.group(1), found.group(2)


def test_the_stylesheet_url_in_a_page_carries_a_hash_of_its_content(app, own_static):
    _url, digest = _stylesheet(app)
    content = (own_static / "css" / "casework.css").read_bytes()
    assert digest == hashlib.sha256(content).hexdigest()[:12]


def test_a_changed_stylesheet_gets_a_new_url_and_the_old_one_is_no_longer_kept(app, own_static):
    old_url, old_digest = _stylesheet(app)
    css = own_static / "css" / "casework.css"
    css.write_bytes(css.read_bytes() + b"\n.new-rule { color: #000; }\n")

    new_url, new_digest = _stylesheet(app)
    assert new_digest != old_digest
    fresh = _fetch(app, new_url)
    assert fresh.status_code == 200 and b".new-rule" in fresh.data
    assert fresh.headers["Cache-Control"] == LONG_CACHE
    # A page rendered before the change still names the old hash: the browser must revalidate it.
    stale = _fetch(app, old_url)
    assert "immutable" not in stale.headers.get("Cache-Control", "")
    assert "max-age=31536000" not in stale.headers.get("Cache-Control", "")


def test_a_hashed_static_file_is_kept_for_a_year_even_when_revalidated(app):
    url, _digest = _stylesheet(app)
    first = _fetch(app, url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == LONG_CACHE
    again = _fetch(app, url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == LONG_CACHE


def test_a_static_file_asked_for_without_its_hash_is_not_kept(app):
    response = _fetch(app, "/static/css/casework.css")
    assert response.status_code == 200
    assert "max-age=31536000" not in response.headers.get("Cache-Control", "")


def test_pages_are_never_stored_even_though_their_stylesheet_is(app, browser):
    with app.app_context():
        make_user("thu", "officer", make_tree()["C1"])
    response = browser.get("/login")
    assert response.headers["Cache-Control"] == "no-store"
    browser.login("thu")
    home = browser.get("/")
    assert home.status_code == 200
    assert home.headers["Cache-Control"] == "no-store"
    assert STYLESHEET.search(home.get_data(as_text=True))


def test_a_page_asks_for_its_stylesheet_before_its_html_arrives(app, browser):
    url, _digest = _stylesheet(app)
    page = browser.get("/login")
    assert page.headers["Link"] == f"<{url}>; rel=preload; as=style"
    # Not on a redirect (nothing is rendered), nor on the stylesheet itself.
    assert "Link" not in browser.get("/").headers
    assert "Link" not in _fetch(app, url).headers


def test_no_hash_is_computed_for_a_file_outside_the_static_folder(app):
    from flask import url_for

    with app.test_request_context():
        assert "?v=" in url_for("static", filename="css/casework.css")
        assert "?v=" not in url_for("static", filename="../__init__.py")
        assert "?v=" not in url_for("static", filename="css/missing.css")
