"""The one access policy: roles, permissions, can()/require(), and the scoped queries.

Every permission decision in views, templates, services, the CLI and the API is made here. Later
capabilities add object rules (a case's owning and handling units, referrals to a partner) to
`_object_allows`; the role grants below say what each role may do at all.
"""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casework.accounts.models import Unit, User
    from casework.cases.models import Case


class Role(StrEnum):
    OFFICER = "officer"
    REVIEWER = "reviewer"
    PARTNER = "partner"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(StrEnum):
    # Case work (DESIGN.md §1, §3, §4).
    CASE_CREATE = "case:create"
    CASE_READ = "case:read"
    CASE_EDIT = "case:edit"
    CASE_SUPERVISE = "case:supervise"  # de-identified summaries of the subtree
    CASE_BREAK_GLASS = "case:break_glass"
    CASE_TAKE_OVER = "case:take_over"
    CASE_REOPEN = "case:reopen"
    QUICK_REPORT_SEND = "quick_report:send"
    QUICK_REPORT_RECEIVE = "quick_report:receive"
    ESCALATION_REQUEST = "escalation:request"
    ESCALATION_ANSWER = "escalation:answer"
    CLOSURE_REQUEST = "closure:request"
    CLOSURE_DECIDE = "closure:decide"
    REFERRAL_SEND = "referral:send"
    # Partners (DESIGN.md §5).
    REFERRAL_WORK = "referral:work"
    # Reports (DESIGN.md §8).
    REPORT_VIEW = "report:view"
    # Audit (DESIGN.md §7).
    AUDIT_READ = "audit:read"
    AUDIT_VERIFY = "audit:verify"
    # Administration: no case content reachable through any of these.
    UNIT_MANAGE = "unit:manage"
    USER_MANAGE = "user:manage"
    PARTNER_MANAGE = "partner:manage"
    KEY_MANAGE = "key:manage"
    POLICY_VIEW = "policy:view"
    # Every signed-in account.
    ACCOUNT_SELF = "account:self"


_OFFICER = {
    Permission.CASE_CREATE,
    Permission.CASE_READ,
    Permission.CASE_EDIT,
    Permission.QUICK_REPORT_SEND,
    Permission.ESCALATION_REQUEST,
    Permission.CLOSURE_REQUEST,
    Permission.REFERRAL_SEND,
    Permission.REPORT_VIEW,
    Permission.ACCOUNT_SELF,
}

ROLE_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OFFICER: frozenset(_OFFICER),
    Role.REVIEWER: frozenset(
        _OFFICER
        | {
            Permission.CASE_SUPERVISE,
            Permission.CASE_BREAK_GLASS,
            Permission.CASE_TAKE_OVER,
            Permission.CASE_REOPEN,
            Permission.QUICK_REPORT_RECEIVE,
            Permission.ESCALATION_ANSWER,
            Permission.CLOSURE_DECIDE,
            Permission.AUDIT_READ,  # the "who has seen this file" view of her own cases
        }
    ),
    Role.PARTNER: frozenset({Permission.REFERRAL_WORK, Permission.ACCOUNT_SELF}),
    Role.AUDITOR: frozenset(
        {Permission.AUDIT_READ, Permission.AUDIT_VERIFY, Permission.ACCOUNT_SELF}
    ),
    Role.ADMIN: frozenset(
        {
            Permission.UNIT_MANAGE,
            Permission.USER_MANAGE,
            Permission.PARTNER_MANAGE,
            Permission.KEY_MANAGE,
            Permission.POLICY_VIEW,
            Permission.ACCOUNT_SELF,
        }
    ),
}

# Permissions that reach case content. Admins and auditors must never hold one (DESIGN.md §1).
CASE_CONTENT = frozenset(
    {
        Permission.CASE_READ,
        Permission.CASE_EDIT,
        Permission.CASE_CREATE,
        Permission.CASE_BREAK_GLASS,
        Permission.REFERRAL_WORK,
    }
)


