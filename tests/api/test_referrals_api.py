"""Referral endpoints: the referring side needs the case's permissions, the partner's side only
her organisation's live, consented referrals (others are 404, audited), each step gives the web's
decision, and a step on a changed record is refused (412) with nothing changed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from casework.cases.models import Case
from casework.extensions import db
from casework.referrals import packets
from casework.referrals.models import Referral, ShelterStay
from tests.api.conftest import answers_for, is_problem, make_token
from tests.api.test_cases import _web_browser
from tests.api.test_openapi import _document, _validator
from tests.cases.conftest import open_case
from tests.conftest import CANARY, audit_text
from tests.referrals.conftest import ADDRESS, give, refer, victim_of, with_secrets

ROLES = (
    "officer_c1",
    "officer_c2",
    "reviewer_d1",
    "reviewer_d2",
    "reviewer_hy",
    "staff_a",
    "staff_b",
    "auditor",
    "admin",
)


def _consented(org) -> Case:  # type: ignore[no-untyped-def]
    case = with_secrets(open_case(org["officer_c1"]))
    give(org["officer_c1"], case, "refer_shelter")
    return case


def _body(case: Case, to, **overrides):  # type: ignore[no-untyped-def]
    body = {
        "person": str(victim_of(case).id),
        "partner": to.id,
        "services": ["shelter"],
        "needs": "A safe bed for two weeks",
    }
    body.update(overrides)
    return body


def _web_form(case: Case, partner) -> dict:  # type: ignore[no-untyped-def]
    return {
        **_body(case, partner),
        "partner": str(partner.id),
        "packet_fields": list(packets.default_fields("shelter")),
    }


def _referrals() -> int:
    return db.session.scalar(select(func.count(Referral.id))) or 0


def _fresh(referral: Referral) -> Referral:
    db.session.expire_all()
    return db.session.get(Referral, referral.id)


def _etag(referral: Referral) -> dict[str, str]:
    return {"If-Match": f'"{_fresh(referral).version}"'}


def _ok(status: int) -> str:
    return "ok" if status in (200, 201, 303) else str(status)


def test_every_role_gets_the_web_decision_on_sending_and_accepting(  # type: ignore[no-untyped-def]
    org, partners, new_browser, api
):
    people = {**org, **partners}
    decisions = {}
    for name in ROLES:
        user = people[name]
        token = make_token(user)
        browser = _web_browser(new_browser, user)
        web_case, api_case = _consented(org), _consented(org)
        url = f"/cases/{web_case.id}/referrals/new?kind=shelter"
        web_send = browser.post(url, _web_form(web_case, partners["shelter_a"]), page="/")
        api_send = api.post(
            f"/cases/{api_case.id}/referrals", token, _body(api_case, partners["shelter_a"])
        )
        web_ref = refer(org["officer_c1"], _consented(org), partners["shelter_a"])
        api_ref = refer(org["officer_c1"], _consented(org), partners["shelter_a"])
        web_accept = browser.post(
            f"/partner/referrals/{web_ref.id}/accept", {"step-version": web_ref.version}, page="/"
        )
        api_accept = api.post(
            f"/partner/referrals/{api_ref.id}/accept", token, headers=_etag(api_ref)
        )
        web = (_ok(web_send.status_code), _ok(web_accept.status_code))
        assert (_ok(api_send.status_code), _ok(api_accept.status_code)) == web, name
        decisions[name] = web
    assert decisions["officer_c1"] == ("ok", "403")
    assert decisions["staff_a"] == ("403", "ok")
    assert decisions["staff_b"] == ("403", "404")  # another organisation's: as if it did not exist
    for name in ("officer_c2", "reviewer_d1", "reviewer_d2", "reviewer_hy", "auditor", "admin"):
        assert "ok" not in decisions[name], name


def test_a_referral_is_sent_listed_read_by_its_partner_only_and_withdrawn(org, partners, api):  # type: ignore[no-untyped-def]
    case = _consented(org)
    officer, staff_a = make_token(org["officer_c1"]), make_token(partners["staff_a"])
    sent = api.post(f"/cases/{case.id}/referrals", officer, _body(case, partners["shelter_a"]))
    assert sent.status_code == 201, sent.get_json()
    referral_id = sent.get_json()["id"]
    assert sent.headers["ETag"] == f'"{sent.get_json()["version"]}"'
    listed = api.get(f"/cases/{case.id}/referrals", officer).get_json()["items"]
    assert [r["id"] for r in listed] == [referral_id] and listed[0]["status"] == "sent"
    assert api.get(f"/cases/{case.id}/referrals", make_token(org["officer_c2"])).status_code == 403

    queue = api.get("/partner/referrals", staff_a).get_json()
    assert [r["id"] for r in queue["new"]] == [referral_id]
    assert api.get("/partner/referrals", make_token(partners["staff_b"])).get_json()["new"] == []
    before = audit_text().count("referral:packet:view")
    packet = api.get(f"/partner/referrals/{referral_id}", staff_a)
    assert packet.status_code == 200 and audit_text().count("referral:packet:view") == before + 1
    text = packet.get_data(as_text=True)
    assert "A safe bed for two weeks" in text
    for secret in (CANARY, ADDRESS, case.code, str(case.id)):
        assert secret not in text
    assert is_problem(
        api.get(f"/partner/referrals/{referral_id}", make_token(partners["staff_b"])),
        404,
        "not-found",
    )

    withdraw = f"/referrals/{referral_id}/withdraw"
    referral = db.session.get(Referral, uuid_of(referral_id))
    assert is_problem(
        api.post(withdraw, officer, {"reason": "Safe elsewhere"}), 428, "precondition-required"
    )
    stale = api.post(withdraw, officer, {"reason": "x"}, headers={"If-Match": '"0"'})
    assert is_problem(stale, 412, "stale") and _fresh(referral).status == "sent"
    done = api.post(withdraw, officer, {"reason": "Safe elsewhere"}, headers=_etag(referral))
    assert done.status_code == 200 and done.get_json()["status"] == "withdrawn"
    gone = api.get(f"/partner/referrals/{referral_id}", staff_a)
    assert is_problem(gone, 404, "not-found") and "access:request:refused" in audit_text()


def uuid_of(value: str):  # type: ignore[no-untyped-def]
    import uuid

    return uuid.UUID(value)


def test_bad_referrals_change_nothing(org, partners, api):  # type: ignore[no-untyped-def]
    case = _consented(org)
    officer = make_token(org["officer_c1"])
    path = f"/cases/{case.id}/referrals"
    other = open_case(org["officer_c1"])
    bad = [
        _body(case, partners["shelter_a"], person=str(victim_of(other).id)),  # another case's
        _body(case, partners["shelter_a"], person="not-a-uuid"),
        _body(case, partners["shelter_b"]),  # does not serve the case's area
        _body(case, partners["shelter_a"], partner=999999),
        _body(case, partners["shelter_a"], services=["bicycle"]),
        _body(case, partners["shelter_a"], colour="red"),
        _body(case, partners["legal"], services=["legal_aid"]),  # no consent for legal aid
    ]
    for body in bad:
        assert is_problem(api.post(path, officer, body), 422, "invalid"), body
    assert _referrals() == 0


def test_a_partner_works_the_referral_through_to_completion(org, partners, api):  # type: ignore[no-untyped-def]
    referral = refer(org["officer_c1"], _consented(org), partners["shelter_a"])
    staff = make_token(partners["staff_a"])
    base = f"/partner/referrals/{referral.id}"
    assert is_problem(api.post(f"{base}/accept", staff), 428, "precondition-required")
    stale = api.post(f"{base}/accept", staff, headers={"If-Match": '"99"'})
    assert is_problem(stale, 412, "stale") and _fresh(referral).status == "sent"
    accepted = api.post(f"{base}/accept", staff, headers=_etag(referral))
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    assert accepted.headers["ETag"] == f'"{_fresh(referral).version}"'
    note = api.post(f"{base}/notes", staff, {"body": "She arrived safely"})
    assert note.status_code == 201 and note.get_json()["notes"][0]["body"] == "She arrived safely"
    assert is_problem(api.post(f"{base}/notes", staff, {"body": ""}), 422, "invalid")

    checked_in = api.post(f"{base}/stays", staff, {"at": "2020-01-01T08:00:00+07:00"})
    assert is_problem(checked_in, 422, "invalid")  # before the referral was sent
    assert db.session.scalar(select(func.count(ShelterStay.id))) == 0
    from casework.cases.support import local_today
    from casework.db import utcnow

    now = utcnow().isoformat()
    checked_in = api.post(f"{base}/stays", staff, {"at": now})
    assert checked_in.status_code == 201 and checked_in.get_json()["status"] == "in_service"
    stay = checked_in.get_json()["stays"][0]
    out = f"{base}/stays/{stay['id']}/check-out"
    assert is_problem(api.post(out, staff, {"at": now}, headers={"If-Match": '"7"'}), 412, "stale")
    left = api.post(out, staff, {"at": now}, headers={"If-Match": f'"{stay["version"]}"'})
    assert left.status_code == 200 and left.get_json()["stays"][0]["checked_out_at"]

    support = left.get_json()["services_recorded"][0]
    svc = f"{base}/services/{support['id']}"
    missing = api.post(
        svc, staff, {"result": "not_delivered"}, headers={"If-Match": f'"{support["version"]}"'}
    )
    assert is_problem(missing, 422, "invalid")
    delivered = api.post(
        svc,
        staff,
        {"result": "delivered", "on": local_today().isoformat()},  # her day, in Vietnam
        headers={"If-Match": f'"{support["version"]}"'},
    )
    assert delivered.status_code == 200, delivered.get_json()
    assert delivered.get_json()["services_recorded"][0]["status"] == "delivered"

    complete = api.post(
        f"{base}/complete", staff, {"outcome": "Back with her sister"}, headers=_etag(referral)
    )
    assert complete.status_code == 200 and complete.get_json()["status"] == "completed"
    assert is_problem(api.get(base, staff), 404, "not-found")  # the work is over
    done = api.get("/partner/referrals", staff).get_json()["done"]
    assert [r["id"] for r in done] == [str(referral.id)]


def test_a_partner_declines_with_a_reason(org, partners, api):  # type: ignore[no-untyped-def]
    referral = refer(org["officer_c1"], _consented(org), partners["shelter_a"])
    staff = make_token(partners["staff_a"])
    base = f"/partner/referrals/{referral.id}"
    assert is_problem(
        api.post(f"{base}/decline", staff, {}, headers=_etag(referral)), 422, "invalid"
    )
    assert _fresh(referral).status == "sent"
    declined = api.post(
        f"{base}/decline", staff, {"reason": "We are full"}, headers=_etag(referral)
    )
    assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
    assert _fresh(referral).decline_reason == "We are full"


def test_tokens_reach_only_their_side(org, partners, api):  # type: ignore[no-untyped-def]
    case = _consented(org)
    referral = refer(org["officer_c1"], case, partners["shelter_a"])
    staff = make_token(partners["staff_a"])
    assert api.get(f"/cases/{case.id}/referrals", staff).status_code == 403
    assert (
        api.post(
            f"/cases/{case.id}/referrals", staff, _body(case, partners["shelter_a"])
        ).status_code
        == 403
    )
    withdraw = api.post(
        f"/referrals/{referral.id}/withdraw", staff, {"reason": "x"}, headers=_etag(referral)
    )
    assert withdraw.status_code == 403 and _fresh(referral).status == "sent"
    assert api.get("/partner/referrals", make_token(org["officer_c1"])).status_code == 403
    read_only = make_token(partners["staff_a"], scope="read")
    assert api.get(f"/partner/referrals/{referral.id}", read_only).status_code == 200
    refused = api.post(
        f"/partner/referrals/{referral.id}/accept", read_only, headers=_etag(referral)
    )
    assert is_problem(refused, 403, "insufficient-scope") and _fresh(referral).status == "sent"


def test_referral_answers_match_their_declared_schemas(org, partners, api):  # type: ignore[no-untyped-def]
    officer, staff = make_token(org["officer_c1"]), make_token(partners["staff_a"])
    doc = _document(api, officer)
    case = _consented(org)
    sent = api.post(f"/cases/{case.id}/referrals", officer, _body(case, partners["shelter_a"]))
    referral = _fresh(db.session.scalar(select(Referral)))
    checks = [
        ("CaseReferral", sent),
        ("CaseReferralList", api.get(f"/cases/{case.id}/referrals", officer)),
        ("PartnerQueue", api.get("/partner/referrals", staff)),
        ("PartnerReferral", api.get(f"/partner/referrals/{referral.id}", staff)),
        (
            "PartnerReferral",
            api.post(f"/partner/referrals/{referral.id}/accept", staff, headers=_etag(referral)),
        ),
        (
            "PartnerReferral",
            api.post(f"/partner/referrals/{referral.id}/start", staff, headers=_etag(referral)),
        ),
        (
            "PartnerReferralRow",
            api.post(
                f"/partner/referrals/{referral.id}/complete",
                staff,
                {"outcome": "x"},
                headers=_etag(referral),
            ),
        ),
    ]
    for name, response in checks:
        assert response.status_code in (200, 201), (name, response.get_json())
        errors = list(_validator(doc, name).iter_errors(response.get_json()))
        assert not errors, (name, errors[:1])
    request = doc["components"]["schemas"]["ReferralRequest"]
    assert set(request["required"]) >= {"person", "partner"}
    assert "version" not in doc["components"]["schemas"]["ReferralReasonRequest"]["properties"]


NAMES = ["person", "partner", "services", "packet_fields", "needs", "pickup_confirmed", "colour"]
VALUES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.lists(st.text(max_size=12), max_size=3)
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4))
def test_sending_never_fails_with_a_server_error(org, partners, api, changes):  # type: ignore[no-untyped-def]
    case = _consented(org)
    before = _referrals()
    body = {**_body(case, partners["shelter_a"]), **changes}
    response = api.post(f"/cases/{case.id}/referrals", make_token(org["officer_c1"]), body)
    assert response.status_code in answers_for(body, 201), response.get_data(as_text=True)
    assert _referrals() == before + (1 if response.status_code == 201 else 0)
