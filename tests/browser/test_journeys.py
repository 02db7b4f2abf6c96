"""Journeys of every role in a real browser (Chromium), in Vietnamese as the users meet the product,
against the demo organisation and its demo cases. Every page visited is checked by axe-core and
photographed at phone and desktop sizes (conftest.Pages.check)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from casework.demo import DEMO_PASSWORD
from tests.browser.conftest import AccessibilityError, Demo, Pages


def today_in_vietnam() -> date:
    """The date a user in Vietnam types (the test machine's own date may still be yesterday)."""
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()


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
    page.get_by_label(t("Refer to a trusted address or shelter")).check()
    page.get_by_label(t("The victim"), exact=True).check()
    page.get_by_label(t("Verbally, in person")).check()
    page.get_by_role("button", name=t("Record consent")).click()

    consent = page.get_by_role("region", name=t("Consent"), exact=True)
    expect(consent).to_contain_text(t("Record and handle the case"))
    expect(consent).to_contain_text(t("Contact by phone"))
    expect(consent).to_contain_text("Nguyễn Thị Thử")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Case %(code)s", code=code))

    page.get_by_role("link", name=t("Schedule a follow-up")).click()
    expect(page.get_by_role("heading", name=t("Schedule a follow-up"))).to_be_visible()
    pages.check("follow-up")
    due = today_in_vietnam() + timedelta(days=1)
    page.get_by_label(t("Due")).fill(f"{due.isoformat()}T09:00")
    page.get_by_role("button", name=t("Schedule")).click()
    expect(page.get_by_role("status")).to_contain_text(t("Follow-up scheduled."))
    expect(page.locator("#follow-ups")).to_contain_text(
        re.compile(rf"09:00 0?{due.day}/0?{due.month}/")
    )

    _add_her_child(pages)
    _refer_her_to_the_shelter(pages)


def _add_her_child(pages: Pages) -> None:
    """The officer adds the victim's young son, who lives with her, to the case."""
    page, t = pages.page, pages.t
    page.get_by_role("link", name=t("Add a person")).click()
    expect(page.get_by_role("heading", name=t("Add a person"))).to_be_visible()
    pages.check("add-person")
    page.get_by_label(t("Role in the case")).select_option(label=t("Child in the victim's care"))
    page.get_by_label(t("Full name")).fill("Nguyễn Văn Bé")
    born = date(today_in_vietnam().year - 6, 1, 15)
    page.get_by_label(t("Date of birth")).fill(born.isoformat())
    page.get_by_label(t("Sex")).select_option(label=t("Male"))
    page.get_by_role("button", name=t("Save")).click()

    expect(page.get_by_role("status")).to_contain_text(t("Person added."))
    child = page.locator("#people li").filter(has_text="Nguyễn Văn Bé")
    expect(child).to_contain_text(t("Child in the victim's care"))
    expect(child).to_contain_text(t("child"))
    expect(page.locator("#people li").filter(has_text="Nguyễn Thị Thử")).to_have_count(1)
    pages.check("person-added")


def _refer_her_to_the_shelter(pages: Pages) -> None:
    """She agreed to a shelter (consent above): the officer refers her there from her phone."""
    page, t = pages.page, pages.t
    shelter = "Nhà tạm lánh - Địa chỉ tin cậy tỉnh Hưng Yên"
    page.get_by_role("link", name=t("Refer to a partner")).click()
    expect(page.get_by_role("heading", name=t("Refer to a partner"))).to_be_visible()
    pages.check("referral-kind")
    page.get_by_role("link", name=t("Trusted address / shelter")).click()

    kind = t("Refer to: %(kind)s", kind=t("Trusted address / shelter"))
    expect(page.get_by_role("heading", name=kind)).to_be_visible()
    pages.check("referral-services")
    page.get_by_label(t("Shelter"), exact=True).check()
    page.get_by_label(t("Counselling"), exact=True).check()
    page.get_by_role("button", name=t("Show the partners")).click()

    expect(page.get_by_label(t("Partner organisation"))).to_have_value(re.compile(".+"))
    expect(page.get_by_label(t("Partner organisation")).locator("option:checked")).to_have_text(
        shelter
    )
    pages.check("referral-form")
    page.get_by_label(t("Who is referred")).select_option(label=f"Nguyễn Thị Thử ({t('Victim')})")
    page.get_by_label(t("What she needs from the partner")).fill(
        "Chỗ ở tạm cho hai mẹ con trong ít nhất hai tuần."
    )
    page.get_by_role("button", name=t("Send the referral")).click()

    expect(page.get_by_role("status")).to_contain_text(
        t("Referral sent. The partner is asked to answer within the deadline.")
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Referral to %(partner)s", partner=shelter)
    )
    expect(page.get_by_role("main")).to_contain_text(t("Sent, waiting for an answer"))
    expect(page.get_by_role("main")).to_contain_text(t("Shelter"))
    pages.check("referral-sent")


def _tab_to(pages: Pages, target: str, visited: list[str], limit: int = 40) -> None:
    """Press Tab until the element with id `target` has focus, noting every field passed."""
    page = pages.page
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id || document.activeElement.tagName")
        if not visited or visited[-1] != focused:
            visited.append(focused)
        if focused == target:
            return
    raise AssertionError(f"Tab never reached #{target}; focus went through {visited}")


def test_intake_completed_with_the_keyboard_alone(pages: Pages) -> None:
    page, t = pages.page, pages.t
    pages.goto("/login", "keyboard-sign-in")
    # The username field has focus when the page opens.
    page.keyboard.type("officer.mh")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name=t("Sign out"))).to_be_visible()

    new_case = page.get_by_role("link", name=t("Record a new case"))
    visited: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        if new_case.evaluate("link => link === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reached the link to a new case")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=t("New case"))).to_be_visible()

    def field_id(label: str) -> str:
        return page.get_by_label(label, exact=True).get_attribute("id") or ""

    _tab_to(pages, "immediate_danger", visited)
    page.keyboard.press("Space")
    _tab_to(pages, "source", visited)
    # A closed select moves through its options with the arrow keys.
    for _ in range(12):
        if page.evaluate("document.activeElement.selectedOptions[0].text") == t("Relative"):
            break
        page.keyboard.press("ArrowDown")
    _tab_to(pages, field_id(t("Domestic violence")), visited)
    page.keyboard.press("Space")
    _tab_to(pages, "summary", visited)
    page.keyboard.type("Em gái báo chị bị chồng đánh tối qua.")
    _tab_to(pages, "victim_name", visited)
    page.keyboard.type("Lê Thị Bàn Phím")
    _tab_to(pages, "victim_phone", visited)
    page.keyboard.type("0912 000 888")
    submit = page.get_by_role("button", name=t("Record the case"))
    for _ in range(10):
        page.keyboard.press("Tab")
        if submit.evaluate("button => button === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reached the button that records the case")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text(
        re.compile(re.escape(t("Case %(code)s recorded.", code="@")).replace("@", ".+"))
    )
    expect(page.get_by_role("region", name=t("What must be done now"))).to_contain_text(
        t("Immediate danger: make a safety plan now; consider a shelter and a contact ban.")
    )
    expect(page.locator("#intake")).to_contain_text(t("Relative"))
    # Focus went through the form in reading order: the safety screen first, the victim last.
    fields = [f for f in visited if f in {"immediate_danger", "source", "summary", "victim_name"}]
    assert fields == ["immediate_danger", "source", "summary", "victim_name"], visited
    pages.check("case-file")