class NotPermitted(Exception):
    """The acting user may not do this; answered with 403 (or 404 where existence would leak)."""

    def __init__(self, permission: Permission, *, hide: bool = False, obj: Any = None) -> None:
        super().__init__(permission.value)
        self.permission = permission
        self.hide = hide
        # What was asked for, kept as type and id for the refusal's audit event (read now: the
        # request's transaction is rolled back before the event is written).
        self.object_type: str | None = getattr(obj, "__tablename__", None)
        self.object_id: object = getattr(obj, "id", None) if self.object_type else None


def in_subtree(unit: Unit | None, root_id: int | None) -> bool:
    """True when unit is root_id or below it."""
    node = unit
    while node is not None:
        if node.id == root_id:
            return True
        node = node.parent
    return False


def _object_allows(user: User, permission: Permission, obj: Any) -> bool:
    """The object rules. An object with no rule here is refused: default deny."""
    from casework.accounts.models import Unit, User
    from casework.api.models import ApiToken
    from casework.cases.models import Case
    from casework.cases.workflow.models import ClosureRequest, Escalation, QuickReport
    from casework.referrals.models import Partner, Referral

    if isinstance(obj, Case):
        return _case_allows(user, permission, obj)
    if isinstance(obj, Referral):
        return _referral_allows(user, permission, obj)
    if isinstance(obj, QuickReport):
        return permission == Permission.QUICK_REPORT_RECEIVE and _receives(user, obj)
    if isinstance(obj, Escalation):
        # Only a reviewer of the unit asked to take the case answers, and never her own request.
        return (
            permission == Permission.ESCALATION_ANSWER
            and obj.kind == "request"
            and user.unit_id == obj.to_unit_id
            and user.id != obj.requested_by_id
        )
    if isinstance(obj, ClosureRequest):
        return permission == Permission.CLOSURE_DECIDE and _decides_closure(user, obj)
    if isinstance(obj, ApiToken):
        # A personal access token is its owner's alone: nobody else lists or revokes it.
        return permission == Permission.ACCOUNT_SELF and obj.user_id == user.id
    if permission == Permission.CASE_CREATE and isinstance(obj, Unit):
        # A case is opened at one's own unit, never on another unit's behalf.
        return obj.id == user.unit_id and not obj.is_retired
    if permission in (Permission.UNIT_MANAGE, Permission.USER_MANAGE, Permission.PARTNER_MANAGE):
        # An admin administers her own unit's subtree (central admins: the whole tree).
        if isinstance(obj, Unit):
            return in_subtree(obj, user.unit_id)
        if isinstance(obj, User):
            if obj.partner is not None:
                return _object_allows(user, permission, obj.partner)
            return in_subtree(obj.unit, user.unit_id)
        if isinstance(obj, Partner):
            if user.unit is not None and user.unit.parent_id is None:
                return True
            return any(in_subtree(u, user.unit_id) for u in obj.units_served)
    return False


# Case work that only the handling unit does (the owning unit keeps reading after escalation).
_HANDLING_UNIT_WORK = frozenset(
    {
        Permission.CASE_EDIT,
        Permission.QUICK_REPORT_SEND,
        Permission.ESCALATION_REQUEST,
        Permission.CLOSURE_REQUEST,
        Permission.REFERRAL_SEND,
    }
)


def _recused(user: User, case: Case) -> bool:
    from sqlalchemy import select

    from casework.cases.models import Recusal
    from casework.extensions import db

    return (
        db.session.scalar(
            select(Recusal.id).where(Recusal.user_id == user.id, Recusal.case_id == case.id)
        )
        is not None
    )


def file_units(case: Case) -> set[int]:
    """Units whose staff read the full file: the owning unit, the handling unit, and every unit
    that handled it before an escalation or take-over moved it up (they can be asked to act)."""
    from sqlalchemy import select

    from casework.cases.workflow.models import Escalation
    from casework.extensions import db

    earlier = db.session.scalars(
        select(Escalation.from_unit_id).where(
            Escalation.case_id == case.id, Escalation.status == "accepted"
        )
    )
    return {case.owning_unit_id, case.handling_unit_id, *earlier}


