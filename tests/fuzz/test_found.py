"""What the fuzzer found, kept as plain examples so it stays fixed whatever the random draw."""

from __future__ import annotations

from tests.fuzz.harness import fingerprint


def test_an_export_without_a_year_says_what_is_missing(world, signed_in):  # type: ignore[no-untyped-def]
    # The year is the report choice's field: its error used to be lost (422 and no message).
    browser, token = signed_in("reviewer_hy")
    before = fingerprint()
    response = browser.raw_post(
        "/reports/export",
        data={
            "csrf_token": token,
            "unit": "C1",
            "kind": "month",
            "month": "1",
            "grouping": "recorded",
            "format": "csv",
            "current_password": "not my password",
        },
    )
    assert response.status_code == 422
    assert "Enter a year." in response.get_data(as_text=True)
    assert fingerprint() == before


def test_an_export_for_an_unknown_unit_says_so(world, signed_in):  # type: ignore[no-untyped-def]
    browser, token = signed_in("reviewer_hy")
    response = browser.raw_post(
        "/reports/export",
        data={
            "csrf_token": token,
            "unit": "NOWHERE",
            "kind": "month",
            "year": "2026",
            "month": "1",
            "grouping": "recorded",
            "format": "csv",
            "current_password": "not my password",
        },
    )
    assert response.status_code == 422
    assert "No unit has this code." in response.get_data(as_text=True)


def test_a_400_digit_year_is_refused_not_a_server_error(world, signed_in):  # type: ignore[no-untyped-def]
    browser, token = signed_in("reviewer_hy")
    response = browser.raw_post(
        "/reports/national",
        data={"csrf_token": token, "year": "9" * 400, "current_password": "not my password"},
    )
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)


def test_a_unit_file_that_stops_being_csv_is_reported_at_its_line(ctx):  # type: ignore[no-untyped-def]
    from casework.accounts import units

    lone_return = "code,name,level,parent_code\nTW,Trung ương,central,\nP1,Tỉnh\r Một,province,TW\n"
    open_quote = 'code,name,level,parent_code\nTW,Trung ương,central,\nP1,"Tỉnh Một,province,TW\n'
    for text in (lone_return, open_quote):
        report = units.import_csv(None, text)
        assert not report.ok
        assert {line for line, _ in report.errors} <= {1, 2, 3, 4}
        assert report.created == 0


def test_a_time_in_the_first_hours_of_year_one_is_refused(world, signed_in):  # type: ignore[no-untyped-def]
    # 0001-01-01 00:00 in Vietnam has no UTC time: converting it used to fail with a 500.
    browser, token = signed_in("officer_c1")
    before = fingerprint()
    response = browser.raw_post(
        f"/cases/{world['case'].id}/follow-ups/new",
        data={"csrf_token": token, "due_at": "0001-01-01T00:00"},
    )
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert fingerprint() == before


def test_withdrawing_a_withdrawn_referral_says_it_is_no_longer_live(world, signed_in):  # type: ignore[no-untyped-def]
    browser, token = signed_in("officer_c1")
    url = f"/cases/{world['case'].id}/referrals/{world['referral'].id}/withdraw"
    version = world["referral"].version
    first = browser.raw_post(url, data={"csrf_token": token, "version": version, "reason": "moved"})
    assert first.status_code == 303
    before = fingerprint()
    again = browser.raw_post(url, data={"csrf_token": token, "version": version + 1})
    assert again.status_code == 409
    assert "This referral is no longer live." in again.get_data(as_text=True)
    assert fingerprint() == before
