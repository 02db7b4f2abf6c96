"""Scoped queries of the access policy: every list of cases, referrals and audit events starts
here, so a list can only hold what can() would let the user open. The rules themselves are in
casework.policy (this package's __init__)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from casework.policy import NotPermitted, Permission, Role, can

if TYPE_CHECKING:
    from casework.accounts.models import User


def visible_referrals(user: User) -> Any:
    """Referrals a partner's staff may open: her organisation's, live, and still covered by an
    active consent or legal basis. The only source of the partner portal's lists."""
    from sqlalchemy import exists, false, or_, select

    from casework.cases.models import Consent, LegalBasis
    from casework.referrals.models import LIVE_STATUSES, Referral

    stmt = select(Referral)
    if not can(user, Permission.REFERRAL_WORK) or user.partner_id is None:
        return stmt.where(false())
    consent = exists().where(
        Consent.case_id == Referral.case_id,
        Consent.purpose == Referral.purpose,
        Consent.withdrawn_at.is_(None),
    )
    basis = exists().where(
        LegalBasis.case_id == Referral.case_id,
        LegalBasis.purpose == Referral.purpose,
        LegalBasis.ended_at.is_(None),
    )
    return stmt.where(
        Referral.partner_id == user.partner_id,
        Referral.status.in_(LIVE_STATUSES),
        or_(consent, basis),
    )


def finished_referrals(user: User) -> Any:
    """A partner's completed and declined referrals: listed by reference, status and dates only
    (the packet is no longer readable once the work is over)."""
    from sqlalchemy import false, select

    from casework.referrals.models import Referral

    stmt = select(Referral)
    if not can(user, Permission.REFERRAL_WORK) or user.partner_id is None:
        return stmt.where(false())
    return stmt.where(
        Referral.partner_id == user.partner_id, Referral.status.in_(("completed", "declined"))
    )


def _not_recused(user_id: Any, case_id: Any = None) -> Any:
    from sqlalchemy import exists

    from casework.cases.models import Case, Recusal

    case_id = Case.id if case_id is None else case_id
    return ~exists().where(Recusal.case_id == case_id, Recusal.user_id == user_id)


def _subject(model: Any) -> tuple[Any, Any]:
    """What the case grants apply to: the cases themselves (default), or rows that copy a case's
    units beside its id (the pending deadlines), so one definition of the grants serves both."""
    from casework.cases.models import Case

    if model is None or model is Case:
        return Case, Case.id
    return model, model.case_id


class CaseBranches:
    """A scoped query's branches (plain statements, for any use), with the name and parameter
    values of the same branches written with bound parameters (case_branch_templates): lists
    reuse those compiled once instead of building and keying a new statement per request, so the
    plain statements are built only when something iterates over them."""

    def __init__(
        self,
        build: Callable[[], list[Any]] | None = None,
        name: str = "",
        params: dict[str, Any] | None = None,
    ) -> None:
        self._build = build
        self._built: list[Any] | None = None if build is not None else []
        self.name = name
        self.params = params or {}

    @property
    def statements(self) -> list[Any]:
        if self._built is None:
            assert self._build is not None  # noqa: S101  # nosec B101 (None only when built)
            self._built = self._build()
        return self._built

    def __iter__(self) -> Iterator[Any]:
        return iter(self.statements)

    def __len__(self) -> int:
        return len(self.statements)

    def __bool__(self) -> bool:
        return self._build is not None or bool(self._built)


def _visible_grants(unit_id: Any, user_id: Any, now: Any, model: Any = None) -> list[Any]:
    """The grants of visible_cases, from values or bound parameters alike (one definition), on
    the cases or on rows that copy their units (_subject)."""
    from sqlalchemy import select

    from casework.cases.models import BreakGlass
    from casework.cases.workflow.models import Escalation

    model, case_id = _subject(model)
    handed_up = select(Escalation.case_id).where(
        Escalation.from_unit_id == unit_id, Escalation.status == "accepted"
    )
    glass = select(BreakGlass.case_id).where(
        BreakGlass.user_id == user_id, BreakGlass.expires_at > now
    )
    grants = (
        model.owning_unit_id == unit_id,
        model.handling_unit_id == unit_id,
        case_id.in_(handed_up),
        case_id.in_(glass),
    )
    return [
        select(model).where(grant, _not_recused(user_id, case_id)).correlate_except(model)
        for grant in grants
    ]


