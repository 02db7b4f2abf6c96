"""Finding cases: search by phone, ID number or name, and warnings of possible repeat victims.

Both go through the blind indexes (casework.crypto.blindindex): the normalised term is turned into an
index value, the candidate rows are decrypted and only exact matches are kept. A search is limited
to the cases the user may read, rate-limited (SECURITY.md: 30 a minute per user) and audited with
its kind and number of results, never the term. Repeat-victim matches look across every unit, but a
case the user may not read is only counted, never named: the page says that a match exists and whom
to ask, nothing else.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from casework import audit
from casework.accounts.models import User
from casework.audit import Tag
from casework.audit.models import AuditEvent
from casework.cases.models import Case, Person
from casework.crypto import blindindex
from casework.crypto.errors import KeyShredded
from casework.crypto.fields import EncryptedField
from casework.db import utcnow
from casework.errors import DomainError, Invalid
from casework.extensions import db
from casework.policy import Permission, require
from casework.policy.scopes import readable_case

SEARCHES_PER_MINUTE = 30
TERM_MAX = 200

# The kind of search → the indexed field it looks in.
FIELDS: dict[str, EncryptedField[Any]] = {
    "phone": Person.phone,
    "id_number": Person.id_number,
    "name": Person.full_name,
}

_UNUSABLE = {
    "phone": _l("Enter a phone number of digits, with or without +84."),
    "id_number": _l("Enter the ID number's letters and digits."),
    "name": _l("Enter the person's full name."),
}


# The other cases, under an alias: the policy's branches query case_file themselves and must not
# correlate to it. Made once (when first used, after every model is mapped): SQLAlchemy remembers
# how it adapts an alias's columns, per alias.
@functools.cache
def _other_case() -> Any:
    return aliased(Case, name="other_case")


# People whose name and birth year together suggest the same victim: not perpetrators.
_NAME_MATCH_ROLES = ("victim", "child")


class TooManySearches(DomainError):
    """The user searched more often in the last minute than allowed; answered with 429."""

    status = 429


@dataclass(frozen=True)
class Hit:
    """A case found by a search, with the roles its matching people have in it."""

    case: Case
    roles: tuple[str, ...]


class RepeatMatches(NamedTuple):
    """Other cases with a person who may be this case's victim."""

    cases: list[Case]  # those the user may read, newest first
    hidden: int  # those she may not read: counted, never named


def searches_in_last_minute(actor: User) -> int:
    """The actor's searches that ran in the last 60 seconds (refused ones do not count)."""
    since = utcnow() - timedelta(minutes=1)
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.actor_id == actor.id,
                AuditEvent.tag == Tag.CASE_SEARCH.value,
                AuditEvent.outcome == "ok",
                AuditEvent.at > since,
            )
        )
        or 0
    )


def _check_term(kind: str, term: str | None) -> str:
    field = FIELDS.get(kind)
    if field is None:
        message = _l("Choose what to search by.")
        raise Invalid(message, kind=message)
    text = (term or "").strip()
    if not text:
        message = _l("Enter what to search for.")
        raise Invalid(message, term=message)
    if len(text) > TERM_MAX:
        message = _l("At most %(n)d characters.", n=TERM_MAX)
        raise Invalid(message, term=message)
    if field.index is None or field.index.normaliser(text) is None:
        message = _UNUSABLE[kind]
        raise Invalid(message, term=message)
    return text


def search_cases(actor: User, kind: str, term: str) -> list[Hit]:
    """Cases the actor may read with a person whose phone, ID number or full name equals the term
    (exact, after normalisation); at most 30 searches a minute; audited without the term."""
    require(actor, Permission.CASE_READ)
    text = _check_term(kind, term)
    done = searches_in_last_minute(actor)
    if done >= SEARCHES_PER_MINUTE:
        raise TooManySearches(
            _l(
                "You have made %(n)d searches in the last minute, the most allowed. "
                "Wait a minute, then search again.",
                n=done,
            )
        )
    # Only candidates in a case the actor may read. Correlated (EXISTS on the candidate's case_id)
    # rather than IN (all readable case ids): each candidate is checked by primary key, so the cost
    # does not grow with the number of cases the unit holds.
    people = blindindex.search(FIELDS[kind], text, where=[readable_case(actor, Person.case_id)])
    roles: dict[uuid.UUID, set[str]] = {}
    for person in people:
        roles.setdefault(person.case_id, set()).add(person.role)
    cases: list[Case] = []
    if roles:
        cases = list(
            db.session.scalars(
                select(Case)
                .where(Case.id.in_(roles))
                .order_by(Case.received_at.desc(), Case.id.desc())
            )
        )
    audit.record(
        actor, Tag.CASE_SEARCH, None, object_type="case_file", kind=kind, results=len(cases)
    )
    return [Hit(case, tuple(sorted(roles[case.id]))) for case in cases]


def record_refused_search(actor: User, kind: str) -> None:
    """Audit a search refused by the rate limit (after the caller rolled its transaction back)."""
    audit.record(
        actor,
        Tag.CASE_SEARCH,
        None,
        outcome="refused",
        object_type="case_file",
        # Only a kind from the list: whatever else was posted is not for the audit log.
        kind=kind if kind in FIELDS else None,
        reason="rate_limit",
    )


def _lookups(victim: Person) -> list[blindindex.Lookup]:
    """What may identify the victim in another case: her phone, her ID number, her full name with
    her birth year (among victims and children, not perpetrators)."""
    try:
        phone, id_number = victim.phone, victim.id_number
        name = victim.full_name
    except KeyShredded:
        return []
    found = [
        blindindex.Lookup(field, value)
        for field, value in ((Person.phone, phone), (Person.id_number, id_number))
        if value
    ]
    if name and victim.birth_year is not None:
        same_person = (Person.birth_year == victim.birth_year, Person.role.in_(_NAME_MATCH_ROLES))
        found.append(blindindex.Lookup(Person.full_name, name, same_person))
    return found


def repeat_matches(
    actor: User, case: Case, *, victims: list[Person] | None = None
) -> RepeatMatches:
    """Other cases with a person of the same phone or ID number as one of this case's victims (or
    the same full name and birth year): readable ones by name, the others only counted. The
    victims, when the caller has them, are this case's people of role victim."""
    require(actor, Permission.CASE_READ, case)
    if victims is None:
        victims = list(
            db.session.scalars(
                select(Person).where(Person.case_id == case.id, Person.role == "victim")
            )
        )
    lookups = [lookup for victim in victims for lookup in _lookups(victim)]
    matched = blindindex.matches(
        lookups, where=[Person.case_id != case.id], columns=[Person.case_id]
    )
    found = {case_id for _person_id, case_id in matched}
    if not found:
        return RepeatMatches([], 0)
    other = _other_case()
    readable = list(
        db.session.scalars(
            select(other)
            .where(other.id.in_(found), readable_case(actor, other.id))
            .order_by(other.received_at.desc(), other.id.desc())
        )
    )
    return RepeatMatches(readable, len(found) - len(readable))
