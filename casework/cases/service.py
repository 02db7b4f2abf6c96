"""The case file's core services: intake, viewing, editing, classification, break-glass.

Services take the acting user explicitly, check the policy, change data, record the audit event in the
same transaction and flush; the request commits. People, consent and the timeline have modules of
their own (people.py, consent.py, timeline.py, support.py, attachments.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from casework import audit
from casework.accounts import passwords
from casework.accounts.models import Unit, User
from casework.audit import Tag
from casework.cases import vocab
from casework.cases.models import BreakGlass, Case, CaseCounter, CaseType, Person, Recusal
from casework.cases.workflow import states
from casework.db import utcnow
from casework.errors import Invalid, StaleEdit
from casework.extensions import db
from casework.policy import NotPermitted, Permission, require

SUMMARY_MAX = 4000
NAME_MAX = 200
CONTACT_MAX = 300


def check_version(record: object, expected_version: int | None) -> None:
    """Refuse an edit made on a form loaded before someone else's save."""
    if expected_version is not None and getattr(record, "version") != expected_version:  # noqa: B009
        raise StaleEdit(
            _l("Someone else saved this record after you opened it. Your changes were not saved.")
        )


def _text(value: str | None, limit: int, field_name: str, *, required: bool = False) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            message = _l("This information is required.")
            raise Invalid(message, **{field_name: message})
        return None
    if len(value) > limit:
        message = _l("At most %(n)d characters.", n=limit)
        raise Invalid(message, **{field_name: message})
    return value


def _check_past(moment: datetime, field_name: str) -> None:
    if moment > utcnow() + timedelta(minutes=5):
        message = _l("This time is in the future.")
        raise Invalid(message, **{field_name: message})


def _check_types(codes: list[str]) -> list[str]:
    known = set(vocab.all_type_codes())
    unique = list(dict.fromkeys(codes))
    if not unique:
        message = _l("Choose at least one case type.")
        raise Invalid(message, types=message)
    if any(code not in known for code in unique):
        message = _l("Unknown case type.")
        raise Invalid(message, types=message)
    # A sub-type implies its main type.
    for code in list(unique):
        main = code.partition(".")[0]
        if main not in unique:
            unique.append(main)
    return sorted(unique)


def code_prefix(unit: Unit) -> str:
    """The province-level code (or the unit's own at the top), so a code tells where, not who."""
    chain = [unit, *unit.ancestors()]
    return chain[-2].code if len(chain) >= 2 else chain[-1].code


def next_case_code(unit: Unit, year: int) -> str:
    """Allocate the next code atomically (one upsert; safe with concurrent intakes)."""
    prefix = code_prefix(unit)[:16]
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(CaseCounter)
        .values(prefix=prefix, year=year, last=1)
        .on_conflict_do_update(
            index_elements=["prefix", "year"], set_={"last": CaseCounter.last + 1}
        )
        .returning(CaseCounter.last)
    )
    number = db.session.execute(stmt).scalar_one()
    return f"{prefix}-{year}-{number:06d}"


@dataclass(frozen=True)
class Alert:
    """What the safety screen means for the officer now: a duty and its deadline."""

    code: str
    message: object
    due: datetime | None = None


@dataclass
class IntakeResult:
    case: Case
    alerts: list[Alert] = field(default_factory=list)


def alerts_for(case: Case) -> list[Alert]:
    """The notifications and timers that apply at once (DOMAIN.md "Timers the software watches")."""
    alerts: list[Alert] = []
    start = case.received_at
    types = set(case.type_codes)
    if "domestic_violence" in types:
        alerts.append(
            Alert(
                "notify_commune_chair",
                _l(
                    "Domestic violence: tell the commune People's Committee chair immediately (DV law art. 20)."
                ),
                start + timedelta(hours=1),
            )
        )
    if case.child_involved or "child_abuse" in types:
        alerts.append(
            Alert(
                "report_child_abuse",
                _l(
                    "A child is involved: report immediately to hotline 111, the commune People's Committee or the police."
                ),
                start,
            )
        )
        if case.immediate_danger:
            alerts.append(
                Alert(
                    "child_emergency_12h",
                    _l("Child at serious risk: emergency intervention within 12 hours."),
                    start + timedelta(hours=12),
                )
            )
        alerts.append(
            Alert(
                "child_plan_5_working_days",
                _l("Child support and intervention plan within 5 working days."),
            )
        )
    if case.sexual_violence:
        alerts.append(
            Alert(
                "medical_referral_72h",
                _l(
                    "Sexual violence: medical referral within 72 hours (HIV prevention) and 120 hours (emergency contraception) of the assault."
                ),
                start + timedelta(hours=72),
            )
        )
    if case.immediate_danger:
        alerts.append(
            Alert(
                "safety_plan_now",
                _l(
                    "Immediate danger: make a safety plan now; consider a shelter and a contact ban."
                ),
            )
        )
    return alerts


