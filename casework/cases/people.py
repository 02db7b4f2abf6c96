"""The people of a case: victims, children in their care, alleged perpetrators, representatives.

Identity fields (name, aliases, date of birth, phone, address, ID number, safe contact) are encrypted
under the person's own key; sex, birth year, age band, child status, ethnicity and disability stay
plain for statistics. The plain age fields are derived from the date of birth at the date the case
was received, so statistics count a victim's age when the case reached the Union; the age shown on
the file is computed from the date of birth each time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.cases import rows as case_rows
from casework.cases import vocab
from casework.cases.models import Case, Person, Relationship
from casework.cases.service import check_version
from casework.crypto import normalise
from casework.db import utcnow
from casework.errors import Invalid
from casework.extensions import db
from casework.policy import Permission, require

CHILD_UNDER = 16  # DOMAIN.md: a child is a person under 16
OLDEST = 120  # years: an older date of birth is a typing mistake

NAME_MAX = 200
ALIASES_MAX = 300
PHONE_MAX = 40
ADDRESS_MAX = 500
ID_NUMBER_MAX = 32
SAFE_CONTACT_MAX = 300
ETHNICITY_MAX = 32

# The identity fields (encrypted) and the statistics fields (plain) a person's form edits.
IDENTITY_FIELDS = (
    "full_name",
    "aliases",
    "date_of_birth",
    "phone",
    "address",
    "id_number",
    "safe_contact",
)
STATISTICS_FIELDS = ("role", "sex", "ethnicity", "disability")

# Gendered words for a relationship, where English (and Vietnamese) has them.
_GENDERED = {
    ("spouse", "male"): _l("Husband"),
    ("spouse", "female"): _l("Wife"),
    ("former_spouse", "male"): _l("Former husband"),
    ("former_spouse", "female"): _l("Former wife"),
    ("parent", "male"): _l("Father"),
    ("parent", "female"): _l("Mother"),
    ("step_parent", "male"): _l("Stepfather"),
    ("step_parent", "female"): _l("Stepmother"),
    ("child", "male"): _l("Son"),
    ("child", "female"): _l("Daughter"),
    ("sibling", "male"): _l("Brother"),
    ("sibling", "female"): _l("Sister"),
}


# --- Dates and ages ---------------------------------------------------------------------------


def local_today() -> date:
    """Today in Vietnam's time zone (a date of birth is a local date)."""
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def local_date(moment: datetime) -> date:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_on(date_of_birth: date, day: date) -> int:
    """Age in whole years on a day (0 for a day before the birth)."""
    years = day.year - date_of_birth.year
    if (day.month, day.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return max(years, 0)


def age_in_months(date_of_birth: date, day: date) -> int:
    months = (day.year - date_of_birth.year) * 12 + day.month - date_of_birth.month
    if day.day < date_of_birth.day:
        months -= 1
    return max(months, 0)


def check_date_of_birth(date_of_birth: date, today: date) -> None:
    """A date of birth is neither in the future nor more than 120 years ago."""
    if date_of_birth > today:
        message = _l("The date of birth is in the future.")
        raise Invalid(message, date_of_birth=message)
    if date_of_birth < years_before(today, OLDEST):
        message = _l("The date of birth is more than %(n)d years ago.", n=OLDEST)
        raise Invalid(message, date_of_birth=message)


@dataclass(frozen=True)
class BirthStatistics:
    birth_year: int | None
    age_band: str | None
    is_child: bool | None


def birth_statistics(date_of_birth: date | None, on: date) -> BirthStatistics:
    """The plain statistics fields a date of birth gives, for the age on a day."""
    if date_of_birth is None:
        return BirthStatistics(None, None, None)
    age = age_on(date_of_birth, on)
    return BirthStatistics(date_of_birth.year, vocab.age_band(age), age < CHILD_UNDER)


def age_text(date_of_birth: date | None, today: date) -> str | None:
    """The age to show: months under two years, years after."""
    if date_of_birth is None:
        return None
    if age_on(date_of_birth, today) < 2:
        months = age_in_months(date_of_birth, today)
        return ngettext("%(num)d month", "%(num)d months", months)
    years = age_on(date_of_birth, today)
    return ngettext("%(num)d year", "%(num)d years", years)


# --- Validation ---------------------------------------------------------------------------------


def _text(value: str | None, limit: int, field_name: str, *, required: bool = False) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            message = _l("Enter a name, or an alias or description if the name is not known.")
            raise Invalid(message, **{field_name: message})
        return None
    if len(value) > limit:
        message = _l("At most %(n)d characters.", n=limit)
        raise Invalid(message, **{field_name: message})
    return value


@dataclass
class PersonDetails:
    """What a person's form holds, validated (see `validate_details`)."""

    role: str
    full_name: str
    sex: str = "unknown"
    aliases: str | None = None
    date_of_birth: date | None = None
    phone: str | None = None
    address: str | None = None
    id_number: str | None = None
    safe_contact: str | None = None
    ethnicity: str | None = None
    disability: bool | None = None


def validate_details(
    *,
    role: str,
    full_name: str | None,
    sex: str = "unknown",
    aliases: str | None = None,
    date_of_birth: date | None = None,
    phone: str | None = None,
    address: str | None = None,
    id_number: str | None = None,
    safe_contact: str | None = None,
    ethnicity: str | None = None,
    disability: bool | None = None,
) -> PersonDetails:
    """Refuse an unknown role or sex, oversized text, an impossible date of birth, a bad phone."""
    if role not in vocab.PERSON_ROLES:
        message = _l("Choose a role from the list.")
        raise Invalid(message, role=message)
    if sex not in vocab.SEXES:
        message = _l("Choose a value from the list.")
        raise Invalid(message, sex=message)
    if date_of_birth is not None:
        if isinstance(date_of_birth, datetime):
            date_of_birth = date_of_birth.date()
        check_date_of_birth(date_of_birth, local_today())
    name = _text(full_name, NAME_MAX, "full_name", required=True) or ""
    phone_text = _text(phone, PHONE_MAX, "phone")
    if phone_text is not None and normalise.PHONE(phone_text) is None:
        message = _l("Enter a phone number of digits, with or without +84.")
        raise Invalid(message, phone=message)
    id_text = _text(id_number, ID_NUMBER_MAX, "id_number")
    if id_text is not None and normalise.ID_NUMBER(id_text) is None:
        message = _l("Enter the document number in letters and digits.")
        raise Invalid(message, id_number=message)
    return PersonDetails(
        role=role,
        full_name=name,
        sex=sex,
        aliases=_text(aliases, ALIASES_MAX, "aliases"),
        date_of_birth=date_of_birth,
        phone=phone_text,
        address=_text(address, ADDRESS_MAX, "address"),
        id_number=id_text,
        safe_contact=_text(safe_contact, SAFE_CONTACT_MAX, "safe_contact"),
        ethnicity=_text(ethnicity, ETHNICITY_MAX, "ethnicity"),
        disability=disability,
    )


def _apply(person: Person, case: Case, details: PersonDetails) -> list[str]:
    """Write the details onto the person; the names of the fields that changed."""
    changed: list[str] = []
    for name in (*STATISTICS_FIELDS, *IDENTITY_FIELDS):
        value = getattr(details, name)
        if getattr(person, name) != value:
            setattr(person, name, value)
            changed.append(name)
    stats = birth_statistics(details.date_of_birth, local_date(case.received_at))
    person.birth_year = stats.birth_year
    person.age_band = stats.age_band
    person.is_child = stats.is_child
    return changed


# --- Services -----------------------------------------------------------------------------------


def add_person(actor: User, case: Case, **fields: object) -> Person:
    """Add a victim, a child in her care, an alleged perpetrator or a representative to a case."""
    require(actor, Permission.CASE_EDIT, case)
    details = validate_details(**fields)  # type: ignore[arg-type]
    person = Person(id=uuid.uuid4(), case_id=case.id, created_by_id=actor.id)
    _apply(person, case, details)
    db.session.add(person)
    db.session.flush()
    audit.record(actor, Tag.PERSON_ADD, case, person_id=str(person.id), role=person.role)
    return person


def update_person(
    actor: User, person: Person, *, expected_version: int, **fields: object
) -> list[str]:
    """Correct a person's details; refused when someone saved her meanwhile. Returns changed fields."""
    case = person.case
    require(actor, Permission.CASE_EDIT, case)
    check_version(person, expected_version)
    if person.erased:
        # Her key is gone: nothing new can be written under it, and she asked to be forgotten.
        raise Invalid(_l("This person's data has been erased; it cannot be corrected."))
    details = validate_details(**fields)  # type: ignore[arg-type]
    changed = _apply(person, case, details)
    if changed:
        db.session.flush()
        audit.record(actor, Tag.PERSON_UPDATE, case, person_id=str(person.id), fields=changed)
    return changed


def add_relationship(
    actor: User, case: Case, person: Person, other: Person, kind: str
) -> Relationship:
    """Record that `person` is `other`'s <kind>: two different people of the same case."""
    require(actor, Permission.CASE_EDIT, case)
    if kind not in vocab.RELATIONSHIPS:
        message = _l("Choose a relationship from the list.")
        raise Invalid(message, kind=message)
    if person.case_id != case.id or other.case_id != case.id:
        message = _l("Both people must belong to this case.")
        raise Invalid(message, other=message)
    if person.id == other.id:
        message = _l("A person cannot be related to herself.")
        raise Invalid(message, other=message)
    already = _link_between(person, other)
    if already:
        raise Invalid(already, other=already)
    link = Relationship(
        id=uuid.uuid4(), case_id=case.id, person_id=person.id, other_id=other.id, kind=kind
    )
    try:
        with db.session.begin_nested():  # the database's unique pair decides a race
            db.session.add(link)
    except IntegrityError:
        message = _l("These two people are already linked.")
        raise Invalid(message, other=message) from None
    audit.record(
        actor,
        Tag.RELATIONSHIP_ADD,
        case,
        relationship_id=str(link.id),
        person_id=str(person.id),
        other_id=str(other.id),
        kind=kind,
    )
    return link


def _link_between(person: Person, other: Person) -> object | None:
    found = db.session.scalar(
        select(Relationship.id).where(
            or_(
                (Relationship.person_id == person.id) & (Relationship.other_id == other.id),
                (Relationship.person_id == other.id) & (Relationship.other_id == person.id),
            )
        )
    )
    return _l("These two people are already linked.") if found is not None else None


# --- Reading ------------------------------------------------------------------------------------


def get_person(case: Case, person_id: uuid.UUID) -> Person | None:
    """The person of this case with this id (None for another case's person)."""
    person = db.session.get(Person, person_id)
    return person if person is not None and person.case_id == case.id else None


def people_of(case: Case) -> list[Person]:
    return list(
        db.session.scalars(
            select(Person).where(Person.case_id == case.id).order_by(Person.created_at, Person.id)
        )
    )


def kind_label(kind: str, sex: str | None) -> str:
    """A relationship word for someone of this sex ("Husband"), or the neutral one."""
    word = _GENDERED.get((kind, sex or ""))
    return str(word if word is not None else vocab.RELATIONSHIPS.get(kind, kind))


@dataclass
class Link:
    """One line of a person's card: "husband of <other>", or seen from the other side
    ("Husband: <other>")."""

    word: str
    other: Person
    inverse: bool = False


@dataclass
class PersonCard:
    person: Person
    age: str | None
    links: list[Link]


def cards(actor: User, case: Case, *, people: list[Person] | None = None) -> list[PersonCard]:
    """The people of a case for the file page, with their ages and relationships (people: the
    case's, as people_of reads them, when the caller has them already)."""
    require(actor, Permission.CASE_READ, case)
    if people is None:
        people = people_of(case)
    by_id = {p.id: p for p in people}
    links: dict[uuid.UUID, list[Link]] = {p.id: [] for p in people}
    rows = (
        []
        if case_rows.none_of(Relationship, case.id)
        else db.session.scalars(
            select(Relationship).where(Relationship.case_id == case.id).order_by(Relationship.id)
        )
    )
    for rel in rows:
        person, other = by_id.get(rel.person_id), by_id.get(rel.other_id)
        if person is None or other is None:
            continue
        word = kind_label(rel.kind, person.sex)
        links[person.id].append(Link(word, other))
        links[other.id].append(Link(word, person, inverse=True))
    today = local_today()
    return [PersonCard(p, age_text(p.date_of_birth, today), links[p.id]) for p in people]
