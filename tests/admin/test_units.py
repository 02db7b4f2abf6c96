"""The administrator's unit pages: browse, search, create, rename, move, retire."""

from __future__ import annotations

from casework.accounts import units
from casework.extensions import db
from tests.admin.conftest import audit_tags, sign_in_as, unit_row, version_on
from tests.conftest import make_unit


def test_unit_page_shows_parents_as_breadcrumbs_children_as_links_and_user_counts(
    app, browser, world
):
    sign_in_as(app, browser, "root")
    page = browser.get(f"/admin/units/{world['D1']}").get_data(as_text=True)
    crumbs = page.split('class="breadcrumbs"')[1].split("</ol>")[0]
    assert (
        f'href="/admin/units/{world["TW"]}"' in crumbs
        and f'href="/admin/units/{world["HY"]}"' in crumbs
    )
    assert f'href="/admin/units/{world["C1"]}"' in page
    assert "0 at this unit, 1 with the units below it" in page  # the officer thu, at C1


def test_unit_page_shows_one_level_only(app, browser, world):
    sign_in_as(app, browser, "root")
    page = browser.get(f"/admin/units/{world['TW']}").get_data(as_text=True)
    assert "Unit HY" in page and "Hội LHPN Hà Nội" in page
    assert "Unit D1" not in page and "Unit C1" not in page


