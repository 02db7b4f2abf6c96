"""People, relationships, consent and legal bases through the API: the web's decisions for every
role, the web's validation, If-Match on the versioned records, identities only for full readers."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from casework.cases.models import Consent, LegalBasis, Person, Relationship
from casework.extensions import db
from tests.api.conftest import is_problem, make_token
from tests.api.test_cases import ROLES, _web_browser, _with_partner
from tests.cases.conftest import open_case
from tests.conftest import CANARY, audit_text


def _victim(case) -> Person:  # type: ignore[no-untyped-def]
    return db.session.scalar(
        select(Person).where(Person.case_id == case.id, Person.role == "victim")
    )


def _person_body(**fields: object) -> dict[str, object]:
    return {"role": "child", "full_name": "Bé Na", "sex": "female", **fields}


def _consent_body(subject: Person, **fields: object) -> dict[str, object]:
    return {
        "subject": str(subject.id),
        "purposes": ["record", "contact_phone"],
        "given_by": "victim",
        "method": "verbal",
        "given_at": "2026-11-28T20:30:00+07:00",
        **fields,
    }


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_every_role_gets_the_web_decision_for_people_and_consent(org, new_browser, api):  # type: ignore[no-untyped-def]
    everyone = _with_partner(org)
    case = open_case(org["officer_c1"])
    decisions = {}
    for name in ROLES:
        user = everyone[name]
        token = make_token(user)
        browser = _web_browser(new_browser, user)
        # Refused bodies first (nothing changes), so that each role sees the same file.
        web = (
            browser.post(f"/cases/{case.id}/people/new", {}, page="/cases/").status_code,
            browser.post(f"/cases/{case.id}/consent/new", {}, page="/cases/").status_code,
        )
        through_api = (
            api.post(f"/cases/{case.id}/people", token, {}).status_code,
            api.post(f"/cases/{case.id}/consent", token, {}).status_code,
        )
        assert through_api == web, name
        reads = (
            api.get(f"/cases/{case.id}/people", token).status_code,
            api.get(f"/cases/{case.id}/consent", token).status_code,
        )
        decisions[name] = (*web, *reads)
    assert decisions["officer_c1"] == (422, 422, 200, 200)
    for name in ("officer_c2", "reviewer_d1", "reviewer_d2", "reviewer_hy"):
        assert decisions[name] == (403, 403, 403, 403), name
    for name in ("partner", "auditor", "admin"):
        assert decisions[name] == (403, 403, 403, 403), name
    assert _count(Person) == 1 and _count(Consent) == 0


def test_the_same_valid_write_is_refused_or_made_as_on_the_web(org, new_browser, api):  # type: ignore[no-untyped-def]
    """A valid body: the unit's officer adds through either door, others through neither."""
    everyone = _with_partner(org)
    case = open_case(org["officer_c1"])
    victim = _victim(case)
    for name in ROLES:
        user = everyone[name]
        browser = _web_browser(new_browser, user)
        web = browser.post(
            f"/cases/{case.id}/people/new", {**_person_body(), "disability": ""}, page="/cases/"
        ).status_code
        through_api = api.post(f"/cases/{case.id}/people", make_token(user), _person_body())
        assert through_api.status_code == {303: 201}.get(web, web), name
        web_consent = {**_consent_body(victim), "given_at": "2026-11-28T20:30"}
        web = browser.post(
            f"/cases/{case.id}/consent/new", {**web_consent, "representative": ""}, page="/cases/"
        ).status_code
        body = _consent_body(victim, purposes=["refer_health"])  # not the web's: no duplicate
        through_api = api.post(f"/cases/{case.id}/consent", make_token(user), body)
        assert through_api.status_code == {303: 201}.get(web, web), name
        assert web == (303 if name == "officer_c1" else 403), name
    assert _count(Person) == 3  # the victim and one child through each door, by officer_c1 only
    assert _count(Consent) == 3  # two purposes through the web, one through the API


