"""Consent per purpose, its withdrawal, and the legal bases that stand where consent does not.

DOMAIN.md "Personal data protection": consent is per purpose, explicit, provable and withdrawable. An
adult gives it herself (a representative only with a reason); a child under 16 through her legal
representative, and a child aged 7 or more together with the representative; when the
representative is the alleged perpetrator, a substitute (another guardian or a child-protection
worker) stands in, with the reason. Without consent, only a recorded legal basis allows processing.
A withdrawn consent stays in the file's history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases import rows as case_rows
from casework.cases import vocab
from casework.cases.models import Case, Consent, LegalBasis, Person
from casework.cases.people import CHILD_UNDER, age_on, local_date
from casework.cases.service import check_version
from casework.cases.support import flush
from casework.db import utcnow
from casework.errors import Invalid, InvalidTransition
from casework.extensions import db
from casework.policy import Permission, require

CHILD_AGREES_FROM = 7  # years: a child this old must agree as well as her representative
REASON_MAX = 1000
NOTE_MAX = 2000

# Who may be the subject of a consent: the people whose data the Union handles and shares.
SUBJECT_ROLES = ("victim", "child")

# What each purpose means, said to the person before she agrees (shown beside each box).
PURPOSE_MEANINGS = {
    "record": _l(
        "The Union unit keeps a file on her case and works on it: what happened, who is involved, "
        "what is done."
    ),
    "share_higher_level": _l(
        "The Union at a higher level (district, province or central) may read the file to "
        "supervise, advise or take the case over."
    ),
    "refer_shelter": _l(
        "A trusted address or shelter receives what it needs to take her in: a first name, "
        "age, needs and a safe contact."
    ),
    "refer_legal_aid": _l(
        "A legal-aid centre receives what it needs to advise her or represent her for free."
    ),
    "refer_health": _l("A health facility receives what it needs to examine and treat her."),
    "refer_social": _l(
        "Social or child-protection services receive what they need to support her or the child."
    ),
    "refer_police": _l("The police receive what they need to protect her or investigate."),
    "contact_phone": _l(
        "Union staff may call her on the recorded number, only in the safe way she chose."
    ),
}


def _fail(message: object, field_name: str | None = None) -> Invalid:
    return Invalid(message, **({field_name: message} if field_name else {}))  # type: ignore[arg-type]


def subject_age(subject: Person, on: datetime) -> int | None:
    """The subject's age in whole years at a moment (None when her date of birth is not known)."""
    if subject.date_of_birth is None:
        return None
    return age_on(subject.date_of_birth, local_date(on))


def check_giver(
    *,
    age: int | None,
    role: str,
    given_by: str,
    representative_is_perpetrator: bool,
    reason: str | None,
    child_agrees: bool,
) -> None:
    """Who may give consent for this subject (DOMAIN.md), or an Invalid saying who must."""
    if given_by not in vocab.CONSENT_GIVERS:
        raise _fail(_l("Choose who gave consent."), "given_by")
    if age is None and role == "child":
        raise _fail(
            _l("Enter the child's date of birth first: who must agree depends on her age."),
            "subject",
        )
    if representative_is_perpetrator and given_by in ("representative", "child_and_representative"):
        raise _fail(
            _l(
                "The representative is the alleged perpetrator: another guardian or a "
                "child-protection worker gives consent instead, with the reason."
            ),
            "given_by",
        )
    if given_by == "substitute" and not reason:
        raise _fail(
            _l(
                "Say why a substitute gives consent (for example: the representative is the "
                "alleged perpetrator)."
            ),
            "reason",
        )
    if age is not None and age < CHILD_UNDER:
        if age >= CHILD_AGREES_FROM:
            if given_by not in ("child_and_representative", "substitute"):
                raise _fail(
                    _l("A child aged 7 or more must agree together with her representative."),
                    "given_by",
                )
            if given_by == "substitute" and not child_agrees:
                raise _fail(
                    _l("A child aged 7 or more must agree as well: tick that she agreed."),
                    "child_agrees",
                )
        elif given_by not in ("representative", "substitute"):
            raise _fail(_l("For a child under 7 her representative gives consent."), "given_by")
    elif given_by == "child_and_representative":
        raise _fail(_l("She is not a child: she gives consent herself."), "given_by")
    elif given_by == "representative" and not reason:
        raise _fail(
            _l("Say why her representative gives consent rather than she herself."), "reason"
        )


