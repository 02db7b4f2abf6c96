"""Referral services (DESIGN.md §5): send, answer, serve, complete or withdraw; partner notes and
shelter stays; the partner's reads, every one audited.

The handling unit sends and withdraws (Permission.REFERRAL_SEND on the case); a partner's staff work
the referral (Permission.REFERRAL_WORK on it: her organisation's, live, still covered by consent or a
legal basis, checked at every call). Audit details carry ids, codes and field names only.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases import vocab
from casework.cases.consent import has_basis
from casework.cases.models import Case, Consent, Person, Support
from casework.cases.service import _text, check_version
from casework.cases.support import SUPPORTED_ROLES, eligible_partners, local_today
from casework.cases.workflow.notifications import notify
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition, StaleEdit
from casework.extensions import db
from casework.policy import Permission, Role, require
from casework.referrals import packets
from casework.referrals.models import (
    LIVE_STATUSES,
    Partner,
    Referral,
    ReferralNote,
    ReferralPacket,
    ShelterStay,
    referral_support,
)

TEXT_MAX = 2000
CLOCK_SKEW = timedelta(minutes=5)


class ConsentMissing(Invalid):
    """No active consent covers this kind of partner and no legal basis is recorded: not sent."""


def _refuse(field: str, message: Any) -> Invalid:
    return Invalid(message, **{field: message})


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise StaleEdit(
            _l("Someone else saved this record after you opened it. Your changes were not saved.")
        ) from exc


# --- Who hears of a referral --------------------------------------------------------------------


def referrers_of(referral: Referral) -> list[User]:
    """The referring unit's officers and reviewers."""
    return list(
        db.session.scalars(
            select(User).where(
                User.unit_id == referral.from_unit_id,
                User.role.in_((Role.OFFICER, Role.REVIEWER)),
                User.active.is_(True),
            )
        )
    )


def partner_staff(partner_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.partner_id == partner_id,
                User.role == Role.PARTNER,
                User.active.is_(True),
            )
        )
    )


def _tell_referrers(referral: Referral, kind: str, actor: User) -> None:
    notify(referrers_of(referral), kind, referral.case, referral.id, exclude=actor)


def _tell_partner(referral: Referral, kind: str) -> None:
    # No case: a partner's inbox never shows the case code, only the referral's own reference.
    notify(partner_staff(referral.partner_id), kind, None, referral.id)


# --- Sending ------------------------------------------------------------------------------------


def purpose_for(kind: str) -> str | None:
    return packets.KIND_PURPOSE.get(kind)


def consent_status(case: Case) -> dict[str, bool]:
    """For each kind of partner one can refer to: is it covered by consent or a legal basis now?"""
    return {kind: has_basis(case, purpose) for kind, purpose in packets.KIND_PURPOSE.items()}


def partners_for(case: Case, kind: str, services: list[str]) -> list[Partner]:
    """The active partners of this kind serving the case's area that offer every service named."""
    return [p for p in eligible_partners(case) if p.kind == kind and not p.lacks(services)]


def _check_offers(partner: Partner, services: list[str]) -> None:
    if missing := partner.lacks(services):
        raise _refuse(
            "partner",
            _l(
                "%(partner)s does not offer: %(services)s. Choose a partner that offers every "
                "service she needs.",
                partner=partner.name,
                services=", ".join(str(vocab.SERVICES[s]) for s in missing),
            ),
        )


def _new_packet(
    actor: User,
    referral: Referral,
    case: Case,
    person: Person,
    *,
    fields: list[str],
    needs: str | None,
    number: int,
) -> ReferralPacket:
    packet = ReferralPacket(
        id=uuid.uuid4(),
        referral_id=referral.id,
        case_id=case.id,
        number=number,
        fields=",".join(fields),
        created_by_id=actor.id,
    )
    packet.referral = referral
    packet.content = packets.build(
        case,
        person,
        referral.partner.kind,
        fields=fields,
        services=referral.service_codes,
        needs=needs,
    )
    db.session.add(packet)
    return packet


