"""Page speed on a cheap phone over slow mobile data: every main page against the speed budget.

    .venv/bin/python bench/pages.py            # a fresh demo instance, every page, the figures
    .venv/bin/python bench/pages.py --repeat 3 # the median of three loads of each kind
    .venv/bin/python bench/pages.py --gzip     # behind a compressing proxy, as in production
    .venv/bin/python bench/pages.py --page report --page "case file"   # some pages only

A fresh instance (`casework init` and `casework demo` with CASEWORK_INSTANCE_PATH in a temporary
folder, CASEWORK_ENV=development) is served by `casework run` on 127.0.0.1; Debian's Chromium
(/usr/bin/chromium, driven by Playwright) opens it at 360×740 under the DevTools protocol's network
throttling (1.6 Mbit/s down, 750 kbit/s up, 300 ms round trip: Network.emulateNetworkConditions)
and a CPU four times slower (Emulation.setCPUThrottlingRate). It signs in as the demo officer,
reviewer and partner, and opens each main page twice:

- first load: the browser's cache emptied just before (Network.clearBrowserCache);
- later load: the same page again, the cache as the first load left it.

For each load it prints the largest contentful paint (PerformanceObserver
'largest-contentful-paint', from the start of the navigation), when the page's HTML had fully
arrived, the bytes that crossed the network (headers and bodies, as sent), the requests the page made
and how many of them crossed the network, against the budget: LCP under 2 s, under 60 KB on a first
load, under 20 KB on a later one, at most 5 requests. It exits with status 1 when a page misses it.

The server is Werkzeug's, as `make run` serves the demo, and sends nothing compressed. In production
the reverse proxy compresses pages and static files (docs/speed.md says why there and not in the
app); --gzip puts such a proxy on 127.0.0.1 in front of the app to measure what the browser then
receives. The machine's own load counts too: the CPU slowdown multiplies it; --repeat gives medians.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import BrowserContext, CDPSession, Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casework.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CASEWORK = ROOT / ".venv" / "bin" / "casework"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}

# 1.6 Mbit/s down, 750 kbit/s up, in bytes per second; 300 ms round trip.
NETWORK = {
    "offline": False,
    "latency": 300,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}
CPU_SLOWDOWN = 4

LCP_BUDGET_MS = 2000
FIRST_BUDGET = 60 * 1024
LATER_BUDGET = 20 * 1024
REQUEST_BUDGET = 5

# Collects the LCP candidates of a page; evaluated by the driver before the page's own content,
# so the app's Content-Security-Policy does not have to allow it.
LCP_OBSERVER = """
window.__lcp = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__lcp = entry.startTime;
}).observe({type: 'largest-contentful-paint', buffered: true});
"""


@dataclass
class Load:
    lcp_ms: float
    html_ms: float  # the page's own HTML received in full, from the start of the navigation
    bytes: int
    requests: int  # every request the page made, from the cache or not
    network: int  # those that crossed the network (a 304 revalidation does)


@dataclass
class Result:
    page: str
    role: str
    first: list[Load] = field(default_factory=list)
    later: list[Load] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_instance() -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh demo database and keys in a temporary folder, served on a loopback port."""
    with tempfile.TemporaryDirectory(prefix="casework-pages-") as folder:
        # None of the caller's CASEWORK_* settings: its own SQLite database and development keys.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
        env.update(CASEWORK_ENV="development", CASEWORK_INSTANCE_PATH=folder)
        for command in ("init", "demo"):
            subprocess.run(  # noqa: S603 (fixed arguments, our own command)  # nosec B603
                [str(CASEWORK), command], env=env, check=True, capture_output=True
            )
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603 (fixed arguments, our own command)  # nosec B603
            [str(CASEWORK), "run", "--host", "127.0.0.1", "--port", str(port), "--no-debug"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(port, server)
            yield f"http://127.0.0.1:{port}", env
        finally:
            server.terminate()
            server.wait(timeout=10)


def _wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit(f"the app stopped with status {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the app did not answer on port {port} within a minute")


class _GzipProxy(BaseHTTPRequestHandler):
    """The reverse proxy of docs/speed.md: gzip (level 6, nginx's usual) on pages, stylesheets,
    scripts and SVG over 256 bytes, for browsers that accept it."""

    upstream_port = 0
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: object) -> None:
        pass

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "accept-encoding"}
        conn.request(self.command, self.path, body=body, headers=headers)
        upstream = conn.getresponse()
        data = upstream.read()
        conn.close()
        kind = upstream.getheader("Content-Type", "")
        squeeze = (
            "gzip" in self.headers.get("Accept-Encoding", "")
            and kind.startswith(("text/html", "text/css", "text/javascript", "image/svg+xml"))
            and len(data) > 256
        )
        if squeeze:
            data = gzip.compress(data, compresslevel=6)
        self.send_response(upstream.status)
        for name, value in upstream.getheaders():
            skip = ("content-length", "connection", "transfer-encoding", "server", "date")
            if name.lower() not in skip:
                self.send_header(name, value)
        if squeeze:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_HEAD = _relay