def test_reviewer_gets_the_quick_report_accepts_the_escalation_and_approves_a_closure(
    pages: Pages, demo: Demo
) -> None:
    page, t = pages.page, pages.t
    pages.sign_in("reviewer.vl", DEMO_PASSWORD, code=True)
    page.get_by_role("link", name=t("Inbox")).click()
    expect(page.get_by_role("heading", name=t("Inbox"))).to_be_visible()
    pages.check("inbox")
    escalation = t("Escalation requested: case %(code)s", code=demo.escalated_code)
    expect(page.get_by_role("button", name=escalation)).to_be_visible()

    page.get_by_role(
        "button", name=t("Quick report received: case %(code)s", code=demo.reported_code)
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Quick report %(code)s", code=demo.reported_code)
    )
    expect(page.get_by_role("main")).to_contain_text("Nạn nhân bị thương nhẹ")
    pages.check("quick-report")

    page.get_by_role("link", name=t("Inbox")).click()
    page.get_by_role("button", name=escalation).click()
    expect(page.get_by_role("heading", name=t("Escalation request"))).to_be_visible()
    pages.check("escalated-case")
    page.get_by_role("button", name=t("Accept: my unit takes the case")).click()

    expect(page.get_by_role("status")).to_contain_text(t("Your unit now handles the case."))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Case %(code)s", code=demo.escalated_code)
    )
    expect(page.get_by_role("main")).to_contain_text("Hội LHPN huyện Văn Lâm")
    expect(page.get_by_role("heading", name=t("Escalation request"))).to_have_count(0)
    pages.check("accepted-case")

    page.get_by_role("link", name=t("Inbox")).click()
    page.get_by_role(
        "button", name=t("Closure requested: case %(code)s", code=demo.closing_code)
    ).click()
    expect(page.get_by_role("heading", name=t("Closure request"))).to_be_visible()
    pages.check("closure-request")
    page.get_by_label(t("Comment")).fill("Đồng ý, hai bên đã hoà giải thành.")
    page.get_by_role("button", name=t("Approve closure")).click()
    expect(page.get_by_role("status")).to_contain_text(t("The case is closed."))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Case %(code)s", code=demo.closing_code)
    )
    expect(page.get_by_role("main")).to_contain_text(t("Closed"))
    expect(page.get_by_role("button", name=t("Approve closure"))).to_have_count(0)