def send_referral(
    actor: User,
    case: Case,
    *,
    person: Person,
    partner: Partner,
    services: list[str],
    fields: list[str],
    needs: str | None = None,
    pickup_confirmed: bool = False,
) -> Referral:
    """Refer a victim or child to a partner serving the case's area, for named services, with an
    active consent for that kind of partner or a legal basis; the packet is frozen now."""
    require(actor, Permission.REFERRAL_SEND, case)
    if case.status == "closed":
        raise Invalid(_l("This case is closed. Reopen it before referring anyone."))
    if person.case_id != case.id or person.role not in SUPPORTED_ROLES:
        raise _refuse("person", _l("Choose a victim or a child of this case."))
    if partner.id not in {p.id for p in eligible_partners(case)}:
        raise _refuse("partner", _l("Choose an active partner that serves this case's area."))
    purpose = purpose_for(partner.kind)
    if purpose is None:
        raise _refuse(
            "partner",
            _l("No consent purpose covers this kind of partner: record the service instead."),
        )
    wanted = list(dict.fromkeys(services))
    if not wanted or any(s not in vocab.SERVICES for s in wanted):
        raise _refuse("services", _l("Choose at least one service from the list."))
    _check_offers(partner, wanted)
    chosen = packets.check_fields(partner.kind, fields, pickup_confirmed)
    text = _text(needs, TEXT_MAX, "needs")
    if not has_basis(case, purpose):
        message = _l(
            "No active consent covers a referral to this kind of partner, and no legal basis is "
            "recorded. Record her consent (or the legal basis) first."
        )
        raise ConsentMissing(message, partner=message)
    live = db.session.scalar(
        select(Referral.id).where(
            Referral.person_id == person.id,
            Referral.partner_id == partner.id,
            Referral.status.in_(LIVE_STATUSES),
        )
    )
    if live is not None:
        raise _refuse("partner", _l("She already has a live referral to this partner."))
    consent = db.session.scalar(
        select(Consent.id).where(
            Consent.case_id == case.id, Consent.purpose == purpose, Consent.withdrawn_at.is_(None)
        )
    )
    now = utcnow()
    hours = current_app.config["DEADLINE_HOURS"]["referral_answer"]
    referral = Referral(
        id=uuid.uuid4(),
        case_id=case.id,
        person_id=person.id,
        partner_id=partner.id,
        from_unit_id=case.handling_unit_id,
        purpose=purpose,
        basis="consent" if consent is not None else "legal_basis",
        services=",".join(wanted),
        status="sent",
        sent_at=now,
        sent_by_id=actor.id,
        answer_due_at=now + timedelta(hours=hours),
    )
    referral.partner = partner
    db.session.add(referral)
    packet = _new_packet(actor, referral, case, person, fields=chosen, needs=text, number=1)
    _flush()
    audit.record(
        actor,
        Tag.REFERRAL_SEND,
        case,
        referral_id=str(referral.id),
        packet_id=str(packet.id),
        person_id=str(person.id),
        partner_id=partner.id,
        services=wanted,
        fields=chosen,
        basis=referral.basis,
        pickup=any(f in packets.PICKUP_ONLY for f in chosen),
    )
    _tell_partner(referral, "referral_received")
    return referral


def reshare_packet(
    actor: User,
    referral: Referral,
    *,
    fields: list[str],
    needs: str | None,
    pickup_confirmed: bool = False,
) -> ReferralPacket:
    """Send the partner a fresh packet from the case as it is now (the old one stays on record)."""
    case = referral.case
    require(actor, Permission.REFERRAL_SEND, case)
    if not referral.live:
        raise InvalidTransition(_l("Only a live referral can be re-shared."))
    chosen = packets.check_fields(referral.partner.kind, fields, pickup_confirmed)
    text = _text(needs, TEXT_MAX, "needs")
    number = (
        db.session.scalar(
            select(func.max(ReferralPacket.number)).where(ReferralPacket.referral_id == referral.id)
        )
        or 0
    ) + 1
    packet = _new_packet(
        actor, referral, case, referral.person, fields=chosen, needs=text, number=number
    )
    _flush()
    audit.record(
        actor,
        Tag.REFERRAL_RESHARE,
        case,
        referral_id=str(referral.id),
        packet_id=str(packet.id),
        fields=chosen,
    )
    _tell_partner(referral, "referral_updated")
    return packet


def withdraw_referral(
    actor: User, referral: Referral, *, reason: str, expected_version: int | None
) -> None:
    """The referrer withdraws a live referral: the partner's access ends at once."""
    case = referral.case
    require(actor, Permission.REFERRAL_SEND, referral)
    check_version(referral, expected_version)
    if not referral.live:
        raise InvalidTransition(_l("This referral is no longer live."))
    text = _text(reason, TEXT_MAX, "reason", required=True)
    now = utcnow()
    referral.status = "withdrawn"
    referral.withdrawn_at = now
    referral.withdrawn_by_id = actor.id
    referral.withdraw_reason = text
    _stop_supports(referral, "stopped")
    stays = list(
        db.session.scalars(
            select(ShelterStay).where(
                ShelterStay.referral_id == referral.id, ShelterStay.checked_out_at.is_(None)
            )
        )
    )
    for stay in stays:
        stay.checked_out_at = max(now, stay.checked_in_at)
    _flush()
    audit.record(
        actor,
        Tag.REFERRAL_WITHDRAW,
        case,
        referral_id=str(referral.id),
        partner_id=referral.partner_id,
        stays_closed=[str(s.id) for s in stays],
        fields=["status", "withdraw_reason"],
    )
    _tell_partner(referral, "referral_withdrawn")


# --- The partner's side ---------------------------------------------------------------------


def _work(actor: User, referral: Referral, expected_version: int | None) -> None:
    # hide: a referral that is not hers (any more) is answered as if it did not exist.
    require(actor, Permission.REFERRAL_WORK, referral, hide=True)
    check_version(referral, expected_version)