@contextmanager
def gzip_proxy(base_url: str) -> Iterator[str]:
    handler = type("Proxy", (_GzipProxy,), {"upstream_port": int(base_url.rsplit(":", 1)[1])})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


class Meter:
    """Counts the requests and the bytes received over the network, through the DevTools protocol."""

    def __init__(self, cdp: CDPSession) -> None:
        self.cdp = cdp
        self.reset()
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)

    def _sent(self, event: dict[str, object]) -> None:
        # A data: URL (an icon inside the stylesheet) is no request at all.
        url = str(event.get("request", {}).get("url", ""))  # type: ignore[union-attr]
        self.requests += url.startswith(("http:", "https:"))

    def _finished(self, event: dict[str, object]) -> None:
        # encodedDataLength: headers and body as they crossed the network (0 from the cache).
        size = int(float(str(event.get("encodedDataLength", 0))))
        self.bytes += size
        self.network += size > 0

    def _failed(self, _event: dict[str, object]) -> None:
        self.network += 1

    def reset(self) -> None:
        self.requests = 0
        self.network = 0
        self.bytes = 0


def throttled_page(context: BrowserContext) -> tuple[Page, CDPSession, Meter]:
    page = context.new_page()
    page.add_init_script(LCP_OBSERVER)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    return page, cdp, Meter(cdp)


