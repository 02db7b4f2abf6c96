"""Data-subject requests: registered by the units holding the file, acknowledged within two
working days and answered within 10/15/20 days (on the deadlines board), decided by a reviewer's
safety review, answered with an export or a crypto-shred, every step audited without personal data.
A request that may come from the alleged perpetrator never reaches a victim's data."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.cases import support
from casework.cases.people import local_today
from casework.dataprotection import service
from casework.dataprotection.models import DataRequest
from casework.db import utcnow
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import NotPermitted
from tests.cases.conftest import open_case
from tests.cases.test_views import _sign_in
from tests.conftest import CANARY, PASSWORD, audit_text, make_partner, make_user
from tests.dataprotection.conftest import HUSBAND, SISTER, SISTER_PHONE

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
REPORTER = "Phạm Thị Lan Hương"
SHELTER = "Nhà tạm lánh Bình An"


def _record(actor, family, who="victim", **overrides):  # type: ignore[no-untyped-def]
    fields = {
        "kind": "access",
        "requester_relation": "subject",
        "received_at": utcnow() - timedelta(hours=1),
        "details": "She asks for a copy of what the Union holds about her.",
    }
    fields.update(overrides)
    request = service.record_request(actor, family["case"], family[who], **fields)
    db.session.commit()
    return request


def _tags() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.tag).order_by(AuditEvent.seq)))


def test_deadlines_are_two_working_days_then_calendar_days_by_kind(app, family, org):
    # Received on a Friday evening in Vietnam: acknowledged by the end of Tuesday.
    friday = datetime(2026, 11, 27, 19, 0, tzinfo=TZ)
    request = _record(org["officer_c1"], family, received_at=friday.astimezone(ZoneInfo("UTC")))
    assert service.acknowledge_due(request).astimezone(TZ) == datetime(
        2026, 12, 1, 23, 59, 59, tzinfo=TZ
    )
    expected = {"access": 7, "restriction": 12, "withdrawal": 12, "erasure": 17}
    for kind, day in expected.items():
        request.kind = kind
        due = service.answer_due(request).astimezone(TZ)
        assert due == datetime(2026, 12, day, 23, 59, 59, tzinfo=TZ), kind


def test_an_unacknowledged_request_is_on_the_board_until_acknowledged(app, family, org, browser):
    received = datetime.combine(local_today() - timedelta(days=6), time(9), tzinfo=TZ)
    request = _record(org["officer_c1"], family, received_at=received)
    items = [d for _c, d in service.deadline_items(org["officer_c1"])]
    assert {d.kind for d in items if d.subject == str(request.id)} == {"data_request_ack"}
    _sign_in(browser, "officer.c1")
    board = browser.get("/deadlines").get_data(as_text=True)
    assert "Acknowledge a data-protection request" in board
    assert f"/data-protection/requests/{request.id}" in board
    page = f"/data-protection/requests/{request.id}"
    done = browser.post(f"{page}/acknowledge", {"version": str(request.version)}, page=page)
    assert done.status_code == 303
    board = browser.get("/deadlines").get_data(as_text=True)
    assert "Acknowledge a data-protection request" not in board
    assert db.session.get(DataRequest, request.id).status == "acknowledged"


def test_the_answer_deadline_shows_on_a_reviewers_board_once_due(app, family, org):
    received = utcnow() - timedelta(days=11)
    request = _record(org["officer_c1"], family, received_at=received)
    request.status, request.acknowledged_at = "acknowledged", received + timedelta(days=1)
    db.session.commit()
    from casework.cases.workflow import boards

    kinds = [(c.id, d.kind) for c, d in boards.board(org["reviewer_d1"]).items]
    assert (family["case"].id, "data_request_answer") in kinds
    assert (family["case"].id, "data_request_answer") not in [
        (c.id, d.kind) for c, d in boards.board(org["officer_c2"]).items
    ]


def test_only_a_reviewer_other_than_the_recorder_decides(app, family, org):
    commune_reviewer = make_user("reviewer.c1", "reviewer", org["C1"])
    request = _record(commune_reviewer, family)
    with pytest.raises(NotPermitted):  # her own request
        service.review(
            commune_reviewer,
            request,
            approve=True,
            safety_concern=False,
            note=None,
            expected_version=request.version,
        )
    db.session.rollback()
    with pytest.raises(NotPermitted):
        service.review(
            org["officer_c1"],
            request,
            approve=True,
            safety_concern=False,
            note=None,
            expected_version=request.version,
        )
    db.session.rollback()
    with pytest.raises(NotPermitted):  # a reviewer of another district
        service.review(
            org["reviewer_d2"],
            request,
            approve=True,
            safety_concern=False,
            note=None,
            expected_version=request.version,
        )
    db.session.rollback()
    service.review(
        org["reviewer_hy"],
        request,
        approve=True,
        safety_concern=False,
        note=None,
        expected_version=request.version,
    )
    db.session.commit()
    assert request.status == "approved" and request.acknowledged_at is not None


def test_nothing_is_exported_before_the_review(app, family, org):
    request = _record(org["officer_c1"], family)
    with pytest.raises(NotPermitted):
        service.export_html(
            org["officer_c1"], request, expected_version=request.version, password=PASSWORD
        )


def test_a_request_from_the_alleged_perpetrator_is_never_granted_for_the_victim(app, family, org):
    request = _record(
        org["officer_c1"], family, requester_relation="alleged_perpetrator", kind="access"
    )
    with pytest.raises(Invalid):
        service.review(
            org["reviewer_d1"],
            request,
            approve=True,
            safety_concern=False,
            note=None,
            expected_version=request.version,
        )
    db.session.rollback()
    # Even a request that claims to come from her: a reviewer's doubt is enough.
    claimed = _record(org["officer_c1"], family, requester_relation="subject")
    with pytest.raises(Invalid):
        service.review(
            org["reviewer_d1"],
            claimed,
            approve=True,
            safety_concern=True,
            note=None,
            expected_version=claimed.version,
        )
    db.session.rollback()
    # Approved before the concern was raised: the export still refuses.
    late = _record(org["officer_c1"], family)
    service.review(
        org["reviewer_d1"],
        late,
        approve=True,
        safety_concern=False,
        note=None,
        expected_version=late.version,
    )
    late.safety_concern = True
    db.session.commit()
    with pytest.raises(service.ReleaseRefused):
        service.export_html(
            org["officer_c1"], late, expected_version=late.version, password=PASSWORD
        )


def test_his_own_access_export_holds_only_his_record(app, org, browser):
    from casework.cases import people

    case = open_case(org["officer_c1"], reporter_name=REPORTER, reporter_relation="other")
    husband = people.add_person(
        org["officer_c1"], case, role="perpetrator", full_name=HUSBAND, sex="male"
    )
    db.session.commit()
    request = service.record_request(
        org["officer_c1"],
        case,
        husband,
        kind="access",
        requester_relation="subject",
        received_at=utcnow() - timedelta(hours=2),
        details="He wants what we hold on him.",
    )
    db.session.commit()
    service.review(
        org["reviewer_d1"],
        request,
        approve=True,
        safety_concern=False,
        note=None,
        expected_version=request.version,
    )
    db.session.commit()
    _sign_in(browser, "officer.c1")
    page = f"/data-protection/requests/{request.id}"
    # Like every export, it asks for the password again: a wrong one downloads nothing.
    refused = browser.post(
        f"{page}/export",
        {"version": str(request.version), "current_password": "not-her-password"},
        page=page,
    )
    assert refused.status_code == 303 and "Content-Disposition" not in refused.headers
    assert db.session.get(DataRequest, request.id).status == "approved"
    response = browser.post(
        f"{page}/export",
        {"version": str(request.version), "current_password": PASSWORD},
        page=page,
    )
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="data-request-{request.id}.html"'
    )
    html = response.get_data(as_text=True)
    assert HUSBAND in html
    assert CANARY not in html and REPORTER not in html and "0912 345 678" not in html
    assert "@media print" in html  # print-friendly
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.tag == "dataprotection:request:export")
        .order_by(AuditEvent.seq)
    ).all()
    assert [(e.actor_id, e.outcome) for e in events] == [
        (org["officer_c1"].id, "refused"),
        (org["officer_c1"].id, "ok"),
    ]
    assert HUSBAND not in audit_text() and CANARY not in audit_text()
    assert db.session.get(DataRequest, request.id).status == "completed"


def test_her_own_access_export_names_her_services_but_no_shelter_or_other_person(app, family, org):
    shelter = make_partner(SHELTER, "shelter", [org["C1"]])
    support.add_support(
        org["officer_c1"],
        family["case"],
        person=family["victim"],
        service="shelter",
        partner=shelter,
    )
    db.session.commit()
    request = _record(org["officer_c1"], family)
    service.review(
        org["reviewer_d1"],
        request,
        approve=True,
        safety_concern=False,
        note=None,
        expected_version=request.version,
    )
    db.session.commit()
    html = service.export_html(
        org["officer_c1"], request, expected_version=request.version, password=PASSWORD
    )
    assert CANARY in html and "0912 345 678" in html
    assert SHELTER not in html and HUSBAND not in html and SISTER not in html


def test_an_approved_erasure_shreds_her_and_leaves_the_file_readable(app, family, org, browser):
    sister = family["sister"]
    request = _record(org["officer_c1"], family, who="sister", kind="erasure")
    service.review(
        org["reviewer_d1"],
        request,
        approve=True,
        safety_concern=False,
        note=None,
        expected_version=request.version,
    )
    db.session.commit()
    _sign_in(browser, "officer.c1")
    page = f"/data-protection/requests/{request.id}"
    assert (
        browser.post(f"{page}/erase", {"version": str(request.version)}, page=page).status_code
        == 303
    )
    db.session.expire_all()
    assert db.session.get(type(sister), sister.id).erased
    html = browser.get(f"/cases/{family['case'].id}").get_data(as_text=True)
    assert SISTER not in html and SISTER_PHONE not in html and CANARY in html
    tags = _tags()
    assert "crypto:data_key:shred" in tags and "dataprotection:request:erase" in tags
    assert SISTER not in audit_text()
    assert db.session.get(DataRequest, request.id).status == "completed"


def test_an_unreviewed_erasure_erases_nothing(app, family, org, browser):
    request = _record(org["officer_c1"], family, who="sister", kind="erasure")
    _sign_in(browser, "officer.c1")
    page = f"/data-protection/requests/{request.id}"
    browser.post(f"{page}/erase", {"version": str(request.version)}, page=page)
    db.session.expire_all()
    assert not db.session.get(type(family["sister"]), family["sister"].id).erased


def test_another_commune_neither_sees_nor_records_requests(app, family, org, new_browser):
    request = _record(org["officer_c1"], family)
    other = new_browser()
    _sign_in(other, "officer.c2")
    assert other.get(f"/data-protection/requests/{request.id}").status_code == 404
    assert str(request.id) not in other.get("/data-protection/requests").get_data(as_text=True)
    with pytest.raises(NotPermitted):
        service.record_request(
            org["officer_c2"],
            family["case"],
            family["victim"],
            kind="access",
            requester_relation="subject",
            received_at=utcnow(),
            details="x",
        )


def test_the_request_form_registers_and_audits_without_personal_data(app, family, org, browser):
    _sign_in(browser, "officer.c1")
    url = f"/data-protection/cases/{family['case'].id}/requests/new"
    form = browser.get(url)
    assert form.status_code == 200 and SISTER in form.get_data(as_text=True)
    local_now = datetime.now(TZ).strftime("%Y-%m-%dT%H:%M")
    response = browser.post(
        url,
        {
            "person": str(family["sister"].id),
            "kind": "restriction",
            "requester_relation": "subject",
            "received_at": local_now,
            "details": f"{SISTER} asks that her address is no longer shared.",
        },
    )
    assert response.status_code == 303
    [request] = db.session.scalars(select(DataRequest)).all()
    assert request.kind == "restriction" and request.person_id == family["sister"].id
    assert SISTER not in audit_text() and SISTER not in response.location
