"""The administrator's user pages: list, create, change, deactivate, reactivate, resets; and who
may reach any admin page at all."""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from casework.accounts import users as user_admin
from casework.accounts.models import User
from casework.audit.models import AuditEvent
from casework.extensions import db
from tests.admin.conftest import SECRET, audit_tags, sign_in_as, user_row, version_on
from tests.conftest import PASSWORD, get_user, make_partner, make_user

NEW_PASSWORD = "a long new passphrase of mine"


def _create(browser, **fields: str):  # type: ignore[no-untyped-def]
    data = {"username": "mai", "display_name": "Trần Thị Mai", "role": "officer", "unit": "C1"}
    data["partner"] = "0"
    data.update(fields)
    return browser.post("/admin/users/new", data)


def _version(browser, user_id: int) -> int:
    return version_on(browser.get(f"/admin/users/{user_id}").get_data(as_text=True))


def _audit_blob(app) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        return " ".join(
            f"{e.tag} {e.object_type} {e.object_id} {e.details} {e.client_address}"
            for e in db.session.scalars(select(AuditEvent))
        )


# --- Who may reach the admin pages -------------------------------------------------------------


def _admin_urls(app, world) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every admin route and method, with ids that exist (a refusal must not depend on a 404)."""
    thu = user_row(app, "thu")
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin."):
                continue
            args = {"unit_id": world["C1"], "user_id": thu.id, "partner_id": 1}
            url = url_for(rule.endpoint, **{k: v for k, v in args.items() if k in rule.arguments})
            urls += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


@pytest.mark.parametrize("role", ["officer", "reviewer", "auditor", "partner"])
def test_other_roles_get_403_on_every_admin_page(app, browser, world, role):
    with app.app_context():
        from casework.accounts.models import Unit

        if role == "partner":
            make_user(
                "other", role, partner=make_partner(units=[db.session.get(Unit, world["C1"])])
            )
        else:
            make_user("other", role, db.session.get(Unit, world["TW"]))
    sign_in_as(app, browser, "other")
    urls = _admin_urls(app, world)
    assert len(urls) >= 15
    for method, url in urls:
        if method == "GET":
            response = browser.get(url)
        else:
            data = {"version": "1", "name": "x", "parent": "D2", "successor": "C2", "code": "Q1"}
            response = browser.post(url, data, page="/")
        assert response.status_code == 403, (method, url)
    assert user_row(app, "thu").active
    assert "Units</a>" not in browser.get("/").get_data(as_text=True)  # nor in the menu


# --- The list ---------------------------------------------------------------------------------


def test_user_list_shows_only_accounts_of_the_admins_subtree(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    page = browser.get("/admin/users").get_data(as_text=True)
    assert ">thu</a>" in page and ">hyadmin</a>" in page
    assert ">lan</a>" not in page and ">hnadmin</a>" not in page and ">root</a>" not in page


def test_user_list_shows_partner_staff_of_partners_serving_the_subtree(app, browser, world):
    with app.app_context():
        from casework.accounts.models import Unit

        ours = make_partner("Shelter HY", units=[db.session.get(Unit, world["C1"])])
        theirs = make_partner("Shelter HN", units=[db.session.get(Unit, world["C3"])])
        make_user("hoa", "partner", partner=ours)
        make_user("binh", "partner", partner=theirs)
    sign_in_as(app, browser, "hyadmin")
    page = browser.get("/admin/users?role=partner").get_data(as_text=True)
    assert ">hoa</a>" in page and ">binh</a>" not in page


def test_user_list_filters_by_role_unit_and_status(app, browser, world):
    with app.app_context():
        from casework.accounts.models import Unit

        make_user("cuc", "officer", db.session.get(Unit, world["C2"]))
        make_user("dao", "reviewer", db.session.get(Unit, world["D1"]))
        user_admin.deactivate_user(None, get_user("cuc"))
        db.session.commit()
    sign_in_as(app, browser, "hyadmin")
    officers = browser.get("/admin/users?role=officer").get_data(as_text=True)
    assert ">thu</a>" in officers and ">cuc</a>" in officers and ">dao</a>" not in officers
    in_d1 = browser.get("/admin/users?unit=D1").get_data(as_text=True)
    assert ">thu</a>" in in_d1 and ">dao</a>" in in_d1 and ">cuc</a>" not in in_d1
    inactive = browser.get("/admin/users?status=inactive").get_data(as_text=True)
    assert ">cuc</a>" in inactive and ">thu</a>" not in inactive


def test_user_list_refuses_a_unit_filter_outside_the_subtree_beside_the_field(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    for code in ("C3", "NOPE"):
        response = browser.get(f"/admin/users?unit={code}")
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert 'id="unit-error">No unit has this code among the units you administer.' in page
        assert ">lan</a>" not in page


def test_user_list_pages_fifty_at_a_time(app, browser, world):
    with app.app_context():
        from casework.accounts.models import Unit

        c2 = db.session.get(Unit, world["C2"])
        for i in range(55):
            user_admin.create_user(
                None, username=f"u{i:02d}", display_name=f"U {i}", role="officer", unit=c2
            )
        db.session.commit()
    sign_in_as(app, browser, "hyadmin")
    first = browser.get("/admin/users?unit=C2").get_data(as_text=True)
    assert first.count('<td><a href="/admin/users/') == 50
    assert "55 accounts" in first and "page 1 of 2" in first
    assert 'href="/admin/users?page=2&amp;unit=C2"' in first  # the filters stay on
    second = browser.get("/admin/users?unit=C2&page=2").get_data(as_text=True)
    assert second.count('<td><a href="/admin/users/') == 5


# --- Creating accounts ------------------------------------------------------------------------


def test_admin_creates_a_user_who_signs_in_with_the_temporary_password_and_must_change_it(
    app, browser, new_browser, world
):
    sign_in_as(app, browser, "hyadmin")
    response = _create(browser)
    assert response.status_code == 200
    temporary = SECRET.search(response.get_data(as_text=True)).group(1)
    mai = new_browser()
    assert mai.login("mai", temporary).status_code == 303
    forced = mai.get("/")
    assert forced.status_code == 303 and forced.location.endswith("/account/password")
    changed = mai.post(
        "/account/password",
        {"current_password": temporary, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 303
    assert mai.get("/").status_code == 200


def test_the_temporary_password_is_shown_once_and_kept_nowhere_else(app, browser, world, caplog):
    sign_in_as(app, browser, "hyadmin")
    response = _create(browser)
    temporary = SECRET.search(response.get_data(as_text=True)).group(1)
    assert "Location" not in response.headers
    mai = user_row(app, "mai")
    for url in (f"/admin/users/{mai.id}", "/admin/users", "/"):
        assert temporary not in browser.get(url).get_data(as_text=True)  # no flash either
    assert temporary not in _audit_blob(app)
    assert temporary not in caplog.text
    assert ("admin:user:create", "ok") in audit_tags(app)


def test_creating_a_user_with_an_unknown_unit_code_changes_nothing(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    response = _create(browser, unit="NOPE")
    assert response.status_code == 422
    assert 'id="unit-error">No unit has this code.' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "mai")) is None


def test_missing_fields_are_named_beside_each_field(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    response = _create(browser, username="", display_name="", unit="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="username-error">Enter a username.' in page
    assert 'id="display_name-error">Enter the person' in page
    no_unit = _create(browser, unit="")
    assert no_unit.status_code == 422
    assert 'id="unit-error">Choose the user' in no_unit.get_data(as_text=True)


def test_a_taken_username_is_refused_beside_the_field(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    response = _create(browser, username="THU")
    assert response.status_code == 422
    assert 'id="username-error">This username is taken.' in response.get_data(as_text=True)


def test_partner_staff_need_a_partner_organisation_from_the_list(app, browser, world):
    with app.app_context():
        from casework.accounts.models import Unit

        ours = make_partner("Shelter HY", units=[db.session.get(Unit, world["C1"])])
        theirs = make_partner("Shelter HN", units=[db.session.get(Unit, world["C3"])])
        ours_id, theirs_id = ours.id, theirs.id
    sign_in_as(app, browser, "hyadmin")
    form = browser.get("/admin/users/new").get_data(as_text=True)
    assert "Shelter HY" in form and "Shelter HN" not in form
    missing = _create(browser, role="partner", unit="")
    assert missing.status_code == 422
    assert (
        'id="partner-error">A partner user belongs to a partner organisation'
        in missing.get_data(as_text=True)
    )
    unknown = _create(browser, role="partner", unit="", partner=str(theirs_id))
    assert unknown.status_code == 422
    assert "Choose a partner organisation from the list." in unknown.get_data(as_text=True)
    created = _create(browser, role="partner", unit="", partner=str(ours_id))
    assert created.status_code == 200
    assert user_row(app, "mai").partner_id == ours_id


def test_province_admin_cannot_create_a_user_in_another_province(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    response = _create(browser, unit="C3")
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "mai")) is None


# --- One account ------------------------------------------------------------------------------


def test_user_page_title_never_carries_the_persons_name(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    thu = user_row(app, "thu")
    page = browser.get(f"/admin/users/{thu.id}").get_data(as_text=True)
    title = page.split("<title>")[1].split("</title>")[0]
    assert "Staff thu" in page and "thu" not in title


def test_deactivating_a_user_signs_her_out_at_once(app, browser, new_browser, world):
    thu_browser = new_browser()
    thu_browser.login("thu")
    assert thu_browser.get("/").status_code == 200
    sign_in_as(app, browser, "hyadmin")
    thu = user_row(app, "thu")
    response = browser.post(
        f"/admin/users/{thu.id}/deactivate", {"version": _version(browser, thu.id)}
    )
    assert response.status_code == 303
    assert "deactivated and signed out everywhere" in browser.get(response.location).get_data(
        as_text=True
    )
    signed_out = thu_browser.get("/")
    assert signed_out.status_code == 303 and signed_out.location.endswith("/login")
    assert new_browser().login("thu").status_code == 401
    assert ("admin:user:deactivate", "ok") in audit_tags(app)


def test_admin_reactivates_a_user(app, browser, new_browser, world):
    with app.app_context():
        user_admin.deactivate_user(None, get_user("thu"))
        db.session.commit()
    sign_in_as(app, browser, "hyadmin")
    thu = user_row(app, "thu")
    response = browser.post(
        f"/admin/users/{thu.id}/reactivate", {"version": _version(browser, thu.id)}
    )
    assert response.status_code == 303
    assert new_browser().login("thu").status_code == 303


def test_admin_cannot_deactivate_herself(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    me = user_row(app, "hyadmin")
    page = browser.get(f"/admin/users/{me.id}").get_data(as_text=True)
    assert "/deactivate" not in page
    response = browser.post(f"/admin/users/{me.id}/deactivate", {"version": me.version})
    assert response.status_code == 422
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert user_row(app, "hyadmin").active


def test_reset_password_shows_a_new_temporary_password_once(app, browser, new_browser, world):
    sign_in_as(app, browser, "hyadmin")
    thu = user_row(app, "thu")
    response = browser.post(
        f"/admin/users/{thu.id}/reset-password", {"version": _version(browser, thu.id)}
    )
    assert response.status_code == 200
    temporary = SECRET.search(response.get_data(as_text=True)).group(1)
    assert new_browser().login("thu", PASSWORD).status_code == 401  # the old one is gone
    again = new_browser()
    assert again.login("thu", temporary).status_code == 303
    assert again.get("/").location.endswith("/account/password")
    assert temporary not in browser.get(f"/admin/users/{thu.id}").get_data(as_text=True)
    assert temporary not in _audit_blob(app)
    assert ("admin:user:reset_password", "ok") in audit_tags(app)


def test_reset_second_factor_makes_the_user_set_up_a_new_one(app, browser, new_browser, world):
    with app.app_context():
        from casework.accounts.models import Unit

        make_user("dao", "reviewer", db.session.get(Unit, world["D1"]))
    sign_in_as(app, browser, "hyadmin")
    dao = user_row(app, "dao")
    assert dao.totp_enabled_at is not None
    response = browser.post(
        f"/admin/users/{dao.id}/reset-second-factor", {"version": _version(browser, dao.id)}
    )
    assert response.status_code == 303
    assert user_row(app, "dao").totp_enabled_at is None
    login = new_browser().login("dao")
    assert login.status_code == 303 and login.location.endswith("/login/second-factor-setup")


def test_a_stale_action_answers_409_and_changes_nothing(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    thu = user_row(app, "thu")
    seen = _version(browser, thu.id)
    with app.app_context():  # another admin resets her password meanwhile
        user_admin.reset_password(None, get_user("thu"))
        db.session.commit()
    response = browser.post(f"/admin/users/{thu.id}/deactivate", {"version": seen})
    assert response.status_code == 409
    assert "Someone else changed this account meanwhile." in response.get_data(as_text=True)
    assert user_row(app, "thu").active


def test_admin_changes_a_users_unit_and_role_which_signs_her_out(app, browser, new_browser, world):
    thu_browser = new_browser()
    thu_browser.login("thu")
    sign_in_as(app, browser, "hyadmin")
    thu = user_row(app, "thu")
    form = browser.get(f"/admin/users/{thu.id}/edit").get_data(as_text=True)
    assert 'value="C1"' in form
    response = browser.post(
        f"/admin/users/{thu.id}/edit",
        {
            "display_name": "Staff thu",
            "role": "reviewer",
            "unit": "D2",
            "partner": "0",
            "version": version_on(form),
        },
    )
    assert response.status_code == 303
    moved = user_row(app, "thu")
    assert moved.role == "reviewer" and moved.unit_id == world["D2"]
    assert thu_browser.get("/").status_code == 303
    assert ("admin:user:update", "ok") in audit_tags(app)


def test_a_stale_account_change_answers_409_and_changes_nothing(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    thu = user_row(app, "thu")
    form = browser.get(f"/admin/users/{thu.id}/edit").get_data(as_text=True)
    with app.app_context():  # another admin resets her password meanwhile
        user_admin.reset_password(None, get_user("thu"))
        db.session.commit()
    response = browser.post(
        f"/admin/users/{thu.id}/edit",
        {
            "display_name": "X",
            "role": "officer",
            "unit": "C2",
            "partner": "0",
            "version": version_on(form),
        },
    )
    assert response.status_code == 409
    unchanged = user_row(app, "thu")
    assert unchanged.unit_id == world["C1"] and unchanged.display_name == "Staff thu"


def test_admin_cannot_change_her_own_role(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    me = user_row(app, "hyadmin")
    response = browser.post(
        f"/admin/users/{me.id}/edit",
        {
            "display_name": "Staff hyadmin",
            "role": "officer",
            "unit": "HY",
            "partner": "0",
            "version": me.version,
        },
    )
    assert response.status_code == 422
    assert "You cannot change your own role" in response.get_data(as_text=True)
    assert user_row(app, "hyadmin").role == "admin"


def test_province_admin_cannot_manage_a_user_of_another_province(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    lan = user_row(app, "lan")
    assert browser.get(f"/admin/users/{lan.id}").status_code == 403
    for action in ("deactivate", "reset-password", "reset-second-factor"):
        response = browser.post(
            f"/admin/users/{lan.id}/{action}", {"version": lan.version}, page="/"
        )
        assert response.status_code == 403, action
    after = user_row(app, "lan")
    assert after.active and after.password_hash == lan.password_hash
    assert ("access:request:refused", "refused") in audit_tags(app)


def test_province_admin_cannot_move_her_user_into_another_province(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    thu = user_row(app, "thu")
    response = browser.post(
        f"/admin/users/{thu.id}/edit",
        {
            "display_name": "Staff thu",
            "role": "officer",
            "unit": "C3",
            "partner": "0",
            "version": thu.version,
        },
    )
    assert response.status_code == 403
    assert user_row(app, "thu").unit_id == world["C1"]


def test_central_admin_manages_users_of_every_province(app, browser, world):
    sign_in_as(app, browser, "root")
    page = browser.get("/admin/users").get_data(as_text=True)
    assert ">thu</a>" in page and ">lan</a>" in page