def test_search_finds_units_by_code_or_name_only_in_the_admins_subtree(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    page = browser.get("/admin/units?q=c").get_data(as_text=True)
    assert "Unit C1" in page and "Unit C2" in page
    assert "Unit C3" not in page  # another province
    by_name = browser.get("/admin/units?q=unit+d2").get_data(as_text=True)
    assert "Unit D2" in by_name and "Unit D1" not in by_name


def test_search_shows_at_most_fifty_units_and_says_so(app, browser, world):
    with app.app_context():
        rows = [units.UnitRow(0, f"X{i:03d}", f"Xã {i}", "commune", "D1") for i in range(60)]
        assert units.import_rows(None, rows).ok
        db.session.commit()
    sign_in_as(app, browser, "root")
    page = browser.get("/admin/units?q=X").get_data(as_text=True)
    assert page.count("<code>X0") == 50
    assert "Only the first 50 units are shown" in page


def test_admin_creates_a_unit_below_hers(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    response = browser.post(
        f"/admin/units/{world['D1']}/new", {"code": "C9", "name": "Xã Mới", "level": "commune"}
    )
    assert response.status_code == 303
    created = unit_row(app, "C9")
    assert response.location.endswith(f"/admin/units/{created.id}")
    assert created.parent_id == world["D1"] and created.name == "Xã Mới"
    assert "Unit C9 has been created." in browser.get(response.location).get_data(as_text=True)
    assert ("admin:unit:create", "ok") in audit_tags(app)


def test_a_taken_code_is_refused_beside_the_field_and_nothing_is_created(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    response = browser.post(
        f"/admin/units/{world['D1']}/new", {"code": "C2", "name": "Xã Trùng", "level": "commune"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="code-error">Another unit already has this code.' in page
    assert unit_row(app, "C2").name == "Unit C2"


def test_missing_fields_are_named_beside_each_field(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    response = browser.post(
        f"/admin/units/{world['D1']}/new", {"code": "", "name": "", "level": ""}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="code-error">Enter a code.' in page and 'id="name-error">Enter a name.' in page


def test_admin_renames_a_unit(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    form = browser.get(f"/admin/units/{world['C1']}/rename").get_data(as_text=True)
    response = browser.post(
        f"/admin/units/{world['C1']}/rename", {"name": "Xã Đông", "version": version_on(form)}
    )
    assert response.status_code == 303
    assert unit_row(app, "C1").name == "Xã Đông"
    assert "The unit has been renamed." in browser.get(response.location).get_data(as_text=True)


def test_admin_moves_a_unit_under_another_parent_chosen_by_code(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    form = browser.get(f"/admin/units/{world['C1']}/move").get_data(as_text=True)
    response = browser.post(
        f"/admin/units/{world['C1']}/move", {"parent": "D2", "version": version_on(form)}
    )
    assert response.status_code == 303
    assert unit_row(app, "C1").parent_id == world["D2"]
    assert ("admin:unit:move", "ok") in audit_tags(app)


def test_a_move_under_its_own_descendant_is_refused(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    version = unit_row(app, "D1").version
    response = browser.post(
        f"/admin/units/{world['D1']}/move", {"parent": "C1", "version": version}
    )
    assert response.status_code == 422
    assert "cannot be moved under itself or one of its own units" in response.get_data(as_text=True)
    assert unit_row(app, "D1").parent_id == world["HY"]


def test_a_move_to_an_unknown_code_is_refused_beside_the_field(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    version = unit_row(app, "C1").version
    response = browser.post(
        f"/admin/units/{world['C1']}/move", {"parent": "NOPE", "version": version}
    )
    assert response.status_code == 422
    assert 'id="parent-error">No unit has this code.' in response.get_data(as_text=True)
    assert unit_row(app, "C1").parent_id == world["D1"]


def test_admin_retires_a_unit_naming_its_successor(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    version = unit_row(app, "C2").version
    response = browser.post(
        f"/admin/units/{world['C2']}/retire", {"successor": "C1", "version": version}
    )
    assert response.status_code == 303
    retired = unit_row(app, "C2")
    assert retired.retired_at is not None and retired.successor_id == world["C1"]
    page = browser.get(response.location).get_data(as_text=True)
    assert "Retired on" in page and "Rename</a>" not in page


def test_a_unit_with_active_users_cannot_be_retired(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    version = unit_row(app, "C1").version
    response = browser.post(
        f"/admin/units/{world['C1']}/retire", {"successor": "C2", "version": version}
    )
    assert response.status_code == 422
    assert "Move or deactivate this unit&#39;s user accounts first." in response.get_data(
        as_text=True
    )
    assert unit_row(app, "C1").retired_at is None


def test_a_stale_rename_answers_409_and_changes_nothing(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    form = browser.get(f"/admin/units/{world['C1']}/rename").get_data(as_text=True)
    seen = version_on(form)
    with app.app_context():  # someone else renames it meanwhile
        units.rename_unit(None, db.session.get(units.Unit, world["C1"]), "Xã Bắc")
        db.session.commit()
    response = browser.post(
        f"/admin/units/{world['C1']}/rename", {"name": "Xã Nam", "version": seen}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else changed this unit meanwhile." in page
    assert "Reload the form with the current data" in page
    assert unit_row(app, "C1").name == "Xã Bắc"


def test_a_stale_move_answers_409_and_changes_nothing(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    seen = version_on(browser.get(f"/admin/units/{world['C1']}/move").get_data(as_text=True))
    browser.post(
        f"/admin/units/{world['C1']}/rename", {"name": "Xã Bắc", "version": seen}
    )  # another tab
    response = browser.post(f"/admin/units/{world['C1']}/move", {"parent": "D2", "version": seen})
    assert response.status_code == 409
    assert unit_row(app, "C1").parent_id == world["D1"]


def test_province_admin_cannot_see_or_change_a_unit_of_another_province(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    hn = unit_row(app, "HN")
    assert browser.get(f"/admin/units/{world['HN']}").status_code == 403
    assert browser.get(f"/admin/units/{world['C3']}/rename").status_code == 403
    renamed = browser.post(
        f"/admin/units/{world['HN']}/rename",
        {"name": "Taken over", "version": hn.version},
        page="/",
    )
    assert renamed.status_code == 403
    created = browser.post(
        f"/admin/units/{world['D3']}/new",
        {"code": "C8", "name": "Xã", "level": "commune"},
        page="/",
    )
    assert created.status_code == 403
    assert unit_row(app, "HN").name == "Hội LHPN Hà Nội"
    assert ("access:request:refused", "refused") in audit_tags(app)


def test_province_admin_cannot_move_her_unit_into_another_province(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    version = unit_row(app, "C1").version
    response = browser.post(
        f"/admin/units/{world['C1']}/move", {"parent": "D3", "version": version}
    )
    assert response.status_code == 403
    assert unit_row(app, "C1").parent_id == world["D1"]


def test_province_admin_cannot_name_a_successor_in_another_province(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    version = unit_row(app, "C2").version
    response = browser.post(
        f"/admin/units/{world['C2']}/retire", {"successor": "C3", "version": version}
    )
    assert response.status_code == 403
    assert unit_row(app, "C2").retired_at is None


def test_province_admin_sees_the_central_unit_in_breadcrumbs_without_a_link(app, browser, world):
    sign_in_as(app, browser, "hyadmin")
    page = browser.get(f"/admin/units/{world['D1']}").get_data(as_text=True)
    crumbs = page.split('class="breadcrumbs"')[1].split("</ol>")[0]
    assert "Unit TW" in crumbs and f'href="/admin/units/{world["TW"]}"' not in crumbs
    assert f'href="/admin/units/{world["HY"]}"' in crumbs


def test_no_unit_can_be_added_below_the_lowest_level(app, browser, world):
    with app.app_context():
        make_unit("C7", "commune", db.session.get(units.Unit, world["D1"]))
    sign_in_as(app, browser, "hyadmin")
    c7 = unit_row(app, "C7")
    page = browser.get(f"/admin/units/{c7.id}").get_data(as_text=True)
    assert "Add a unit below" not in page
    response = browser.post(
        f"/admin/units/{c7.id}/new", {"code": "Z1", "name": "Z", "level": "commune"}
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(units.Unit).where(units.Unit.code == "Z1")) is None