def give_consent(
    actor: User,
    case: Case,
    *,
    subject: Person,
    purposes: list[str],
    given_by: str,
    method: str,
    given_at: datetime,
    representative: Person | None = None,
    representative_is_perpetrator: bool = False,
    reason: str | None = None,
    child_agrees: bool = False,
) -> list[Consent]:
    """Record consent for each purpose, given by someone allowed to give it for this subject."""
    require(actor, Permission.CASE_EDIT, case)
    if subject.case_id != case.id or subject.role not in SUBJECT_ROLES:
        raise _fail(_l("Choose the victim or a child of this case."), "subject")
    wanted = list(dict.fromkeys(purposes))
    if not wanted:
        raise _fail(_l("Tick at least one purpose she agreed to."), "purposes")
    if any(p not in vocab.CONSENT_PURPOSES for p in wanted):
        raise _fail(_l("Unknown purpose."), "purposes")
    if method not in vocab.CONSENT_METHODS:
        raise _fail(_l("Choose how consent was given."), "method")
    if given_at > utcnow() + timedelta(minutes=5):
        raise _fail(_l("This time is in the future."), "given_at")
    if representative is not None:
        if representative.case_id != case.id or representative.id == subject.id:
            raise _fail(_l("Choose another person of this case."), "representative")
        # A representative recorded as the alleged perpetrator never gives consent himself.
        representative_is_perpetrator = (
            representative_is_perpetrator or representative.role == "perpetrator"
        )
    text = (reason or "").strip() or None
    if text is not None and len(text) > REASON_MAX:
        raise _fail(_l("At most %(n)d characters.", n=REASON_MAX), "reason")
    age = subject_age(subject, given_at)
    check_giver(
        age=age,
        role=subject.role,
        given_by=given_by,
        representative_is_perpetrator=representative_is_perpetrator,
        reason=text,
        child_agrees=child_agrees,
    )
    active = set(
        db.session.scalars(
            select(Consent.purpose).where(
                Consent.person_id == subject.id,
                Consent.purpose.in_(wanted),
                Consent.withdrawn_at.is_(None),
            )
        )
    )
    if active:
        raise _fail(
            _l(
                "Consent for %(purposes)s is already recorded and active.",
                purposes=", ".join(str(vocab.CONSENT_PURPOSES[p]) for p in sorted(active)),
            ),
            "purposes",
        )
    keep_representative = representative if given_by != "victim" else None
    child_agreed = given_by == "child_and_representative" or (
        given_by == "substitute" and age is not None and age < CHILD_UNDER and child_agrees
    )
    made = []
    for purpose in wanted:
        consent = Consent(
            id=uuid.uuid4(),
            case_id=case.id,
            person_id=subject.id,
            purpose=purpose,
            given_by=given_by,
            method=method,
            given_at=given_at,
            recorded_by_id=actor.id,
            representative_id=keep_representative.id if keep_representative else None,
        )
        consent.substitute_reason = text if given_by != "victim" else None
        db.session.add(consent)
        made.append(consent)
    db.session.flush()
    for consent in made:
        audit.record(
            actor,
            Tag.CONSENT_GIVE,
            case,
            consent_id=str(consent.id),
            person_id=str(subject.id),
            purpose=consent.purpose,
            given_by=given_by,
            method=method,
            representative_id=str(consent.representative_id) if consent.representative_id else None,
            representative_is_perpetrator=representative_is_perpetrator,
            child_agreed=child_agreed,
        )
    return made


def withdraw_consent(actor: User, case: Case, consent: Consent) -> None:
    """Record that consent was withdrawn, now; the consent stays in the file's history."""
    require(actor, Permission.CASE_EDIT, case)
    if consent.case_id != case.id:
        raise _fail(_l("This consent belongs to another case."))
    if consent.withdrawn_at is not None:
        raise InvalidTransition(_l("This consent was already withdrawn."))
    consent.withdrawn_at = utcnow()
    consent.withdrawn_recorded_by_id = actor.id
    db.session.flush()
    audit.record(
        actor,
        Tag.CONSENT_WITHDRAW,
        case,
        consent_id=str(consent.id),
        person_id=str(consent.person_id),
        purpose=consent.purpose,
    )