def open_case(
    actor: User,
    *,
    received_at: datetime,
    source: str,
    types: list[str],
    summary: str,
    victim_name: str,
    victim_sex: str = "female",
    victim_phone: str | None = None,
    safe_contact: str | None = None,
    place_unit: Unit | None = None,
    immediate_danger: bool = False,
    child_involved: bool = False,
    injuries: bool = False,
    sexual_violence: bool = False,
    reporter_name: str | None = None,
    reporter_contact: str | None = None,
    reporter_relation: str | None = None,
) -> IntakeResult:
    """Intake: record a case at the officer's own unit, with its first victim and safety screen."""
    unit = actor.unit
    if unit is None:
        raise NotPermitted(Permission.CASE_CREATE)
    require(actor, Permission.CASE_CREATE, unit)
    if source not in vocab.SOURCES:
        message = _l("Choose how the case reached you.")
        raise Invalid(message, source=message)
    if victim_sex not in vocab.SEXES:
        message = _l("Choose a value from the list.")
        raise Invalid(message, victim_sex=message)
    if reporter_relation is not None and reporter_relation not in vocab.RELATIONSHIPS:
        message = _l("Choose a value from the list.")
        raise Invalid(message, reporter_relation=message)
    _check_past(received_at, "received_at")
    type_codes = _check_types(types)
    summary_text = _text(summary, SUMMARY_MAX, "summary", required=True)
    name = _text(victim_name, NAME_MAX, "victim_name", required=True)
    phone = _text(victim_phone, 40, "victim_phone")
    contact = _text(safe_contact, CONTACT_MAX, "safe_contact")
    if phone is not None:
        from casework.crypto import normalise

        if normalise.PHONE(phone) is None:
            message = _l("Enter a phone number of digits, with or without +84.")
            raise Invalid(message, victim_phone=message)

    year = received_at.astimezone(_tz()).year
    case = Case(
        id=uuid.uuid4(),
        code=next_case_code(unit, year),
        status="open",
        received_at=received_at,
        received_by_id=actor.id,
        source=source,
        owning_unit_id=unit.id,
        handling_unit_id=unit.id,
        place_unit_id=(place_unit or unit).id,
        assigned_to_id=actor.id,
        immediate_danger=immediate_danger,
        child_involved=child_involved,
        injuries=injuries,
        sexual_violence=sexual_violence,
        reporter_relation=reporter_relation,
    )
    case.summary = summary_text
    case.reporter_name = _text(reporter_name, NAME_MAX, "reporter_name")
    case.reporter_contact = _text(reporter_contact, CONTACT_MAX, "reporter_contact")
    case.types = [CaseType(code=code) for code in type_codes]
    db.session.add(case)
    victim = Person(
        id=uuid.uuid4(), case=case, role="victim", sex=victim_sex, created_by_id=actor.id
    )
    victim.full_name = name
    victim.phone = phone
    victim.safe_contact = contact
    db.session.add(victim)
    db.session.flush()
    audit.record(actor, Tag.CASE_OPEN, case, types=type_codes, source=source)
    return IntakeResult(case, alerts_for(case))


def _tz():  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def get_case(case_id: uuid.UUID) -> Case | None:
    return db.session.get(Case, case_id)


def view_case(actor: User, case: Case) -> None:
    """Record that the actor opened the full file (every view is audited); refuse if not allowed."""
    require(actor, Permission.CASE_READ, case, hide=False)
    audit.record(actor, Tag.CASE_VIEW, case)