def test_legal_aid_accepts_the_referral_and_records_the_service_and_outcome(pages: Pages) -> None:
    page, t = pages.page, pages.t
    pages.sign_in("partner.legal", DEMO_PASSWORD, code=True)
    page.get_by_role("link", name=t("Referrals"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Trung tâm Trợ giúp pháp lý nhà nước tỉnh Hưng Yên"
    )
    pages.check("portal")
    page.locator(".referrals a").first.click()
    expect(page.get_by_role("main")).to_contain_text("Tư vấn thủ tục ly hôn")
    pages.check("referral")
    page.get_by_role("button", name=t("Accept"), exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(
        t("Referral accepted. The referring unit has been told.")
    )

    page.get_by_role("button", name=t("Start the service")).click()
    expect(page.get_by_role("status")).to_contain_text(t("Service started."))
    services = page.locator(".referral-services")
    services.get_by_label(t("Delivered"), exact=True).check()
    services.get_by_label(t("Delivered on")).fill(today_in_vietnam().isoformat())
    services.get_by_role("button", name=t("Save")).click()
    expect(page.get_by_role("status")).to_contain_text(
        t("Service recorded. The referring unit sees it on the case file.")
    )
    expect(page.locator(".referral-services")).to_contain_text(t("Legal aid"))
    expect(page.locator(".referral-services .tag")).to_have_text(t("Delivered"))
    pages.check("service-recorded")

    page.get_by_label(t("Outcome")).fill("Đã tư vấn thủ tục ly hôn; chị sẽ nộp đơn tại toà huyện.")
    page.get_by_role("button", name=t("Mark completed")).click()
    expect(page.get_by_role("status")).to_contain_text(
        t("Referral completed. The referring unit has been told.")
    )
    expect(page.get_by_role("button", name=t("Mark completed"))).to_have_count(0)


def test_auditor_sees_who_has_seen_a_case_file(pages: Pages, demo: Demo) -> None:
    page, t = pages.page, pages.t
    pages.sign_in("auditor", DEMO_PASSWORD, code=True)
    page.get_by_role("link", name=t("Audit log")).click()
    expect(page.get_by_role("heading", name=t("Audit log"))).to_be_visible()
    pages.check("audit-log")

    page.get_by_text(t("Filter"), exact=True).click()
    page.get_by_label(t("Object type")).fill("case_file")
    page.get_by_label(t("Object id")).fill(demo.reported_id)
    page.get_by_role("button", name=t("Show events")).click()
    page.get_by_role("link", name=f"case_file {demo.reported_id}").first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Who has seen this"))
    people = page.locator("table").first
    expect(people).to_contain_text("Nguyễn Thị Thu")
    expect(people).to_contain_text("officer.lh")
    expect(people).to_contain_text(t("Case officer"))
    pages.check("who-has-seen")


def test_admin_creates_a_user_and_cannot_open_a_case(pages: Pages, demo: Demo) -> None:
    page, t = pages.page, pages.t
    pages.sign_in("admin", DEMO_PASSWORD, code=True)
    page.get_by_role("link", name=t("Users"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Users"))
    pages.check("users")
    page.get_by_role("link", name=t("Create a user")).click()
    expect(page.get_by_role("heading", name=t("Create a user"))).to_be_visible()
    pages.check("new-user")
    page.get_by_label(t("Username")).fill("officer.lh2")
    page.get_by_label(t("Full name")).fill("Trịnh Thị Mới")
    page.get_by_label(t("Role")).select_option(label=t("Case officer"))
    page.get_by_label(t("Unit code")).fill("HY-VL-LH")
    page.get_by_role("button", name=t("Create the user")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("The user has been created"))
    expect(page.get_by_role("main")).to_contain_text("officer.lh2")
    pages.check("user-created")

    response = page.goto(f"{pages.base_url}/cases/{demo.reported_id}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("You do not have access to this page")
    )
    expect(page.get_by_role("main")).not_to_contain_text("Lê Thị Hạnh")
    pages.check("refused")


def test_officer_sees_her_units_cases_and_what_is_due(
    pages: Pages, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework.cases.workflow import views

    monkeypatch.setattr(views, "BOARD_SHOWN", 2)  # the demo's few deadlines then fill pages
    page, t = pages.page, pages.t
    pages.sign_in("officer.lh", DEMO_PASSWORD)
    page.get_by_role("link", name=t("Cases"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Cases"))
    # Her commune's cases, not those of the commune that asked to close one.
    expect(page.locator(".case-list")).to_contain_text(demo.reported_code)
    expect(page.locator(".case-list")).not_to_contain_text(demo.closing_code)
    pages.check("case-list")

    page.get_by_role("link", name=t("Deadlines")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Due and overdue"))
    expect(page.locator(".deadlines li")).to_have_count(2)
    pages.check("deadlines")
    first = page.locator(".deadlines li").all_inner_texts()
    page.get_by_role("link", name=t("Next deadlines")).click()
    expect(page.locator(".notice")).to_contain_text(t("Back to the most urgent"))
    later = page.locator(".deadlines li").all_inner_texts()
    assert later and not set(later) & set(first)
    pages.check("deadlines-next")


def test_district_asks_the_commune_to_act_and_the_commune_answers(pages: Pages, demo: Demo) -> None:
    page, t = pages.page, pages.t
    pages.sign_in("reviewer.vl", DEMO_PASSWORD, code=True)
    pages.goto(f"/cases/{demo.moved_id}", "moved-case")
    # The demo request is listed; the district asks for one more thing.
    expect(page.get_by_role("heading", name=t("Requests to act"))).to_be_visible()
    page.get_by_role("link", name=t("Ask a unit below to act"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Ask a unit below to act"))
    page.get_by_label(t("Unit asked")).select_option(label="Hội LHPN xã Lạc Hồng")
    page.get_by_label(t("What should be done")).fill("Mời chị lên xã ký biên bản, đi cùng chị.")
    tomorrow = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(days=1)
    page.get_by_label(t("Answer by")).fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    pages.check("ask-to-act")
    page.get_by_role("button", name=t("Send the request")).click()
    expect(page.get_by_role("status")).to_contain_text(
        t("The unit was asked to act; its staff are notified.")
    )
    expect(page.get_by_role("main")).to_contain_text("Mời chị lên xã ký biên bản")
    page.get_by_role("button", name=t("Sign out")).click()

    pages.sign_in("officer.lh", DEMO_PASSWORD)
    page.get_by_role("link", name=t("Inbox")).click()
    asked = t("A higher unit asks your unit to act: case %(code)s", code=demo.moved_code)
    page.get_by_role("button", name=asked).first.click()
    expect(page.get_by_role("heading", name=t("Requests to act"))).to_be_visible()
    pages.check("asked-to-act")
    page.get_by_role("link", name=t("Answer: record what was done")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Answer a request to act"))
    page.get_by_label(t("What was done")).select_option("visit")
    page.get_by_label(t("Details")).fill("Đã đến nhà người quen, chị an toàn, có người ở cùng.")
    pages.check("answer-request")
    page.get_by_role("button", name=t("Record what was done")).click()
    expect(page.get_by_role("status")).to_contain_text(
        t("Recorded in the case's actions; the unit that asked is notified.")
    )
    expect(page.get_by_role("main")).to_contain_text("chị an toàn, có người ở cùng")
    pages.check("request-answered")


def test_reviewer_reads_the_report_of_her_province(pages: Pages) -> None:
    page, t = pages.page, pages.t
    pages.sign_in("reviewer.hy", DEMO_PASSWORD, code=True)
    page.get_by_role("link", name=t("Reports"), exact=True).click()
    expect(page.get_by_role("button", name=t("Show the report"))).to_be_visible()
    pages.check("report-form")
    page.get_by_role("button", name=t("Show the report")).click()
    expect(page.get_by_role("main")).to_contain_text(t("Cases received"))
    expect(page.locator(".report-table").first).to_be_visible()
    pages.check("report")


def test_the_page_checks_catch_a_violation(pages: Pages) -> None:
    """The checks every journey relies on do fail: an unlabelled field, an image the CSP forbids."""
    page = pages.page
    page.goto(pages.base_url + "/login")
    page.evaluate("document.querySelector('form').append(document.createElement('input'))")
    with pytest.raises(AccessibilityError, match="label"):
        pages.check("broken")

    page.goto(pages.base_url + "/login")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(
            "const img = document.createElement('img'); img.alt = '';"
            " img.src = 'http://192.0.2.1/tracker.png'; document.body.append(img)"
        )
    with pytest.raises(AssertionError, match="Content Security Policy"):
        pages.check("broken")
