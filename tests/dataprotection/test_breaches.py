"""The breach register: anyone on the staff records a suspected breach; the admins and auditors
who manage breaches see it on the deadlines board with its 72-hour notification deadline, and
mark it notified. The description is sealed in the database and never reaches the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from casework.dataprotection import breaches
from casework.dataprotection.models import Breach
from casework.db import utcnow
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import NotPermitted
from tests.cases.test_views import _sign_in
from tests.conftest import audit_text, make_user
from tests.crypto.conftest import capp, cctx  # noqa: F401 (fixtures)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "Chiếc điện thoại của cán bộ xã bị mất ở chợ Đồng Xuân"


def _breach(actor, units, hours_ago=1, **overrides):  # type: ignore[no-untyped-def]
    fields = {
        "discovered_at": utcnow() - timedelta(hours=hours_ago),
        "categories": ["identity", "contact"],
        "units": units,
        "description": SECRET,
        "people_affected": 12,
    }
    fields.update(overrides)
    breach = breaches.record_breach(actor, **fields)
    db.session.commit()
    return breach


def test_an_officer_records_a_breach_and_its_description_is_sealed(app, org):
    breach = _breach(org["officer_c1"], [org["C1"]])
    assert breaches.notify_due(breach) == breach.discovered_at + timedelta(hours=72)
    raw = db.session.scalar(select(Breach.description_sealed).where(Breach.id == breach.id))
    assert SECRET.encode() not in bytes(raw)
    assert SECRET not in audit_text()
    assert breaches.description(org["auditor"], breach) == SECRET


def test_an_officer_cannot_name_another_communes_data(app, org):
    with pytest.raises(Invalid):
        _breach(org["officer_c1"], [org["C2"]])


def test_the_managers_see_it_on_the_deadlines_board_and_the_officer_does_not(app, org, new_browser):
    breach = _breach(org["officer_c1"], [org["C1"]], hours_ago=80)  # overdue
    auditor = new_browser()
    _sign_in(auditor, "auditor.tw")
    board = auditor.get("/deadlines")
    assert board.status_code == 200
    html = board.get_data(as_text=True)
    assert f"/data-protection/breaches/{breach.id}" in html and "OVERDUE" in html
    officer = new_browser()
    _sign_in(officer, "officer.c1")
    assert f"/data-protection/breaches/{breach.id}" not in officer.get("/deadlines").get_data(
        as_text=True
    )
    assert officer.get(f"/data-protection/breaches/{breach.id}").status_code == 404


def test_a_province_admin_sees_only_breaches_touching_her_province(app, org):
    other = make_user("admin.other", "admin", make_other_province())
    breach = _breach(org["officer_c1"], [org["C1"]])
    province_admin = make_user("admin.hy", "admin", org["HY"])
    assert breach in breaches.visible_breaches(province_admin)
    assert breaches.visible_breaches(other) == []
    assert breach in breaches.visible_breaches(org["admin"])  # central


def make_other_province():  # type: ignore[no-untyped-def]
    from tests.conftest import make_unit

    return make_unit("HN", "province", db.session.scalar(select_root()))


def select_root():  # type: ignore[no-untyped-def]
    from casework.accounts.models import Unit

    return select(Unit).where(Unit.code == "TW")


def test_marking_notified_takes_it_off_the_board_and_is_audited(app, org, browser):
    breach = _breach(org["officer_c1"], [org["C1"]])
    _sign_in(browser, "admin.tw")
    home = browser.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/data-protection/breaches"' in home and 'href="/deadlines"' in home
    page = f"/data-protection/breaches/{breach.id}"
    html = browser.get(page).get_data(as_text=True)
    assert SECRET in html
    notified = datetime.now(TZ).strftime("%Y-%m-%dT%H:%M")
    response = browser.post(
        f"{page}/notified", {"version": str(breach.version), "notified_at": notified}, page=page
    )
    assert response.status_code == 303
    db.session.expire_all()
    stored = db.session.get(Breach, breach.id)
    assert stored.status == "notified" and stored.notified_by_id == org["admin"].id
    assert breaches.deadline_items(org["admin"]) == []
    assert "dataprotection:breach:notify" in audit_text()


def test_a_notification_before_the_discovery_is_refused(app, org):
    breach = _breach(org["officer_c1"], [org["C1"]], hours_ago=2)
    with pytest.raises(Invalid):
        breaches.mark_notified(
            org["auditor"],
            breach,
            notified_at=breach.discovered_at - timedelta(hours=1),
            expected_version=breach.version,
        )


def test_officers_cannot_read_or_mark_the_register(app, org):
    breach = _breach(org["officer_c1"], [org["C1"]])
    with pytest.raises(NotPermitted):
        breaches.description(org["officer_c1"], breach)
    db.session.rollback()
    with pytest.raises(NotPermitted):
        breaches.mark_notified(
            org["reviewer_d1"], breach, notified_at=utcnow(), expected_version=breach.version
        )


def test_the_form_records_a_breach(app, org, browser):
    _sign_in(browser, "officer.c1")
    response = browser.post(
        "/data-protection/breaches/new",
        {
            "discovered_at": datetime.now(TZ).strftime("%Y-%m-%dT%H:%M"),
            "categories": ["contact"],
            "units": [str(org["C1"].id)],
            "description": SECRET,
        },
    )
    assert response.status_code == 303
    [breach] = db.session.scalars(select(Breach)).all()
    assert breach.category_codes == ["contact"] and [u.unit_id for u in breach.units] == [
        org["C1"].id
    ]


def test_a_key_rotation_reseals_descriptions_and_retires_the_old_key(cctx):  # type: ignore[no-untyped-def]  # noqa: F811
    from casework.crypto import rotation, secretbox
    from tests.conftest import make_unit

    central = make_unit("TW", "central")
    auditor = make_user("auditor.tw", "auditor", central)
    breach = _breach(auditor, [central])
    old = cctx.config["MASTER_KEYRING"].primary_id
    report = rotation.run(cctx, grace_seconds=0)
    assert report.retired == [old]
    db.session.expire_all()
    stored = db.session.get(Breach, breach.id)
    assert (
        secretbox.key_id_of(stored.description_sealed) == cctx.config["MASTER_KEYRING"].primary_id
    )
    assert breaches.description(auditor, stored) == SECRET
