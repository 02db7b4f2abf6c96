"""One realistic organisation, built once through the services, for the authorization matrix and
the reliability tests: a commune's case with everything a file holds, a referral that partner A
works, a pending escalation and a pending closure request, and staff of every role placed at the
case's own unit, its parent unit and a sibling commune.

TW (central) → HY (province) → D1 (district) → C1 (the cases' commune), C1B (its sibling)
                             → D2 → C2
Shelter A serves D1 (so C1's cases are referred to it); shelter B serves D2 only.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from casework.accounts.models import Unit, User
from casework.api.models import ApiToken
from casework.cases import attachments, consent, people, support, timeline
from casework.cases import service as cases
from casework.cases.models import Case, Person
from casework.cases.support import local_today
from casework.cases.workflow import requests
from casework.cases.workflow import service as wf
from casework.cases.workflow.models import (
    ActionRequest,
    ClosureRequest,
    Escalation,
    Notification,
    QuickReport,
)
from casework.dataprotection.models import Breach, DataRequest
from casework.db import utcnow
from casework.extensions import db
from casework.referrals import service as referrals
from casework.referrals import stays
from casework.referrals.models import Partner, Referral
from tests.conftest import CANARY, PASSWORD, make_partner, make_unit, make_user

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass(frozen=True)
class Actor:
    """A person the matrix acts as: role and relation to the case's commune (or to the partner)."""

    role: str  # a Role value, or "anonymous"
    relation: str  # own, parent, sibling, province (units); partner_a, partner_b; none
    username: str | None

    @property
    def name(self) -> str:
        return f"{self.role}@{self.relation}"


UNIT_OF_RELATION = {"own": "C1", "parent": "D1", "sibling": "C1B", "province": "HY"}


def actors() -> list[Actor]:
    """Every role at the case's own unit, its parent and a sibling commune; a province reviewer
    (the national export is hers); the staff of partner A (the referral's) and of partner B; and
    nobody signed in."""
    found = [
        Actor(role, relation, f"{role}.{relation}")
        for role in ("officer", "reviewer", "auditor", "admin")
        for relation in ("own", "parent", "sibling")
    ]
    found.append(Actor("reviewer", "province", "reviewer.province"))
    found += [Actor("partner", "partner_a", "staff.a"), Actor("partner", "partner_b", "staff.b")]
    found.append(Actor("anonymous", "none", None))
    return found


@dataclass
class World:
    """Ids of the objects the routes name (what a URL carries), and the actors' usernames."""

    ids: dict[str, Any] = field(default_factory=dict)

    def user(self, actor: Actor) -> User | None:
        if actor.username is None:
            return None
        return db.session.scalar(select(User).where(User.username == actor.username))

    def obj(self, name: str) -> Any:
        """The live object a route acts on, loaded in the current session (for can())."""
        model = OBJECT_MODELS[name]
        return db.session.get(model, self.ids[name])


OBJECT_MODELS: dict[str, type] = {
    "case": Case,
    "unit": Unit,
    "managed_user": User,
    "partner": Partner,
    "referral": Referral,
    "escalation": Escalation,
    "closure": ClosureRequest,
    "quick_report": QuickReport,
    "token": ApiToken,
    "notification": Notification,
    "data_request": DataRequest,
    "granted_request": DataRequest,
    "breach": Breach,
    "moved_case": Case,
    "action_request": ActionRequest,
}


def _serious(officer: User, summary: str) -> Case:
    """A classified, serious case (S3: a quick report is due) opened by the officer."""
    result = cases.open_case(
        officer,
        received_at=utcnow() - timedelta(hours=2),
        source="victim",
        types=["domestic_violence.physical"],
        summary=summary,
        victim_name=CANARY,
        victim_phone="0912 345 678",
        safe_contact="Call after 9 am, say you are from the health station",
    )
    case = result.case
    cases.classify(
        officer,
        case,
        expected_version=case.version,
        types=["domestic_violence"],
        severity="S3",
        risk="high",
        gbv_type=None,
    )
    db.session.commit()
    return case


def _victim(case: Case) -> Person:
    return db.session.scalar(
        select(Person).where(Person.case_id == case.id, Person.role == "victim")
    )