def _supervised_grants(
    unit_id: Any, user_id: Any, model: Any = None, units: list[int] | None = None
) -> list[Any]:
    """units: the subtree's ids when the caller read them already (a literal list lets
    PostgreSQL's planner count them; it guesses a recursive query's size a hundred times too
    large and then reads the whole table)."""
    from sqlalchemy import select

    model, grants, not_recused = _supervised_conditions(unit_id, user_id, model, units)
    return [select(model).where(grant, not_recused).correlate_except(model) for grant in grants]


def _supervised_conditions(
    unit_id: Any, user_id: Any, model: Any = None, units: list[int] | None = None
) -> tuple[Any, tuple[Any, ...], Any]:
    """The subject, the grants of the subtree (handled there, owned there) and the condition
    that leaves out the user's recusals: the one definition _supervised_grants and
    supervised_cases_counted are built from."""
    from casework.accounts.units import subtree_select

    model, case_id = _subject(model)
    subtree = subtree_select(unit_id) if units is None else units
    grants = (model.handling_unit_id.in_(subtree), model.owning_unit_id.in_(subtree))
    return model, grants, _not_recused(user_id, case_id)


@functools.cache
def case_branch_templates(name: str) -> tuple[Any, ...]:
    """The branches named by CaseBranches.name, with :unit_id, :user_id (and :now) parameters."""
    from sqlalchemy import bindparam

    if name == "visible":
        return tuple(_visible_grants(bindparam("unit_id"), bindparam("user_id"), bindparam("now")))
    if name == "supervised":
        return tuple(_supervised_grants(bindparam("unit_id"), bindparam("user_id")))
    raise ValueError(name)


def visible_case_branches(user: User) -> CaseBranches:
    """The grants of visible_cases as separate queries, one per index (owning unit, handling unit,
    units that handed the case up, open break-glass), each without the user's recusals.

    Lists page every branch by key (received_at, id) and merge the pages: an OR of the grants
    cannot use an index and reads the whole table."""
    from casework.db import utcnow

    if not can(user, Permission.CASE_READ) or user.unit_id is None:
        return CaseBranches()
    now = utcnow()
    unit_id, user_id = user.unit_id, user.id
    params = {"unit_id": unit_id, "user_id": user_id, "now": now}
    return CaseBranches(lambda: _visible_grants(unit_id, user_id, now), "visible", params)


def _union_of(branches: CaseBranches) -> Any:
    """select(Case) of the cases any branch yields (one UNION of indexed id queries)."""
    from sqlalchemy import false, select, union

    from casework.cases.models import Case

    if not branches:
        return select(Case).where(false())
    ids = union(*(b.with_only_columns(Case.id) for b in branches))
    return select(Case).where(Case.id.in_(ids))


def visible_cases(user: User) -> Any:
    """Cases whose full file the user may open: the only source of case lists."""
    return _union_of(visible_case_branches(user))


def readable_case(user: User, case_id: Any) -> Any:
    """An SQL condition: the user may open the case whose id is `case_id` (a column of the
    enclosing query; for case_file itself, an alias). Each grant is checked by key, so the cost
    follows the candidates, not the number of cases the user may read."""
    from sqlalchemy import false, or_

    from casework.cases.models import Case

    checks = [
        b.with_only_columns(Case.id).where(Case.id == case_id).exists()
        for b in visible_case_branches(user)
    ]
    return or_(*checks) if checks else false()


def supervised_case_branches(user: User) -> CaseBranches:
    """The reviewer's subtree as two indexed queries (handled there, owned there), without her
    recusals; see visible_case_branches."""
    if not can(user, Permission.CASE_SUPERVISE) or user.unit_id is None:
        return CaseBranches()
    unit_id, user_id = user.unit_id, user.id
    params = {"unit_id": unit_id, "user_id": user_id}
    return CaseBranches(lambda: _supervised_grants(unit_id, user_id), "supervised", params)


def supervised_cases(user: User) -> Any:
    """Cases of the reviewer's subtree, for de-identified summaries only."""
    return _union_of(supervised_case_branches(user))


