"""A real HTTP server on 127.0.0.1 and a small browser-like client for it (cookies kept by hand,
the form's CSRF token sent back), shared by the concurrency test and bench/concurrency.py."""

from __future__ import annotations

import html
import http.client
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.serving import make_server

TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@contextmanager
def serve(app: Any) -> Iterator[tuple[str, int]]:
    """The app behind Werkzeug's threaded server (a thread per request), on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class Reply:
    status: int
    location: str
    body: str


class Client:
    """One browser: its own connection and cookies. The session cookie is Secure (production
    runs behind TLS); on this loopback test server it is sent back as a browser would over
    HTTPS."""

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method: str, path: str, form: dict[str, Any] | None = None) -> Reply:
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: open a new one once.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                if attempt == 2:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                self.cookies[key.strip()] = val.strip()
        location = urlsplit(response.getheader("Location") or "").path
        return Reply(response.status, location, data)

    def close(self) -> None:
        self.conn.close()

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, Any], token_from: str | None = None) -> Reply:
        """POST the form with the CSRF token of this browser's session (read from a page)."""
        if "csrf_token" not in form:
            form = {**form, "csrf_token": token(self.get(token_from or path).body)}
        return self.request("POST", path, form)

    def login(self, username: str, password: str) -> Reply:
        """Choose English in the footer (as the tests read English messages), then sign in."""
        csrf = token(self.get("/login").body)
        self.request("POST", "/language", {"lang": "en", "back": "/login", "csrf_token": csrf})
        return self.request(
            "POST", "/login", {"username": username, "password": password, "csrf_token": csrf}
        )


def token(page: str) -> str:
    match = TOKEN.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def field(page: str, name: str) -> str:
    """The value of an input, or the text of a textarea, named `name` on the page."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', page
    )
    if match is None:
        match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\s*(.*?)</textarea>', page, re.S)
    assert match, f"no field {name} on the page"
    return html.unescape(match.group(1))
