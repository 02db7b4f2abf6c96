"""Journeys of every role in a real browser (Chromium), in Vietnamese as the users meet the product,
against the demo organisation and its demo cases. Every page visited is checked by axe-core and
photographed at phone and desktop sizes (conftest.Pages.check)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from casework.demo import DEMO_PASSWORD
from tests.browser.conftest import Pages

CASE_CODE = re.compile(r"[A-Z0-9-]+-\d{4}-\d+")


def test_officer_records_an_intake_on_a_phone(pages: Pages) -> None:
    page, t = pages.page, pages.t
    pages.sign_in("officer.lh", DEMO_PASSWORD)
    pages.check("home")
    page.get_by_role("link", name=t("Record a new case")).click()
    expect(page.get_by_role("heading", name=t("New case"))).to_be_visible()
    pages.check("intake")

    page.get_by_label(t("She is in immediate danger")).check()
    page.get_by_label(t("How did the case reach you?")).select_option(label=t("Hotline 111"))
    page.get_by_label(t("Domestic violence"), exact=True).check()
    page.get_by_label(t("What happened")).fill(
        "Chị gọi đường dây nóng, chồng đang say rượu và đe doạ."
    )
    page.get_by_label(t("Victim's name")).fill("Nguyễn Thị Thử")
    page.get_by_label(t("Victim's phone")).fill("0912 000 999")
    page.get_by_role("button", name=t("Record the case")).click()

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(t("Case %(code)s", code="") + ".+"))
    code = heading.inner_text().removeprefix(t("Case %(code)s", code=""))
    expect(page.get_by_role("status")).to_contain_text(t("Case %(code)s recorded.", code=code))
    alerts = page.get_by_role("region", name=t("What must be done now"))
    expect(alerts).to_contain_text(
        t("Immediate danger: make a safety plan now; consider a shelter and a contact ban.")
    )
    pages.check("case-file")

    page.get_by_role("link", name=t("Record consent"), exact=True).click()
    expect(page.get_by_role("heading", name=t("Record consent"))).to_be_visible()
    pages.check("consent")
    page.get_by_label(t("Record and handle the case")).check()
    page.get_by_label(t("Contact by phone")).check()
    page.get_by_label(t("The victim"), exact=True).check()
    page.get_by_label(t("Verbally, in person")).check()
    page.get_by_role("button", name=t("Record consent")).click()

    consent = page.get_by_role("region", name=t("Consent"), exact=True)
    expect(consent).to_contain_text(t("Record and handle the case"))
    expect(consent).to_contain_text(t("Contact by phone"))
    expect(consent).to_contain_text("Nguyễn Thị Thử")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Case %(code)s", code=code))