def measure(page: Page, meter: Meter, url: str) -> Load:
    meter.reset()
    page.goto(url, wait_until="load")
    # Network.loadingFinished of the last response may arrive just after the load event.
    page.wait_for_timeout(300)
    lcp = float(page.evaluate("window.__lcp"))
    html = float(page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd"))
    return Load(lcp, html, meter.bytes, meter.requests, meter.network)


def totp_code(env: dict[str, str], username: str) -> str:
    out = subprocess.run(  # noqa: S603 (fixed arguments, our own command)  # nosec B603
        [str(CASEWORK), "users", "totp-code", username],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().split()[-1]


def sign_in(page: Page, base: str, env: dict[str, str], username: str, second: bool) -> None:
    page.goto(base + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    if second:
        page.wait_for_url("**/login/code")
        page.locator("#code").fill(totp_code(env, username))
        page.locator("form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/login" not in url)


def case_file_url(page: Page, base: str) -> str:
    """The file of the first case on the officer's list."""
    page.goto(base + "/cases/")
    href = page.locator(".case-list a").first.get_attribute("href")
    if not href:
        raise SystemExit("the officer's case list is empty")
    return base + href


def report_url(page: Page, base: str) -> str:
    """The report the reports page shows for its default unit and period."""
    page.goto(base + "/reports")
    page.locator("details.filters form button[type=submit]").click()
    page.wait_for_url("**/reports?**")
    return page.url


# Who opens which page: (username, second factor?, [(page, path or how to find it)]).
PLAN = [
    (None, False, [("sign-in", "/login")]),
    (
        "officer.lh",
        False,
        [
            ("case list", "/cases/"),
            ("case file", case_file_url),
            ("intake form", "/cases/new"),
            ("deadlines board", "/deadlines"),
        ],
    ),
    ("reviewer.vl", True, [("deadlines board", "/deadlines"), ("report", report_url)]),
    ("partner.legal", True, [("referral portal", "/partner")]),
]


def run(base: str, env: dict[str, str], repeat: int, only: list[str]) -> list[Result]:
    results: list[Result] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for username, second, all_pages in PLAN:
            pages = [(n, w) for n, w in all_pages if not only or n in only]
            if not pages:
                continue
            context = browser.new_context(viewport=PHONE, locale="vi-VN")
            page, cdp, meter = throttled_page(context)
            if username is not None:
                sign_in(page, base, env, username, second)
            for name, where in pages:
                url = base + where if isinstance(where, str) else where(page, base)
                result = Result(name, username or "(signed out)")
                # One load outside the browser first: the server's templates and caches are warm,
                # as in production, so a first load measures the browser's cold cache only.
                page.request.get(url).dispose()
                for _ in range(repeat):
                    cdp.send("Network.clearBrowserCache")
                    result.first.append(measure(page, meter, url))
                    result.later.append(measure(page, meter, url))
                results.append(result)
            context.close()
        browser.close()
    return results


def _median(loads: list[Load]) -> Load:
    return Load(
        statistics.median(x.lcp_ms for x in loads),
        statistics.median(x.html_ms for x in loads),
        int(statistics.median(x.bytes for x in loads)),
        int(statistics.median(x.requests for x in loads)),
        int(statistics.median(x.network for x in loads)),
    )


def report(results: list[Result]) -> bool:
    print(
        f"Budget: LCP < {LCP_BUDGET_MS} ms, first load < {FIRST_BUDGET // 1024} KB, later load"
        f" < {LATER_BUDGET // 1024} KB, ≤ {REQUEST_BUDGET} requests"
        " (1.6 Mbit/s, 300 ms RTT, CPU ×4, 360×740)"
    )
    head = (
        f"{'page':<16} {'as':<14} {'load':<6} {'LCP ms':>7} {'HTML':>6} {'KB':>6}"
        f" {'req':>4} {'net':>4}  verdict"
    )
    print(head)
    print("-" * len(head))
    ok = True
    for r in results:
        for kind, loads, limit in (
            ("first", r.first, FIRST_BUDGET),
            ("later", r.later, LATER_BUDGET),
        ):
            m = _median(loads)
            misses = []
            if m.lcp_ms >= LCP_BUDGET_MS:
                misses.append("LCP")
            if m.bytes >= limit:
                misses.append("bytes")
            if m.requests > REQUEST_BUDGET:
                misses.append("requests")
            ok = ok and not misses
            verdict = "ok" if not misses else "MISSES " + ", ".join(misses)
            print(
                f"{r.page:<16} {r.role:<14} {kind:<6} {m.lcp_ms:>7.0f} {m.html_ms:>6.0f}"
                f" {m.bytes / 1024:>6.1f} {m.requests:>4} {m.network:>4}  {verdict}"
            )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="loads of each kind (median)")
    parser.add_argument("--gzip", action="store_true", help="measure behind a compressing proxy")
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        choices=sorted({name for _user, _second, pages in PLAN for name, _where in pages}),
        help="only this page (repeatable)",
    )
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"Chromium is needed at {CHROMIUM} (apt-get install chromium)")
    with demo_instance() as (base, env):
        if args.gzip:
            with gzip_proxy(base) as proxied:
                results = run(proxied, env, args.repeat, args.page)
        else:
            results = run(base, env, args.repeat, args.page)
    sys.exit(0 if report(results) else 1)


if __name__ == "__main__":
    main()
