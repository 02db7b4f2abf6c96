"""The audit viewer: auditors see all, reviewers their subtree, officers nothing; exports are audited;
refusals are recorded even when their request rolls back; no victim's name ever reaches the log."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from datetime import date, timedelta

from flask_login import current_user
from sqlalchemy import select, text

from casework import audit
from casework.accounts import units
from casework.accounts.models import Unit
from casework.audit import Tag, checkpoints
from casework.audit.models import AuditEvent
from casework.audit.verify import verify_database
from casework.extensions import db
from casework.policy import Permission, require
from tests.conftest import CANARY, PASSWORD, current_code, get_user, make_tree, make_user


def _people(app):  # type: ignore[no-untyped-def]
    """Officers at C1 and C2, a reviewer at D1 (above C1 only), an auditor and an admin at TW."""
    with app.app_context():
        tree = make_tree()
        make_user("thu", "officer", tree["C1"])
        make_user("mai", "officer", tree["C2"])
        make_user("lan", "reviewer", tree["D1"])
        make_user("kiem", "auditor", tree["TW"])
        make_user("quan", "admin", tree["TW"])


def _sign_in(app, browser, username):  # type: ignore[no-untyped-def]
    with app.app_context():
        user = get_user(username)
        code = current_code(user) if user.totp_enabled else None
    response = browser.login(username, PASSWORD, code)
    assert response.status_code == 303 and response.location.endswith("/"), response.location


def _event_about(username: str | None, object_id: str, tag: Tag = Tag.USER_UPDATE) -> None:
    actor = get_user(username) if username else None
    audit.record(actor, tag, object_type="case", object_id=object_id, fields=["status"])
    db.session.commit()


def _last_event() -> AuditEvent:
    return db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))


def _seqs_on(page: str) -> list[int]:
    return [int(s) for s in re.findall(r"<tr>\s*<td>(\d+)</td>", page)]


def test_auditor_sees_staff_names_and_usernames_and_can_filter(app, browser):
    _people(app)
    with app.app_context():
        _event_about("thu", "c-1")
        _event_about("mai", "c-2")
    _sign_in(app, browser, "kiem")
    page = browser.get("/audit/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Staff thu" in html and "(thu)" in html and "Staff mai" in html
    assert 'href="/audit/"' in browser.get("/").get_data(as_text=True)  # the nav link

    by_thu = browser.get("/audit/?actor=THU").get_data(as_text=True)
    assert "(thu)" in by_thu and "(mai)" not in by_thu
    by_unit = browser.get("/audit/?unit=C2&tag=admin:user:update").get_data(as_text=True)
    assert "(mai)" in by_unit and "(thu)" not in by_unit
    by_object = browser.get("/audit/?object_type=case&object_id=c-1").get_data(as_text=True)
    assert len(_seqs_on(by_object)) == 1
    with app.app_context():
        audit.record(get_user("thu"), Tag.ACCESS_REFUSED, outcome="refused")
        db.session.commit()
        refused_seqs = set(
            db.session.scalars(select(AuditEvent.seq).where(AuditEvent.outcome == "refused"))
        )
    refused = browser.get("/audit/?outcome=refused").get_data(as_text=True)
    assert refused_seqs and set(_seqs_on(refused)) == refused_seqs
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert _seqs_on(browser.get(f"/audit/?date_from={tomorrow}").get_data(as_text=True)) == []
    today = date.today().isoformat()
    assert _seqs_on(
        browser.get(f"/audit/?date_from={today}&date_to={tomorrow}").get_data(as_text=True)
    )


def test_a_bad_filter_is_answered_with_422(app, browser):
    _people(app)
    _sign_in(app, browser, "kiem")
    assert browser.get("/audit/?date_from=yesterday").status_code == 422
    assert browser.get("/audit/?object_type=DROP%20TABLE").status_code == 422
    assert browser.get("/audit/?tag=no:such:tag").status_code == 422


def test_the_log_pages_by_sequence_number_newest_first(app, browser):
    _people(app)
    with app.app_context():
        for i in range(120):
            audit.record(None, Tag.ACCESS_REFUSED, outcome="refused", n=i)
        db.session.commit()
        head = _last_event().seq
    _sign_in(app, browser, "kiem")
    first = browser.get("/audit/?outcome=refused").get_data(as_text=True)
    seqs = _seqs_on(first)
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True) and seqs[0] >= head - 1
    older = re.search(r'href="(/audit/\?before=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "outcome=refused" in older
    second = browser.get(older).get_data(as_text=True)
    assert _seqs_on(second) == list(range(seqs[-1] - 1, seqs[-1] - 51, -1))
    newer = re.search(r'href="(/audit/\?after=\d+[^"]*)"', second).group(1).replace("&amp;", "&")
    assert _seqs_on(browser.get(newer).get_data(as_text=True)) == seqs


def test_reviewer_sees_only_events_of_staff_in_her_subtree(app, browser):
    _people(app)
    with app.app_context():
        _event_about("thu", "c-1")  # C1 is under D1
        _event_about("mai", "c-2")  # C2 is not
        _event_about(None, "c-3")  # no actor: not hers either
    _sign_in(app, browser, "lan")
    html = browser.get("/audit/").get_data(as_text=True)
    assert "(thu)" in html and "(mai)" not in html and "c-3" not in html
    # Filters cannot widen the scope.
    assert "(mai)" not in browser.get("/audit/?actor=mai").get_data(as_text=True)
    seen = browser.get("/audit/object/case/c-2").get_data(as_text=True)
    assert "(mai)" not in seen
    assert browser.get("/audit/checkpoint").status_code == 403


def test_officer_and_admin_get_403_on_the_viewer_and_the_refusal_is_recorded(
    app, browser, new_browser
):
    _people(app)
    _sign_in(app, browser, "thu")
    for url in ("/audit/", "/audit/object/case/c-1", "/audit/checkpoint"):
        assert browser.get(url).status_code == 403
    assert 'href="/audit/"' not in browser.get("/").get_data(as_text=True)
    assert (
        browser.post("/audit/export", {"current_password": PASSWORD}, page="/").status_code == 403
    )
    with app.app_context():
        event = _last_event()
        assert event.tag == Tag.ACCESS_REFUSED.value and event.outcome == "refused"
        assert event.actor_id == get_user("thu").id
        assert json.loads(event.details)["permission"] == Permission.AUDIT_READ.value
    admin = new_browser()
    _sign_in(app, admin, "quan")
    assert admin.get("/audit/").status_code == 403


def test_a_refused_request_leaves_a_refused_event_although_its_transaction_rolled_back(
    app, browser
):
    _people(app)

    @app.get("/_probe/refused-after-a-change")
    def probe():  # type: ignore[no-untyped-def]
        # A change (and its audit event) made before the refusal: both must be rolled back.
        parent = db.session.scalar(select(Unit).where(Unit.code == "D1"))
        units.create_unit(None, code="GHOST", name="Ghost", level="commune", parent=parent)
        require(current_user, Permission.USER_MANAGE)
        return "unreachable"

    _sign_in(app, browser, "thu")
    assert browser.get("/_probe/refused-after-a-change").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Unit).where(Unit.code == "GHOST")) is None
        tags = list(db.session.scalars(select(AuditEvent.tag)))
        assert tags.count(Tag.UNIT_CREATE.value) == 6  # the tree's own units, not the ghost
        event = _last_event()
        assert event.tag == Tag.ACCESS_REFUSED.value and event.outcome == "refused"
        assert event.actor_id == get_user("thu").id
        assert json.loads(event.details)["permission"] == Permission.USER_MANAGE.value
        report = verify_database()
        assert report.ok, report.problems


def _export(browser, data):  # type: ignore[no-untyped-def]
    return browser.post("/audit/export", data, page="/audit/")


def test_auditor_exports_csv_with_her_password_and_the_export_is_audited(app, browser):
    _people(app)
    with app.app_context():
        _event_about("thu", "c-1")
        _event_about("mai", "c-2")
    _sign_in(app, browser, "kiem")
    response = _export(browser, {"unit": "C1", "current_password": PASSWORD})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows and {r["actor_username"] for r in rows} == {"thu"}
    assert {r["actor_unit"] for r in rows} == {"C1"}
    with app.app_context():
        event = _last_event()
        assert event.tag == Tag.AUDIT_LOG_EXPORT.value and event.outcome == "ok"
        assert event.actor_id == get_user("kiem").id
        details = json.loads(event.details)
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "C1"))
        assert details == {"filter_unit_id": unit_id}
        assert int(rows[-1]["seq"]) < event.seq


def test_an_export_with_a_wrong_password_is_refused_and_recorded(app, browser):
    _people(app)
    _sign_in(app, browser, "kiem")
    response = _export(browser, {"current_password": "not my password at all"})
    assert response.status_code == 422
    assert "The password is not correct." in response.get_data(as_text=True)
    with app.app_context():
        event = _last_event()
        assert event.tag == Tag.AUDIT_LOG_EXPORT.value and event.outcome == "refused"


def test_export_cells_cannot_start_a_spreadsheet_formula(app, browser):
    with app.app_context():
        tree = make_tree()
        make_user("kiem", "auditor", tree["TW"])
        user = make_user("hoa", "officer", tree["C1"])
        user.display_name = "=HYPERLINK(1)"
        db.session.commit()
        _event_about("hoa", "c-9")
    _sign_in(app, browser, "kiem")
    rows = list(
        csv.reader(
            io.StringIO(_export(browser, {"current_password": PASSWORD}).get_data(as_text=True))
        )
    )
    assert any("'=HYPERLINK(1)" in row for row in rows)
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_who_has_seen_an_object_lists_every_person_with_an_event_about_it(app, browser):
    _people(app)
    with app.app_context():
        _event_about("thu", "c-1")
        _event_about("thu", "c-1")
        _event_about("lan", "c-1")
        audit.record(
            get_user("mai"),
            Tag.ACCESS_REFUSED,
            object_type="case",
            object_id="c-1",
            outcome="refused",
        )
        _event_about("mai", "c-other")
    _sign_in(app, browser, "kiem")
    html = browser.get("/audit/object/case/c-1").get_data(as_text=True)
    assert "(thu)" in html and "(lan)" in html and "(mai)" in html
    assert len(_seqs_on(html)) == 4
    assert browser.get("/audit/object/case/c%20x").status_code == 404


def test_auditor_downloads_a_signed_checkpoint(app, browser):
    _people(app)
    _sign_in(app, browser, "kiem")
    assert browser.get("/audit/checkpoint").status_code == 200
    response = browser.post("/audit/checkpoint", {}, page="/audit/checkpoint")
    assert response.status_code == 200
    head = checkpoints.parse_export(response.get_data(as_text=True))
    with app.app_context():
        assert checkpoints.signature_valid(app.config["MASTER_KEYRING"], head)
        event = db.session.get(AuditEvent, head.seq)
        assert event.tag == Tag.AUDIT_CHECKPOINT_CREATE.value
        assert event.actor_id == get_user("kiem").id


def _forms_of(value: str) -> list[str]:
    forms = {value, value.lower(), value.casefold()}
    for form in ("NFC", "NFD"):
        normal = unicodedata.normalize(form, value)
        forms |= {normal, json.dumps(normal)[1:-1], json.dumps(normal, ensure_ascii=False)[1:-1]}
    return sorted(forms)


def test_the_canary_never_appears_in_any_audit_row_after_a_login_flow(app, new_browser):
    _people(app)
    b = new_browser()
    # Failed sign-ins carrying the canary as username and as password.
    b.login(CANARY, CANARY)
    b.login("thu", CANARY)
    b.login(CANARY.lower(), PASSWORD)
    # A reviewer's second factor: wrong (the canary), then right; then a password change.
    b.login("lan", PASSWORD)
    b.post("/login/code", {"code": CANARY[:32]})
    with app.app_context():
        code = current_code(get_user("lan"))
    assert b.post("/login/code", {"code": code}).status_code == 303
    b.post(
        "/account/password",
        {"current_password": CANARY, "new_password": CANARY, "confirm": CANARY},
    )
    b.post("/logout", {}, page="/")
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())) > 20
        needles = _forms_of(CANARY) + _forms_of("Hoàng Yến")
        for table in ("audit_event", "audit_checkpoint"):
            for row in db.session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608 (fixed names)
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        blob = bytes(value)
                        assert not any(n.encode() in blob for n in needles)
                    elif value is not None:
                        assert not any(n in str(value) for n in needles), (table, value)
        assert verify_database().ok