def _above(user: User, unit: Unit) -> bool:
    """True when the user's unit is a proper ancestor of unit."""
    return any(a.id == user.unit_id for a in unit.ancestors())


def _receives(user: User, report: Any) -> bool:
    """Reviewers of a unit the quick report was delivered to."""
    from sqlalchemy import select

    from casework.cases.workflow.models import QuickReportDelivery
    from casework.extensions import db

    if user.role != Role.REVIEWER or user.unit_id is None:
        return False
    return (
        db.session.scalar(
            select(QuickReportDelivery.id).where(
                QuickReportDelivery.report_id == report.id,
                QuickReportDelivery.unit_id == user.unit_id,
            )
        )
        is not None
    )


def _decides_closure(user: User, request: Any) -> bool:
    """A reviewer of a unit above the handling unit (at the top: another reviewer of the top
    unit); never the person who asked."""
    from casework.accounts.models import Unit
    from casework.extensions import db

    if user.role != Role.REVIEWER or user.unit_id is None or user.id == request.requested_by_id:
        return False
    unit = db.session.get(Unit, request.handling_unit_id)
    if unit is None:
        return False
    if unit.parent_id is None:
        return user.unit_id == unit.id
    return _above(user, unit)


def _break_glass_open(user: User, case: Case) -> bool:
    from sqlalchemy import select

    from casework.cases.models import BreakGlass
    from casework.db import utcnow
    from casework.extensions import db

    return (
        db.session.scalar(
            select(BreakGlass.id).where(
                BreakGlass.user_id == user.id,
                BreakGlass.case_id == case.id,
                BreakGlass.expires_at > utcnow(),
            )
        )
        is not None
    )


def _supervises(user: User, case: Case) -> bool:
    """A reviewer supervises the cases handled or owned in her unit's subtree."""
    if user.role != Role.REVIEWER or user.unit_id is None:
        return False
    return in_subtree(case.handling_unit, user.unit_id) or in_subtree(
        case.owning_unit, user.unit_id
    )


def _case_allows(user: User, permission: Permission, case: Case) -> bool:
    """DESIGN.md §6: file units read; the handling unit works; reviewers supervise their subtree
    de-identified and open other files only by break-glass; recusal beats every grant."""
    if user.unit_id is None or _recused(user, case):
        return False
    member = user.unit_id in file_units(case)
    if permission == Permission.CASE_READ:
        return member or (_supervises(user, case) and _break_glass_open(user, case))
    if permission in _HANDLING_UNIT_WORK:
        return user.unit_id == case.handling_unit_id
    if permission == Permission.CASE_SUPERVISE:
        return member or _supervises(user, case)
    if permission == Permission.CASE_BREAK_GLASS:
        return not member and _supervises(user, case)
    if permission == Permission.CASE_TAKE_OVER:
        return user.role == Role.REVIEWER and _above(user, case.handling_unit)
    if permission == Permission.CASE_REOPEN:
        return user.role == Role.REVIEWER and (
            user.unit_id == case.handling_unit_id or _above(user, case.handling_unit)
        )
    if permission == Permission.AUDIT_READ:
        # "Who has seen this file": for the reviewers of the units that hold it.
        return member and user.role == Role.REVIEWER
    return False


def _referral_allows(user: User, permission: Permission, referral: Any) -> bool:
    """DESIGN.md §5, §6: a partner's staff work their organisation's referrals while the referral
    is live and consent (or a legal basis) still covers it; the handling unit sends and withdraws;
    the file units read the referral as part of the file."""
    from casework.cases.consent import has_basis

    if permission == Permission.REFERRAL_WORK:
        return (
            user.role == Role.PARTNER
            and user.partner_id is not None
            and user.partner_id == referral.partner_id
            and referral.live
            and has_basis(referral.case, referral.purpose)
        )
    if permission in (Permission.REFERRAL_SEND, Permission.CASE_READ):
        return _case_allows(user, permission, referral.case)
    return False


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