def update_intake(
    actor: User,
    case: Case,
    *,
    expected_version: int,
    summary: str,
    source: str,
    received_at: datetime,
    immediate_danger: bool,
    child_involved: bool,
    injuries: bool,
    sexual_violence: bool,
) -> None:
    """Correct the intake details; refused when someone saved the case meanwhile."""
    require(actor, Permission.CASE_EDIT, case)
    check_version(case, expected_version)
    if source not in vocab.SOURCES:
        message = _l("Choose how the case reached you.")
        raise Invalid(message, source=message)
    _check_past(received_at, "received_at")
    text = _text(summary, SUMMARY_MAX, "summary", required=True)
    changed = []
    for name, value in (
        ("source", source),
        ("received_at", received_at),
        ("immediate_danger", immediate_danger),
        ("child_involved", child_involved),
        ("injuries", injuries),
        ("sexual_violence", sexual_violence),
    ):
        if getattr(case, name) != value:
            setattr(case, name, value)
            changed.append(name)
    if case.summary != text:
        case.summary = text
        changed.append("summary")
    if changed:
        case.updated_at = utcnow()
        db.session.flush()
        audit.record(actor, Tag.CASE_UPDATE, case, fields=changed)


def classify(
    actor: User,
    case: Case,
    *,
    expected_version: int,
    types: list[str],
    severity: str,
    risk: str | None,
    gbv_type: str | None,
) -> None:
    """Set types, severity, risk and the GBVIMS type; an open case becomes active."""
    require(actor, Permission.CASE_EDIT, case)
    check_version(case, expected_version)
    if severity not in vocab.SEVERITIES:
        message = _l("Choose a severity.")
        raise Invalid(message, severity=message)
    if risk is not None and risk not in vocab.RISKS:
        message = _l("Choose a value from the list.")
        raise Invalid(message, risk=message)
    if gbv_type is not None and gbv_type not in vocab.GBV_TYPES:
        message = _l("Choose a value from the list.")
        raise Invalid(message, gbv_type=message)
    codes = _check_types(types)
    if case.status == "closed":
        message = _l("A closed case must be reopened before it is classified again.")
        raise Invalid(message)
    case.types = [CaseType(code=code) for code in codes]
    case.severity = severity
    case.risk = risk
    case.gbv_type = gbv_type
    now = utcnow()
    if case.classified_at is None:
        case.classified_at = now
    reportable = severity in current_app.config["QUICK_REPORT_SEVERITIES"]
    if reportable and case.reportable_since is None:
        case.reportable_since = now
    case.updated_at = now
    if case.status == "open":
        states.move(actor, case, "active")
    db.session.flush()
    audit.record(
        actor, Tag.CASE_CLASSIFY, case, types=codes, severity=severity, risk=risk, gbv_type=gbv_type
    )


BREAK_GLASS_MINUTES = 60


def break_glass(
    actor: User, case: Case, reason: str, *, password: str, minutes: int = BREAK_GLASS_MINUTES
) -> BreakGlass:
    """Open a subtree case's full file for a limited time, with a reason the auditor will see,
    after the reviewer has typed her password again (DESIGN.md §7: re-authentication)."""
    require(actor, Permission.CASE_BREAK_GLASS, case)
    text = _text(reason, 1000, "reason", required=True)
    if not passwords.verify_password(actor.password_hash, password or ""):
        audit.record(actor, Tag.CASE_BREAK_GLASS, case, outcome="refused", reason="password")
        message = _l("The password is not correct.")
        raise Invalid(message, password=message)
    grant = BreakGlass(
        id=uuid.uuid4(),
        case_id=case.id,
        user_id=actor.id,
        expires_at=utcnow() + timedelta(minutes=minutes),
    )
    grant.reason = text
    db.session.add(grant)
    db.session.flush()
    audit.record(actor, Tag.CASE_BREAK_GLASS, case, break_glass_id=str(grant.id), minutes=minutes)
    return grant


def recuse(actor: User, case: Case, user: User) -> Recusal:
    """Keep a user away from a case (conflict of interest): decided by a reviewer of the unit
    handling it (the policy's CASE_RECUSE)."""
    require(actor, Permission.CASE_RECUSE, case)
    existing = db.session.scalar(
        select(Recusal).where(Recusal.case_id == case.id, Recusal.user_id == user.id)
    )
    if existing is not None:
        return existing
    recusal = Recusal(id=uuid.uuid4(), case_id=case.id, user_id=user.id, created_by_id=actor.id)
    db.session.add(recusal)
    db.session.flush()
    audit.record(actor, Tag.CASE_RECUSE, case, user_id=user.id)
    return recusal
