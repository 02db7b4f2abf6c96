"""The one access policy: roles, permissions, can()/require(), and the scoped queries.

Every permission decision in views, templates, services, the CLI and the API is made here. Later
capabilities add object rules (a case's owning and handling units, referrals to a partner) to
`_object_allows`; the role grants below say what each role may do at all.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from casework.policy.membership import file_membership

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
    CASE_HOLD = "case:hold"  # set and lift legal holds that stop retention's erasure
    CASE_RECUSE = "case:recuse"  # keep a colleague away from a file (conflict of interest)
    QUICK_REPORT_SEND = "quick_report:send"
    QUICK_REPORT_RECEIVE = "quick_report:receive"
    ESCALATION_REQUEST = "escalation:request"
    ESCALATION_ANSWER = "escalation:answer"
    CLOSURE_REQUEST = "closure:request"
    CLOSURE_DECIDE = "closure:decide"
    ACTION_REQUEST_SEND = "action_request:send"  # ask a unit below that handled the case to act
    ACTION_REQUEST_ANSWER = "action_request:answer"
    REFERRAL_SEND = "referral:send"
    # Partners (DESIGN.md §5).
    REFERRAL_WORK = "referral:work"
    # Reports (DESIGN.md §8).
    REPORT_VIEW = "report:view"
    REPORT_SUBTREE = "report:subtree"  # reports on any unit below one's own, not only one's own
    REPORT_NATIONAL = "report:national"  # the national statistics export (NATIONAL_EXPORT_LEVELS)
    # Audit (DESIGN.md §7).
    AUDIT_READ = "audit:read"
    AUDIT_VERIFY = "audit:verify"
    RETENTION_REPORT = "retention:report"  # what retention erased and when; no case content
    # Administration: no case content reachable through any of these.
    UNIT_MANAGE = "unit:manage"
    USER_MANAGE = "user:manage"
    PARTNER_MANAGE = "partner:manage"
    KEY_MANAGE = "key:manage"
    POLICY_VIEW = "policy:view"
    # Data protection (DESIGN.md §7): requests of data subjects, breaches.
    DATA_REQUEST_RECORD = "data_request:record"
    DATA_REQUEST_REVIEW = "data_request:review"
    DATA_REQUEST_FULFIL = "data_request:fulfil"
    BREACH_REPORT = "breach:report"
    BREACH_MANAGE = "breach:manage"
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
    Permission.ACTION_REQUEST_SEND,
    Permission.ACTION_REQUEST_ANSWER,
    Permission.REPORT_VIEW,
    Permission.DATA_REQUEST_RECORD,
    Permission.DATA_REQUEST_FULFIL,
    Permission.BREACH_REPORT,
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
            Permission.CASE_HOLD,
            Permission.CASE_RECUSE,
            Permission.QUICK_REPORT_RECEIVE,
            Permission.ESCALATION_ANSWER,
            Permission.CLOSURE_DECIDE,
            Permission.AUDIT_READ,  # her subtree's audit events (scopes.visible_audit_events)
            Permission.DATA_REQUEST_REVIEW,
            Permission.REPORT_SUBTREE,
            Permission.REPORT_NATIONAL,
        }
    ),
    Role.PARTNER: frozenset({Permission.REFERRAL_WORK, Permission.ACCOUNT_SELF}),
    Role.AUDITOR: frozenset(
        {
            Permission.AUDIT_READ,
            Permission.AUDIT_VERIFY,
            Permission.RETENTION_REPORT,
            Permission.BREACH_REPORT,
            Permission.BREACH_MANAGE,
            Permission.ACCOUNT_SELF,
        }
    ),
    Role.ADMIN: frozenset(
        {
            Permission.UNIT_MANAGE,
            Permission.USER_MANAGE,
            Permission.PARTNER_MANAGE,
            Permission.KEY_MANAGE,
            Permission.POLICY_VIEW,
            Permission.BREACH_REPORT,
            Permission.BREACH_MANAGE,
            Permission.ACCOUNT_SELF,
        }
    ),
}

# Unit levels whose reviewers export the national statistics (DOMAIN.md: national statistics).
NATIONAL_EXPORT_LEVELS = ("central", "province")

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
    from casework.cases.workflow.models import (
        ActionRequest,
        ClosureRequest,
        Escalation,
        Notification,
        QuickReport,
    )
    from casework.dataprotection.models import Breach, DataRequest
    from casework.referrals.models import Partner, Referral

    if isinstance(obj, Case):
        return _case_allows(user, permission, obj)
    if isinstance(obj, Referral):
        return _referral_allows(user, permission, obj)
    if isinstance(obj, DataRequest):
        return _data_request_allows(user, permission, obj)
    if isinstance(obj, Breach):
        return permission == Permission.BREACH_MANAGE and _sees_breach(user, obj)
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
    if isinstance(obj, ActionRequest):
        return permission == Permission.ACTION_REQUEST_ANSWER and _answers_request(user, obj)
    if isinstance(obj, ApiToken):
        # A personal access token is its owner's alone: nobody else lists or revokes it.
        return permission == Permission.ACCOUNT_SELF and obj.user_id == user.id
    if isinstance(obj, Notification):
        # A notification is its addressee's alone: nobody else opens or marks it read.
        return permission == Permission.ACCOUNT_SELF and obj.user_id == user.id
    if permission == Permission.CASE_HOLD and isinstance(obj, Unit):
        # The holds page of a unit: for hold-setting reviewers of that unit or above it.
        return _sets_holds(user) and in_subtree(obj, user.unit_id)
    if permission == Permission.REPORT_VIEW and isinstance(obj, Unit):
        return _reports_on(user, obj)
    if permission == Permission.REPORT_NATIONAL and isinstance(obj, Unit):
        # Asked of one's own unit: the export is for province and central reviewers.
        return obj.id == user.unit_id and obj.level in NATIONAL_EXPORT_LEVELS
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
        Permission.ACTION_REQUEST_SEND,
        Permission.CASE_RECUSE,  # decided by a reviewer of the handling unit
    }
)


def _recused(user: User, case: Case) -> bool:
    return file_membership(user, case)[0]


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
    from casework.cases.models import Case
    from casework.extensions import db

    if user.role != Role.REVIEWER or user.unit_id is None or user.id == request.requested_by_id:
        return False
    case = db.session.get(Case, request.case_id)
    if case is None:
        return False
    # Above the unit that asked and above the unit handling the case now: should the case ever
    # have moved up since the request, its new handling unit still cannot approve its own closure.
    for unit_id in {request.handling_unit_id, case.handling_unit_id}:
        unit = db.session.get(Unit, unit_id)
        if unit is None:
            return False
        if not (user.unit_id == unit.id if unit.parent_id is None else _above(user, unit)):
            return False
    return True


def _answers_request(user: User, request: Any) -> bool:
    """Staff of the unit asked to act, while the request is open and the file still theirs to read
    (a recusal, or the case moving away from them, ends it)."""
    from casework.cases.models import Case
    from casework.extensions import db

    if request.status != "open" or user.unit_id != request.to_unit_id:
        return False
    case = db.session.get(Case, request.case_id)
    return case is not None and _case_allows(user, Permission.CASE_READ, case)


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


def _reports_on(user: User, unit: Unit) -> bool:
    """Reports cover one's own unit; with REPORT_SUBTREE (reviewers) any unit of one's subtree."""
    if user.unit_id is None:
        return False
    if unit.id == user.unit_id:
        return True
    return Permission.REPORT_SUBTREE in role_grants(user.role) and in_subtree(unit, user.unit_id)


def _sets_holds(user: User) -> bool:
    """Legal holds answer courts, police and inspectors: a decision for the province or central
    level (LEGAL_HOLD_LEVELS), not for the commune that handles the case."""
    from flask import current_app

    return user.unit is not None and user.unit.level in current_app.config["LEGAL_HOLD_LEVELS"]


def _case_allows(user: User, permission: Permission, case: Case) -> bool:
    """DESIGN.md §6: file units read; the handling unit works; reviewers supervise their subtree
    de-identified and open other files only by break-glass; recusal beats every grant."""
    if user.unit_id is None:
        return False
    recused, units = file_membership(user, case)
    if recused:
        return False
    member = user.unit_id in units
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
    if permission == Permission.CASE_HOLD:
        return _supervises(user, case) and _sets_holds(user)
    if permission == Permission.AUDIT_READ:
        # The file's "who has seen this file" link: for the reviewers who read the file (the page
        # behind it shows the events visible_audit_events lets them read).
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


def _data_request_allows(user: User, permission: Permission, request: Any) -> bool:
    """Staff of the units that hold the file record a request and carry it out once approved; a
    reviewer of the handling unit or above decides it (the safety review), never on a request
    she recorded herself."""
    case = request.case
    if permission == Permission.DATA_REQUEST_RECORD:
        return _case_allows(user, Permission.CASE_READ, case)
    if permission == Permission.DATA_REQUEST_FULFIL:
        return request.status == "approved" and _case_allows(user, Permission.CASE_EDIT, case)
    if permission == Permission.DATA_REQUEST_REVIEW:
        if user.role != Role.REVIEWER or user.id == request.recorded_by_id:
            return False
        if user.unit_id is None or _recused(user, case):
            return False
        return user.unit_id == case.handling_unit_id or _above(user, case.handling_unit)
    return False


def _sees_breach(user: User, breach: Any) -> bool:
    """Admins and auditors of a top unit see every breach; below, those touching their subtree."""
    if user.unit is None:
        return False
    if user.unit.parent_id is None:
        return True
    return any(in_subtree(link.unit, user.unit_id) for link in breach.units)


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