def _not_recused(user_id: Any) -> Any:
    from sqlalchemy import exists

    from casework.cases.models import Case, Recusal

    return ~exists().where(Recusal.case_id == Case.id, Recusal.user_id == user_id)


class CaseBranches(list):  # type: ignore[type-arg]
    """A scoped query's branches (plain statements, for any use), with the name and parameter
    values of the same branches written with bound parameters (case_branch_templates): lists
    reuse those compiled once instead of building and keying a new statement per request."""

    def __init__(self, items: list[Any], name: str = "", params: dict[str, Any] | None = None):
        super().__init__(items)
        self.name = name
        self.params = params or {}


def _visible_grants(unit_id: Any, user_id: Any, now: Any) -> list[Any]:
    """The grants of visible_cases, from values or bound parameters alike (one definition)."""
    from sqlalchemy import select

    from casework.cases.models import BreakGlass, Case
    from casework.cases.workflow.models import Escalation

    handed_up = select(Escalation.case_id).where(
        Escalation.from_unit_id == unit_id, Escalation.status == "accepted"
    )
    glass = select(BreakGlass.case_id).where(
        BreakGlass.user_id == user_id, BreakGlass.expires_at > now
    )
    grants = (
        Case.owning_unit_id == unit_id,
        Case.handling_unit_id == unit_id,
        Case.id.in_(handed_up),
        Case.id.in_(glass),
    )
    return [
        select(Case).where(grant, _not_recused(user_id)).correlate_except(Case) for grant in grants
    ]


def _supervised_grants(unit_id: Any, user_id: Any) -> list[Any]:
    from sqlalchemy import select

    from casework.accounts.units import subtree_select
    from casework.cases.models import Case

    subtree = subtree_select(unit_id)
    grants = (Case.handling_unit_id.in_(subtree), Case.owning_unit_id.in_(subtree))
    return [
        select(Case).where(grant, _not_recused(user_id)).correlate_except(Case) for grant in grants
    ]


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
        return CaseBranches([])
    now = utcnow()
    params = {"unit_id": user.unit_id, "user_id": user.id, "now": now}
    return CaseBranches(_visible_grants(user.unit_id, user.id, now), "visible", params)


def _union_of(branches: list[Any]) -> Any:
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
        return CaseBranches([])
    params = {"unit_id": user.unit_id, "user_id": user.id}
    return CaseBranches(_supervised_grants(user.unit_id, user.id), "supervised", params)


def supervised_cases(user: User) -> Any:
    """Cases of the reviewer's subtree, for de-identified summaries only."""
    return _union_of(supervised_case_branches(user))


def role_grants(role: str) -> frozenset[Permission]:
    try:
        return ROLE_GRANTS[Role(role)]
    except ValueError:
        return frozenset()


def can(user: User | None, permission: Permission, obj: Any = None) -> bool:
    """True when this user holds the permission, and (for an object) the object's rule allows it."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if permission not in role_grants(user.role):
        return False
    if obj is None:
        return True
    return _object_allows(user, permission, obj)


def require(
    user: User | None, permission: Permission, obj: Any = None, *, hide: bool = False
) -> None:
    """Raise NotPermitted unless can() allows it."""
    if not can(user, permission, obj):
        raise NotPermitted(permission, hide=hide, obj=obj)


def permission_matrix() -> list[tuple[Permission, dict[Role, bool]]]:
    """The role × permission table, generated from ROLE_GRANTS (shown to admins, used in docs)."""
    return [(p, {r: p in ROLE_GRANTS[r] for r in Role}) for p in Permission]


def _case_records() -> tuple[Any, ...]:
    """Records of a case that audit events name by their own id (every other case event names the
    case file itself)."""
    from casework.cases.models import Attachment
    from casework.cases.workflow.models import ClosureRequest, Escalation, QuickReport

    return (Attachment, QuickReport, Escalation, ClosureRequest)


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