def record_legal_basis(
    actor: User, case: Case, *, basis: str, purpose: str, note: str | None
) -> LegalBasis:
    """Record the ground for processing without consent (life in danger, a legal duty), with a note."""
    require(actor, Permission.CASE_EDIT, case)
    if basis not in vocab.LEGAL_BASES:
        raise _fail(_l("Choose a legal basis from the list."), "basis")
    if purpose not in vocab.CONSENT_PURPOSES:
        raise _fail(_l("Choose a purpose from the list."), "purpose")
    text = (note or "").strip()
    if not text:
        raise _fail(_l("Explain the circumstances in a note."), "note")
    if len(text) > NOTE_MAX:
        raise _fail(_l("At most %(n)d characters.", n=NOTE_MAX), "note")
    row = LegalBasis(
        id=uuid.uuid4(), case_id=case.id, basis=basis, purpose=purpose, recorded_by_id=actor.id
    )
    row.note = text
    db.session.add(row)
    db.session.flush()
    audit.record(
        actor,
        Tag.LEGAL_BASIS_RECORD,
        case,
        legal_basis_id=str(row.id),
        basis=basis,
        purpose=purpose,
    )
    return row


def end_legal_basis(
    actor: User, case: Case, basis: LegalBasis, *, reason: str, expected_version: int | None
) -> None:
    """Record that a legal basis no longer holds, now, why and by whom: from then on it covers
    nothing (has_basis), and it stays in the file's history. Ended once only."""
    require(actor, Permission.CASE_EDIT, case)
    if basis.case_id != case.id:
        raise _fail(_l("This legal basis belongs to another case."))
    if basis.ended_at is not None:
        raise InvalidTransition(_l("This legal basis was already ended."))
    check_version(basis, expected_version)
    text = (reason or "").strip()
    if not text:
        raise _fail(_l("Say why the legal basis no longer holds."), "reason")
    if len(text) > NOTE_MAX:
        raise _fail(_l("At most %(n)d characters.", n=NOTE_MAX), "reason")
    basis.ended_at = utcnow()
    basis.ended_by_id = actor.id
    basis.end_reason = text
    flush()  # a concurrent end of the same row is refused as stale (version_id_col)
    audit.record(
        actor,
        Tag.LEGAL_BASIS_END,
        case,
        legal_basis_id=str(basis.id),
        basis=basis.basis,
        purpose=basis.purpose,
    )


def get_legal_basis(case: Case, basis_id: uuid.UUID) -> LegalBasis | None:
    basis = db.session.get(LegalBasis, basis_id)
    return basis if basis is not None and basis.case_id == case.id else None


def has_basis(case: Case, purpose: str) -> bool:
    """True when an active consent or an active legal basis covers this purpose for the case."""
    consent = exists().where(
        Consent.case_id == case.id, Consent.purpose == purpose, Consent.withdrawn_at.is_(None)
    )
    basis = exists().where(
        LegalBasis.case_id == case.id, LegalBasis.purpose == purpose, LegalBasis.ended_at.is_(None)
    )
    return bool(db.session.scalar(select(consent | basis)))


# --- Reading ------------------------------------------------------------------------------------


def get_consent(case: Case, consent_id: uuid.UUID) -> Consent | None:
    consent = db.session.get(Consent, consent_id)
    return consent if consent is not None and consent.case_id == case.id else None


@dataclass
class ConsentSection:
    active: list[Consent]
    withdrawn: list[Consent]
    bases: list[LegalBasis]
    recorders: dict[int, User]


def section(actor: User, case: Case) -> ConsentSection:
    """The case file's consent section: active and withdrawn consents, legal bases."""
    require(actor, Permission.CASE_READ, case)
    consents = (
        []
        if case_rows.none_of(Consent, case.id)
        else list(
            db.session.scalars(
                select(Consent)
                .where(Consent.case_id == case.id)
                .order_by(Consent.given_at.desc(), Consent.id)
            )
        )
    )
    bases = (
        []
        if case_rows.none_of(LegalBasis, case.id)
        else list(
            db.session.scalars(
                select(LegalBasis)
                .where(LegalBasis.case_id == case.id)
                .order_by(LegalBasis.recorded_at.desc(), LegalBasis.id)
            )
        )
    )
    ids = {c.recorded_by_id for c in consents} | {b.recorded_by_id for b in bases}
    ids |= {b.ended_by_id for b in bases if b.ended_by_id}
    ids |= {c.withdrawn_recorded_by_id for c in consents if c.withdrawn_recorded_by_id}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    )
    return ConsentSection(
        active=[c for c in consents if c.active],
        withdrawn=[c for c in consents if not c.active],
        bases=bases,
        recorders=users,
    )
