"""What a page costs a phone on slow data, seen by Chromium itself: how many requests cross the
network on a first visit and on a later one (the budget's figures are in bench/pages.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import CDPSession

from tests.browser.conftest import Pages


class Network:
    """The requests of the page, and which of them crossed the network (not from the cache)."""

    def __init__(self, cdp: CDPSession) -> None:
        self.urls: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event: dict) -> None:  # type: ignore[type-arg]
        url = urlsplit(event["request"]["url"])
        self.urls[event["requestId"]] = url.path + (f"?{url.query}" if url.query else "")

    def _finished(self, event: dict) -> None:  # type: ignore[type-arg]
        self.sizes[event["requestId"]] = int(event["encodedDataLength"])

    def clear(self) -> None:
        self.urls.clear()
        self.sizes.clear()

    def requested(self) -> list[str]:
        return sorted(self.urls.values())

    def over_the_network(self) -> list[str]:
        return sorted(url for rid, url in self.urls.items() if self.sizes.get(rid, 0) > 0)


def test_a_first_visit_costs_three_requests_and_a_later_visit_one(pages: Pages) -> None:
    page = pages.page
    network = Network(page.context.new_cdp_session(page))
    page.goto(pages.base_url + "/login")
    page.wait_for_load_state("load")
    stylesheet = page.locator("link[rel=stylesheet]").get_attribute("href") or ""
    assert stylesheet.startswith("/static/css/casework.css?v=")
    icon = page.locator("link[rel=icon]").get_attribute("href") or ""
    assert icon.startswith("/static/favicon.svg?v=")
    # The browser asks for the icon after the page's load event: wait for it to arrive.
    for _ in range(100):
        if icon in network.over_the_network():
            break
        page.wait_for_timeout(50)
    # The page, its stylesheet and its icon, nothing else: no script, no font, no /favicon.ico.
    assert network.over_the_network() == sorted(["/login", stylesheet, icon])

    network.clear()
    page.goto(pages.base_url + "/login")
    page.wait_for_load_state("load")
    # The page again (never stored); the stylesheet and the icon from the browser's cache. The
    # browser reports a response's end a little after the load event: wait for the page's.
    for _ in range(100):
        if "/login" in network.over_the_network():
            break
        page.wait_for_timeout(50)
    assert stylesheet in network.requested()
    assert network.over_the_network() == ["/login"]