def supervised_cases_counted(user: User) -> Any:
    """supervised_cases for counting over the whole subtree (a dashboard): the same grants in one
    statement, so each case is read once (an OR of the two indexes), with the subtree's units
    read first and passed as a list, which PostgreSQL's planner sizes right (_supervised_grants).
    Paged lists use the branches instead: an OR cannot be read in order from an index."""
    from sqlalchemy import false, or_, select

    from casework.cases.models import Case

    if not can(user, Permission.CASE_SUPERVISE) or user.unit_id is None:
        return select(Case).where(false())
    from casework.accounts.units import subtree_ids

    units = subtree_ids(user.unit_id)
    model, grants, not_recused = _supervised_conditions(user.unit_id, user.id, None, units)
    return select(model).where(or_(*grants), not_recused)


def pending_deadline_branches(user: User) -> list[Any]:
    """The pending deadlines of the cases on the user's deadlines board, as one query per grant
    (each reads its own index, most urgent first): a reviewer's whole subtree, an officer's
    visible cases; none for anyone else. The grants are visible_cases' and supervised_cases'
    own, applied to the units each row copies from its case."""
    from casework.cases.workflow.models import PendingDeadline
    from casework.db import utcnow

    if user.unit_id is None or not can(user, Permission.CASE_READ):
        return []
    if can(user, Permission.CASE_SUPERVISE):
        from casework.accounts.units import subtree_ids

        units = subtree_ids(user.unit_id)
        return _supervised_grants(user.unit_id, user.id, PendingDeadline, units)
    return _visible_grants(user.unit_id, user.id, utcnow(), PendingDeadline)


def _case_records() -> tuple[Any, ...]:
    """Records of a case that audit events name by their own id (every other case event names the
    case file itself)."""
    from casework.cases.models import Attachment
    from casework.cases.workflow.models import (
        ActionRequest,
        ClosureRequest,
        Escalation,
        QuickReport,
    )

    return (Attachment, QuickReport, Escalation, ClosureRequest, ActionRequest)


def visible_audit_events(user: User | None) -> Any:
    """Audit events a user may read. Auditors: all. Reviewers: the events by staff of their subtree,
    and every event about a case their subtree holds (owning or handling unit), whoever the actor:
    reads, changes and refusals naming the case file or one of its records. Nothing that names a
    case she is recused from. Anyone else is refused.

    Every term is answered by an index: actor_unit_id, or (object_type, object_id) probed with the
    ids of the subtree's cases (found by their unit indexes) and of their records (case_id indexes).
    """
    from sqlalchemy import and_, false, or_, select

    from casework.accounts.units import subtree_ids
    from casework.audit.models import AuditEvent as Ev
    from casework.cases.models import Case, Recusal
    from casework.db import in_subquery, uuid_text
    from casework.extensions import db

    if user is None or not can(user, Permission.AUDIT_READ):
        raise NotPermitted(Permission.AUDIT_READ)
    stmt = select(Ev)
    if user.role == Role.AUDITOR:
        return stmt
    if user.unit_id is None:
        return stmt.where(false())  # default deny
    units = subtree_ids(user.unit_id)
    dialect = db.engine.dialect.name
    held = select(Case.id).where(
        or_(Case.owning_unit_id.in_(units), Case.handling_unit_id.in_(units))
    )
    about = [
        and_(
            Ev.object_type == Case.__tablename__,
            in_subquery(Ev.object_id, held.with_only_columns(uuid_text(Case.id)), dialect),
        )
    ]
    for model in _case_records():
        ids = select(uuid_text(model.id)).where(model.case_id.in_(held))
        about.append(
            and_(Ev.object_type == model.__tablename__, in_subquery(Ev.object_id, ids, dialect))
        )
    stmt = stmt.where(or_(Ev.actor_unit_id.in_(units), *about))
    recused = list(db.session.scalars(select(Recusal.case_id).where(Recusal.user_id == user.id)))
    if recused:
        hidden = [str(c) for c in recused]
        for model in _case_records():
            hidden += [
                str(i)
                for i in db.session.scalars(select(model.id).where(model.case_id.in_(recused)))
            ]
        stmt = stmt.where(or_(Ev.object_id.is_(None), Ev.object_id.not_in(hidden)))
    return stmt