def test_people_are_added_listed_and_corrected_with_if_match(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    added = api.post(f"/cases/{case.id}/people", token, _person_body(date_of_birth="2018-03-01"))
    assert added.status_code == 201 and added.headers["ETag"] == '"1"'
    child = added.get_json()
    assert child["full_name"] == "Bé Na" and child["is_child"] is True
    listed = api.get(f"/cases/{case.id}/people", token).get_json()["items"]
    assert [p["full_name"] for p in listed] == [CANARY, "Bé Na"]
    url = f"/cases/{case.id}/people/{child['id']}"
    assert is_problem(
        api.patch(url, token, {"phone": "0911 222 333"}), 428, "precondition-required"
    )
    changed = api.patch(url, token, {"phone": "0911 222 333"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    assert changed.get_json()["phone"] == "0911 222 333"
    assert changed.get_json()["date_of_birth"] == "2018-03-01"  # members not sent are kept
    stale = api.patch(url, token, {"full_name": "Someone else"}, headers={"If-Match": '"1"'})
    assert is_problem(stale, 412, "stale")
    db.session.expire_all()
    assert db.session.get(Person, uuid.UUID(child["id"])).full_name == "Bé Na"


def test_bad_person_input_is_422_by_field_and_changes_nothing(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    response = api.post(
        f"/cases/{case.id}/people",
        token,
        _person_body(role="stranger", phone="call me", colour="red", date_of_birth="2999-01-01"),
    )
    assert is_problem(response, 422, "invalid")
    assert set(response.get_json()["errors"]) == {"colour"}  # unknown members are refused first
    wrong = api.post(f"/cases/{case.id}/people", token, _person_body(role="stranger", phone="x"))
    assert is_problem(wrong, 422, "invalid") and "role" in wrong.get_json()["errors"]
    future = api.post(f"/cases/{case.id}/people", token, _person_body(date_of_birth="2999-01-01"))
    assert is_problem(future, 422, "invalid") and "date_of_birth" in future.get_json()["errors"]
    assert _count(Person) == 1


def test_relationships_between_people_of_the_same_case(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    other_case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    husband = api.post(
        f"/cases/{case.id}/people", token, _person_body(role="perpetrator", sex="male")
    ).get_json()
    url = f"/cases/{case.id}/people/{husband['id']}/relationships"
    made = api.post(url, token, {"kind": "spouse", "other": str(_victim(case).id)})
    assert made.status_code == 201 and made.get_json()["kind"] == "spouse"
    again = api.post(url, token, {"kind": "spouse", "other": str(_victim(case).id)})
    assert is_problem(again, 422, "invalid") and "other" in again.get_json()["errors"]
    elsewhere = api.post(url, token, {"kind": "spouse", "other": str(_victim(other_case).id)})
    assert is_problem(elsewhere, 422, "invalid")
    assert _count(Relationship) == 1
    links = api.get(f"/cases/{case.id}/people", token).get_json()["items"][1]["links"]
    assert links[0]["other_id"] == str(_victim(case).id)


def test_consent_is_given_listed_and_withdrawn(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    given = api.post(f"/cases/{case.id}/consent", token, _consent_body(_victim(case)))
    assert given.status_code == 201
    items = given.get_json()["items"]
    assert sorted(c["purpose"] for c in items) == ["contact_phone", "record"]
    assert items[0]["given_at"].startswith("2026-11-28T13:30:00")  # 20:30 in Vietnam, in UTC
    url = f"/cases/{case.id}/consent/{items[0]['id']}/withdraw"
    withdrawn = api.post(url, token)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["active"] is False
    assert is_problem(api.post(url, token), 409, "conflict")
    section = api.get(f"/cases/{case.id}/consent", token).get_json()
    assert [c["active"] for c in section["consents"]] == [True, False]
    missing = api.post(f"/cases/{case.id}/consent/{case.id}/withdraw", token)
    assert is_problem(missing, 404, "not-found")


def test_bad_consent_is_422_and_records_nothing(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    victim = _victim(case)
    for body in (
        _consent_body(victim, purposes=[]),
        _consent_body(victim, given_at="2026-11-28T20:30"),  # no offset
        {**_consent_body(victim), "subject": "not-a-person"},
        _consent_body(victim, method="telepathy"),
    ):
        assert is_problem(api.post(f"/cases/{case.id}/consent", token, body), 422, "invalid")
    assert _count(Consent) == 0


def test_legal_basis_is_recorded_and_ended_with_if_match(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    body = {"basis": "protect_life", "purpose": "refer_police", "note": "She is in danger now."}
    made = api.post(f"/cases/{case.id}/legal-bases", token, body)
    assert made.status_code == 201, made.get_json()
    url = f"/cases/{case.id}/legal-bases/{made.get_json()['id']}/end"
    end = {"reason": "The danger is over."}
    assert is_problem(api.post(url, token, end), 428, "precondition-required")
    assert is_problem(api.post(url, token, end, headers={"If-Match": '"7"'}), 412, "stale")
    assert is_problem(api.post(url, token, {}, headers={"If-Match": '"1"'}), 422, "invalid")
    db.session.expire_all()
    assert db.session.scalar(select(LegalBasis.ended_at)) is None
    ended = api.post(url, token, end, headers={"If-Match": '"1"'})
    assert ended.status_code == 200 and ended.get_json()["active"] is False
    assert is_problem(api.post(url, token, end, headers={"If-Match": '"2"'}), 409, "conflict")


def test_a_read_only_token_changes_nothing(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"], scope="read")
    assert api.get(f"/cases/{case.id}/people", token).status_code == 200
    refused = api.post(f"/cases/{case.id}/people", token, _person_body())
    assert is_problem(refused, 403, "insufficient-scope")
    refused = api.post(f"/cases/{case.id}/consent", token, _consent_body(_victim(case)))
    assert is_problem(refused, 403, "insufficient-scope")
    assert _count(Person) == 1 and _count(Consent) == 0


def test_reads_are_audited_as_the_file_and_no_name_reaches_the_audit_or_logs(org, api, caplog):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    before = audit_text().count("case:file:view")
    response = api.get(f"/cases/{case.id}/people", token)
    assert response.get_json()["items"][0]["full_name"] == CANARY  # the full reader sees it
    api.get(f"/cases/{case.id}/consent", token)
    assert audit_text().count("case:file:view") == before + 2
    api.post(f"/cases/{case.id}/people", token, _person_body(full_name=CANARY + " Junior"))
    api.post(f"/cases/{case.id}/people", token, _person_body(full_name=CANARY, role="nonsense"))
    refused = api.get(f"/cases/{case.id}/people", make_token(org["officer_c2"]))
    assert is_problem(refused, 403, "forbidden") and CANARY not in refused.get_data(as_text=True)
    text = audit_text()
    assert text.count("case:person:add") == 1  # the refused one left no event
    assert CANARY not in text
    assert CANARY not in caplog.text


def test_a_record_of_another_case_is_not_found_here(org, api):  # type: ignore[no-untyped-def]
    case = open_case(org["officer_c1"])
    other = open_case(org["officer_c1"])
    token = make_token(org["officer_c1"])
    stranger = _victim(other)
    url = f"/cases/{case.id}/people/{stranger.id}"
    response = api.patch(url, token, {"full_name": "Changed"}, headers={"If-Match": '"1"'})
    assert is_problem(response, 404, "not-found")
    assert is_problem(api.post(f"{url}/relationships", token, {}), 404, "not-found")
    db.session.expire_all()
    assert db.session.get(Person, stranger.id).full_name == CANARY
