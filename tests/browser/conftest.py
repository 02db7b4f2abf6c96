"""Real-browser fixtures: the app with the demo organisation and cases, served on 127.0.0.1 by a
thread of the test process, and Debian's Chromium driven by Playwright (never a downloaded browser).

Every page a journey opens goes through `Pages.visit_checked`: axe-core finds no serious or critical
accessibility violation, the page broke no rule of the Content-Security-Policy, and screenshots at
phone and desktop sizes land in artifacts/screenshots/ for reviewers.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from casework import create_app
from casework.extensions import db
from tests.conftest import _reset_schema, current_code, get_user, test_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE_SOURCE = Path(__file__).with_name("vendor") / "axe.min.js"
# A failing wait should fail the test in seconds, not hang the suite for Playwright's default 30 s.
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per test process; the browser tests skip where it is not installed."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Chromium not installed at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on a database holding the demo organisation and the demo cases.

    Plain http on 127.0.0.1, as `make run` serves it: a browser drops a Secure cookie sent over
    http, so this test app alone does not mark its cookie Secure (production still does)."""
    from casework import demo, demo_cases

    app = create_app(
        test_config(
            tmp_path_factory.mktemp("live"),
            SESSION_COOKIE_SECURE=False,
            PREFERRED_URL_SCHEME="http",
        )
    )
    with app.app_context():
        _reset_schema()
        demo.load()
        db.session.commit()
        demo_cases.load()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@dataclass(frozen=True)
class Demo:
    """Demo cases the journeys start from (codes as users see them, ids for URLs)."""

    reported_code: str  # serious, quick report sent to the district, referred to legal aid
    reported_id: str
    escalated_code: str  # its commune asked the district to take it over
    closing_code: str  # its commune asked the district to approve its closure
    moved_code: str  # the district took it up and asked the commune to visit
    moved_id: str


@pytest.fixture(scope="module")
def demo(live_app: Flask) -> Demo:
    from casework.cases.models import Case
    from casework.cases.workflow.models import ClosureRequest, Escalation, QuickReport

    with live_app.app_context():
        reported = db.session.scalars(
            select(Case).join(QuickReport, QuickReport.case_id == Case.id)
        ).one()
        escalated = db.session.scalars(
            select(Case)
            .join(Escalation, Escalation.case_id == Case.id)
            .where(Escalation.status == "pending")
        ).one()
        moved = db.session.scalars(
            select(Case)
            .join(Escalation, Escalation.case_id == Case.id)
            .where(Escalation.status == "accepted")
        ).one()
        closing = db.session.scalars(
            select(Case)
            .join(ClosureRequest, ClosureRequest.case_id == Case.id)
            .where(ClosureRequest.status == "pending")
        ).one()
        found = Demo(
            reported.code, str(reported.id), escalated.code, closing.code, moved.code, str(moved.id)
        )
        db.session.remove()
    return found


def _buffered(app: Flask) -> WSGIApplication:
    """Hand the server a body already read and closed.

    Werkzeug's development server skips closing the body when the browser drops the
    connection first (a page navigating away while its icon is being answered), and
    the static file it left open is reported later, in whichever test is running.
    """

    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return list(body)
        finally:
            if hasattr(body, "close"):
                body.close()

    return serve


@pytest.fixture(scope="module")
def base_url(live_app: Flask) -> Iterator[str]:
    """Serve the app from a thread on a free loopback port."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, _buffered(live_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


class AccessibilityError(AssertionError):
    pass


class Pages:
    """A Playwright page with the checks every visited page must pass."""

    def __init__(self, page: Page, app: Flask, base_url: str, journey: str) -> None:
        self.page = page
        self.app = app
        self.base_url = base_url
        self.journey = journey
        self.csp_errors: list[str] = []
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text:
            self.csp_errors.append(text)

    def t(self, msgid: str, **values: object) -> str:
        """The Vietnamese text the page shows for an English message (the default language)."""
        from flask_babel import force_locale, gettext

        with self.app.test_request_context(), force_locale("vi"):
            return gettext(msgid, **values)

    def code_for(self, username: str) -> str:
        """A code the demo user's authenticator shows now that she has not used yet: journeys
        sign the same reviewer in within one 30-second step, and a used code is a replay. The
        next step's code is accepted too (clock drift); beyond that, wait for the clock."""
        from casework.accounts import totp

        with self.app.app_context():
            user = get_user(username)
            step = max(totp.current_step(), (user.totp_last_step or -1) + 1)
            while step > totp.current_step() + 1:
                time.sleep(1)
            code = current_code(user, offset=step - totp.current_step())
            db.session.remove()
        return code

    def check(self, name: str) -> None:
        """axe-core and CSP on the page as it is now, then screenshots at both sizes."""
        page = self.page
        # A click that navigates returns before the next document exists: wait for it.
        page.wait_for_load_state("load")
        expect(page.locator("html")).to_have_attribute("lang", "vi")
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated by the driver, not a <script> of the page: the app's CSP stays enforced.
            page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
        results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
        if bad:
            lines = [f"{name} ({page.url}):"]
            for v in bad:
                targets = [", ".join(map(str, node["target"])) for node in v["nodes"][:5]]
                lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} → {targets}")
            raise AccessibilityError("\n".join(lines))
        assert not self.csp_errors, self.csp_errors
        self.screenshots(name)

    def screenshots(self, name: str) -> None:
        page = self.page
        size = page.viewport_size
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", f"{self.journey}-{name}".lower()).strip("-")
        for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(viewport)
            page.screenshot(path=SCREENSHOTS / f"{slug}-{label}.png", full_page=True)
        page.set_viewport_size(size)

    def goto(self, path: str, name: str) -> None:
        self.page.goto(self.base_url + path)
        self.check(name)

    def sign_in(self, username: str, password: str, *, code: bool = False) -> None:
        """Sign in through the forms (checking both pages); `code` passes the second step."""
        page = self.page
        self.goto("/login", "sign-in")
        page.get_by_label(self.t("Username")).fill(username)
        page.get_by_label(self.t("Password")).fill(password)
        page.get_by_role("button", name=self.t("Sign in")).click()
        if code:
            heading = page.get_by_role("heading", name=self.t("Second step of sign-in"))
            expect(heading).to_be_visible()
            self.check("second-factor")
            page.get_by_label(self.t("Code"), exact=True).fill(self.code_for(username))
            page.get_by_role("button", name=self.t("Continue")).click()
        expect(page.get_by_role("button", name=self.t("Sign out"))).to_be_visible()


@pytest.fixture
def pages(
    request: pytest.FixtureRequest, chromium: Browser, live_app: Flask, base_url: str
) -> Iterator[Pages]:
    """A fresh browser context (no cookies) on a phone-sized window for one journey."""
    context = chromium.new_context(viewport=PHONE, locale="vi-VN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    journey = request.node.name.removeprefix("test_")
    yield Pages(page, live_app, base_url, journey)
    context.close()