def _step(referral: Referral, allowed_from: tuple[str, ...], to: str) -> None:
    if referral.status not in allowed_from:
        raise InvalidTransition(_l("This referral is not at a stage that allows this step."))
    referral.status = to


def _supports(referral: Referral) -> list[Support]:
    ids = select(referral_support.c.support_id).where(referral_support.c.referral_id == referral.id)
    return list(db.session.scalars(select(Support).where(Support.id.in_(ids))))


def _stop_supports(referral: Referral, status: str) -> None:
    today = local_today()
    for support in _supports(referral):
        if support.status in ("planned", "in_progress"):
            support.status = status
            support.ended_on = max(today, support.started_on or today)


def accept_referral(actor: User, referral: Referral, *, expected_version: int | None) -> None:
    """The partner takes the referral on; each service joins the case's support tracking."""
    _work(actor, referral, expected_version)
    _step(referral, ("sent",), "accepted")
    referral.answered_at = utcnow()
    referral.answered_by_id = actor.id
    made = []
    for code in referral.service_codes:
        support = Support(
            id=uuid.uuid4(),
            case_id=referral.case_id,
            person_id=referral.person_id,
            service=code,
            provider_partner_id=referral.partner_id,
            status="planned",
            created_by_id=actor.id,
        )
        db.session.add(support)
        made.append(support)
    _flush()
    db.session.execute(
        referral_support.insert(),
        [{"referral_id": referral.id, "support_id": s.id} for s in made],
    )
    audit.record(
        actor,
        Tag.REFERRAL_ACCEPT,
        referral.case,
        referral_id=str(referral.id),
        support_ids=[str(s.id) for s in made],
    )
    _tell_referrers(referral, "referral_accepted", actor)


def decline_referral(
    actor: User, referral: Referral, *, reason: str, expected_version: int | None
) -> None:
    """The partner declines, saying why; the referring unit is told."""
    _work(actor, referral, expected_version)
    text = _text(reason, TEXT_MAX, "reason", required=True)
    _step(referral, ("sent",), "declined")
    referral.answered_at = utcnow()
    referral.answered_by_id = actor.id
    referral.decline_reason = text
    _flush()
    audit.record(
        actor,
        Tag.REFERRAL_DECLINE,
        referral.case,
        referral_id=str(referral.id),
        fields=["status", "decline_reason"],
    )
    _tell_referrers(referral, "referral_declined", actor)


def _start(actor: User, referral: Referral) -> None:
    _step(referral, ("accepted",), "in_service")
    referral.started_at = utcnow()
    today = local_today()
    for support in _supports(referral):
        if support.status == "planned":
            support.status = "in_progress"
            support.started_on = today
    _flush()
    audit.record(actor, Tag.REFERRAL_START, referral.case, referral_id=str(referral.id))
    _tell_referrers(referral, "referral_in_service", actor)


def start_service(actor: User, referral: Referral, *, expected_version: int | None) -> None:
    """The partner starts serving her (services in progress on the case file)."""
    _work(actor, referral, expected_version)
    _start(actor, referral)


def complete_referral(
    actor: User, referral: Referral, *, outcome: str, expected_version: int | None
) -> None:
    """The partner has done what was asked: the outcome, and the services not recorded yet marked
    delivered. An accepted referral whose every service is recorded (none delivered, say: she
    never came) is completed without being put in service."""
    _work(actor, referral, expected_version)
    text = _text(outcome, TEXT_MAX, "outcome", required=True)
    if _open_stay(referral) is not None:
        raise _refuse("outcome", _l("Record her check-out before completing the referral."))
    supports = _supports(referral)
    recorded = bool(supports) and all(s.status in ("delivered", "stopped") for s in supports)
    _step(referral, ("in_service", "accepted") if recorded else ("in_service",), "completed")
    referral.completed_at = utcnow()
    referral.outcome = text
    _stop_supports(referral, "delivered")
    _flush()
    audit.record(
        actor,
        Tag.REFERRAL_COMPLETE,
        referral.case,
        referral_id=str(referral.id),
        fields=["status", "outcome"],
    )
    _tell_referrers(referral, "referral_completed", actor)


def add_note(actor: User, referral: Referral, body: str) -> ReferralNote:
    """A note from the partner to the referring unit (append-only)."""
    _work(actor, referral, None)
    text = _text(body, TEXT_MAX, "body", required=True)
    note = ReferralNote(
        id=uuid.uuid4(), referral_id=referral.id, case_id=referral.case_id, created_by_id=actor.id
    )
    note.body = text
    db.session.add(note)
    _flush()
    audit.record(
        actor,
        Tag.REFERRAL_NOTE_ADD,
        referral.case,
        referral_id=str(referral.id),
        note_id=str(note.id),
    )
    _tell_referrers(referral, "referral_note", actor)
    return note


def _open_stay(referral: Referral) -> ShelterStay | None:
    return db.session.scalar(
        select(ShelterStay).where(
            ShelterStay.referral_id == referral.id, ShelterStay.checked_out_at.is_(None)
        )
    )