def build(app: Any) -> World:
    """Create the organisation and its records (inside an app context, committed)."""
    from casework.api import tokens

    app.config["ATTACHMENT_DIR"] = str(app.instance_path) + "/attachments-matrix"
    world = World()
    tw = make_unit("TW", "central")
    hy = make_unit("HY", "province", tw)
    d1 = make_unit("D1", "district", hy)
    d2 = make_unit("D2", "district", hy)
    c1 = make_unit("C1", "commune", d1)
    c1b = make_unit("C1B", "commune", d1)
    make_unit("C2", "commune", d2)
    units = {"TW": tw, "HY": hy, "D1": d1, "D2": d2, "C1": c1, "C1B": c1b}
    shelter_a = make_partner("Shelter A", "shelter", [d1])
    shelter_b = make_partner("Shelter B", "shelter", [d2])
    staff: dict[str, User] = {}
    for actor in actors():
        if actor.username is None:
            continue
        if actor.role == "partner":
            partner = shelter_a if actor.relation == "partner_a" else shelter_b
            staff[actor.name] = make_user(actor.username, "partner", partner=partner)
        else:
            unit = units[UNIT_OF_RELATION[actor.relation]]
            staff[actor.name] = make_user(actor.username, actor.role, unit)
    officer = staff["officer@own"]

    # The main case: a full file, referred to shelter A, who has accepted and checked her in.
    case = _serious(officer, f"{CANARY} was beaten by her husband last night.")
    victim = _victim(case)
    husband = people.add_person(
        officer, case, role="perpetrator", full_name="Husband Lê Văn Dữ", sex="male"
    )
    people.add_relationship(officer, case, husband, victim, "spouse")
    given = consent.give_consent(
        officer,
        case,
        subject=victim,
        purposes=["refer_shelter", "refer_police"],
        given_by="victim",
        method="verbal",
        given_at=utcnow() - timedelta(minutes=90),
    )
    basis = consent.record_legal_basis(
        officer, case, basis="protect_life", purpose="refer_legal_aid", note="Threatened"
    )
    assessment = timeline.add_assessment(
        officer,
        case,
        kind="safety",
        risk="high",
        findings="Threatened with a knife.",
        safety_plan="Papers kept at her sister's.",
    )
    action = timeline.add_action(
        officer,
        case,
        kind="visit",
        occurred_at=utcnow() - timedelta(minutes=60),
        description="Home visit with the commune police.",
    )
    service_row = support.add_support(
        officer,
        case,
        person=victim,
        service="counselling",
        partner=None,
        status="in_progress",
        started_on=local_today(),
        outcome="Talks more freely.",
    )
    follow_up = support.schedule_follow_up(officer, case)
    attachment = attachments.upload_attachment(
        officer, case, stream=io.BytesIO(PDF), filename="giay.pdf", description="Giấy chứng thương"
    )
    report = wf.send_quick_report(officer, case, "Woman injured; police informed.")
    db.session.commit()

    from casework.referrals import packets

    referral = referrals.send_referral(
        officer,
        case,
        person=victim,
        partner=shelter_a,
        services=["shelter"],
        fields=list(packets.default_fields("shelter")),
        needs="A safe bed for two weeks",
    )
    db.session.commit()
    referrals.accept_referral(staff["partner@partner_a"], referral, expected_version=1)
    db.session.commit()
    stay = stays.check_in(staff["partner@partner_a"], referral, at=utcnow() - timedelta(minutes=5))
    db.session.commit()
    from casework.referrals import delivery

    referral_service = delivery.services_of(referral)[0].support

    # A second case of the same commune waits for the district to take it (an escalation), a
    # third for the district's decision on closing it.
    escalated = _serious(officer, "Perpetrator is a commune official.")
    escalation = wf.request_escalation(officer, escalated, "Perpetrator is an official")
    closing = _serious(officer, "She has moved to her mother's.")
    closure = wf.request_closure(officer, closing, "resolved", "Safe with her mother")
    db.session.commit()

    # Data protection and retention: the victim asks for her data; a phone with the commune's
    # files is lost; the province holds the file for a court.
    from casework.dataprotection import breaches
    from casework.dataprotection import service as data_requests
    from casework.retention import service as retention

    data_request = data_requests.record_request(
        officer,
        case,
        victim,
        kind="access",
        requester_relation="subject",
        received_at=utcnow() - timedelta(minutes=30),
        details="She asks for a copy of what the Union holds about her.",
    )
    # A second access request, granted: the steps that carry a request out are open on it.
    granted = data_requests.record_request(
        officer,
        case,
        victim,
        kind="access",
        requester_relation="subject",
        received_at=utcnow() - timedelta(minutes=25),
        details="A copy for her lawyer.",
    )
    data_requests.review(
        staff["reviewer@own"],
        granted,
        approve=True,
        safety_concern=False,
        note=None,
        expected_version=granted.version,
    )
    breach = breaches.record_breach(
        officer,
        discovered_at=utcnow() - timedelta(minutes=20),
        categories=["identity", "contact"],
        units=[c1],
        description="A phone with the commune's contact list was lost at the market.",
        people_affected=3,
    )
    # Escalated to the district, which asks the commune that handled it to act.
    moved = _serious(officer, "Neighbours hear shouting every night.")
    wf.accept_escalation(
        staff["reviewer@parent"], wf.request_escalation(officer, moved, "Needs the district")
    )
    asked = requests.ask(
        staff["reviewer@parent"],
        moved,
        unit_id=c1.id,
        what="Visit her today and tell us how she is.",
        due_at=utcnow() + timedelta(hours=6),
    )
    hold = retention.set_hold(staff["reviewer@province"], case, "Court case pending", None)
    db.session.commit()

    token, _secret = tokens.create_token(
        officer, name="matrix", scope="write", days=30, current_password=PASSWORD
    )
    db.session.commit()
    note = db.session.scalar(
        select(Notification).where(Notification.user_id == staff["reviewer@parent"].id)
    )
    assert note is not None, "the district reviewer has no notification to open"

    world.ids.update(
        case=case.id,
        escalated_case=escalated.id,
        closing_case=closing.id,
        person=husband.id,
        victim=victim.id,
        consent=given[0].id,
        basis=basis.id,
        assessment=assessment.id,
        action=action.id,
        support=service_row.id,
        follow_up=follow_up.id,
        attachment=attachment.id,
        quick_report=report.id,
        referral=referral.id,
        stay=stay.id,
        escalation=escalation.id,
        closure=closure.id,
        token=token.id,
        notification=note.id,
        unit=c1.id,
        managed_user=officer.id,
        partner=shelter_a.id,
        data_request=data_request.id,
        granted_request=granted.id,
        breach=breach.id,
        hold=hold.id,
        moved_case=moved.id,
        action_request=asked.id,
    )
    world.ids["referral_support"] = referral_service.id
    return world
