"""The one access policy: roles, permissions, can()/require(), and the scoped queries.

Every permission decision in views, templates, services, the CLI and the API is made here. Later
capabilities add object rules (a case's owning and handling units, referrals to a partner) to
`_object_rule`; the role grants below say what each role may do at all.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casework.accounts.models import Unit, User


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

    def __init__(self, permission: Permission, *, hide: bool = False) -> None:
        super().__init__(permission.value)
        self.permission = permission
        self.hide = hide


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
    from casework.referrals.models import Partner

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
        raise NotPermitted(permission, hide=hide)


def permission_matrix() -> list[tuple[Permission, dict[Role, bool]]]:
    """The role × permission table, generated from ROLE_GRANTS (shown to admins, used in docs)."""
    return [(p, {r: p in ROLE_GRANTS[r] for r in Role}) for p in Permission]
