"""What every route of the web app and the API asks of the access policy, in the order its view
asks it: the permission, the object it is asked about (a name in tests/security/world.py), and how
a refusal is answered (403, or 404 where the route must not reveal that the object exists).

The matrix test computes each expected decision from these gates with casework.policy.can(), so
the table never repeats who may do what; it only says which question each route puts. A route
missing here fails the build (tests/security/test_authorization_matrix.py); docs/testing.md says
how to add one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from casework.policy import Permission as P


@dataclass(frozen=True)
class Check:
    """One require() the view makes: refused with `refusal` unless can(user, permission, obj)."""

    permission: P | tuple[P, ...]  # several: passes when any of them does
    obj: str | None = None  # a World object name; OWN_UNIT is the acting user's unit
    refusal: int = 403


@dataclass(frozen=True)
class Gate:
    """The checks of one route. `public`: no sign-in needed; `signed_in`: any account, no policy
    question. `otherwise`: a check that, when it passes, lets the request through on another path
    (a supervising reviewer is sent to the summary instead of the file). `rule`: a rule the
    view applies besides can(), given the user (its name shows in failures)."""

    checks: tuple[Check, ...] = ()
    public: bool = False
    signed_in: bool = False
    otherwise: Check | None = None
    rule: Callable[[Any], bool] | None = None
    lands_on_login: bool = False  # success ends on the sign-in page (signing out)
    params: tuple[tuple[str, str], ...] = ()  # URL parameter → World id name, beyond DEFAULTS


OWN_UNIT = "own unit"

# URL parameters and the World ids they take, unless a gate names another.
DEFAULTS = {
    "case_id": "case",
    "action_id": "action",
    "assessment_id": "assessment",
    "attachment_id": "attachment",
    "consent_id": "consent",
    "basis_id": "basis",
    "person_id": "person",
    "follow_up_id": "follow_up",
    "support_id": "support",
    "referral_id": "referral",
    "escalation_id": "escalation",
    "request_id": "closure",
    "action_request_id": "action_request",
    "report_id": "quick_report",
    "notification_id": "notification",
    "token_id": "token",
    "unit_id": "unit",
    "user_id": "managed_user",
    "partner_id": "partner",
    "stay_id": "stay",
    "breach_id": "breach",
    "hold_id": "hold",
    "kind": "=safety",  # "=" marks a literal value
    "object_type": "=case_file",
    "object_id": "case",
    "filename": "=css/casework.css",
}


PUBLIC = Gate(public=True)
SIGNED_IN = Gate(signed_in=True)


def needs(
    permission: P | tuple[P, ...], obj: str | None = None, refusal: int = 403, **kw: Any
) -> Gate:
    return Gate(checks=(Check(permission, obj, refusal),), **kw)


SELF = needs(P.ACCOUNT_SELF)
READ = needs(P.CASE_READ, "case")
EDIT = needs(P.CASE_EDIT, "case")
# The case file: full readers get it, supervising reviewers are sent to the de-identified summary.
FILE = needs(P.CASE_READ, "case", otherwise=Check(P.CASE_SUPERVISE, "case"))
# The partner portal: a non-partner is refused plainly; a partner meets 404 for any referral she
# may not work (another organisation's, withdrawn, without consent), whether it exists or not.
PORTAL = Gate(checks=(Check(P.REFERRAL_WORK), Check(P.REFERRAL_WORK, "referral", 404)))
PORTAL_SERVICE = Gate(checks=PORTAL.checks, params=(("support_id", "referral_support"),))
UNIT = needs(P.UNIT_MANAGE, "unit")
USER = needs(P.USER_MANAGE, "managed_user")
# The national export: reports at all, then the export, asked of the user's own unit.
NATIONAL = Gate(checks=(Check(P.REPORT_VIEW), Check(P.REPORT_NATIONAL, OWN_UNIT)))

# A data-subject request is shown (404 otherwise) to whoever may record, review or carry it out.
SEES_REQUEST = Check(
    (P.DATA_REQUEST_RECORD, P.DATA_REQUEST_REVIEW, P.DATA_REQUEST_FULFIL), "data_request", 404
)
ON_REQUEST = (("request_id", "data_request"),)
DATA_REQUEST = Gate(checks=(SEES_REQUEST,), params=ON_REQUEST)
# Carrying out a granted request (the service's check, after the page's).
SEES_GRANTED = Check(SEES_REQUEST.permission, "granted_request", 404)
FULFILS = Gate(
    checks=(SEES_GRANTED, Check(P.DATA_REQUEST_FULFIL, "granted_request")),
    params=(("request_id", "granted_request"),),
)
BREACH = needs(P.BREACH_MANAGE, "breach", 404)
# A request to act, sent by the district handling `moved_case` to the own commune.
ON_ACTION_REQUEST = (("request_id", "action_request"),)
ANSWERS = needs(P.ACTION_REQUEST_ANSWER, "action_request", params=ON_ACTION_REQUEST)

# (endpoint, method) → gate. Web first, then the API (same services, same questions).
ROUTES: dict[tuple[str, str], Gate] = {
    ("static", "GET"): PUBLIC,
    ("main.healthz", "GET"): PUBLIC,
    ("main.language", "POST"): PUBLIC,
    ("main.home", "GET"): SIGNED_IN,
    ("accounts.login", "GET"): PUBLIC,
    ("accounts.login", "POST"): PUBLIC,
    ("accounts.second_factor", "GET"): PUBLIC,
    ("accounts.second_factor", "POST"): PUBLIC,
    ("accounts.enrol_second_factor", "GET"): PUBLIC,
    ("accounts.enrol_second_factor", "POST"): PUBLIC,
    ("accounts.logout", "POST"): Gate(signed_in=True, lands_on_login=True),
    ("accounts.account", "GET"): SELF,
    ("accounts.change_password", "GET"): SELF,
    ("accounts.change_password", "POST"): SELF,
    ("accounts.own_second_factor", "GET"): SELF,
    ("accounts.own_second_factor", "POST"): SELF,
    ("accounts.new_recovery_codes", "POST"): SELF,
    ("accounts.api_tokens", "GET"): SELF,
    ("accounts.create_api_token", "POST"): SELF,
    ("accounts.revoke_api_token", "POST"): Gate(
        checks=(Check(P.ACCOUNT_SELF), Check(P.ACCOUNT_SELF, "token", 404))
    ),
    # Administration.
    ("admin.permissions", "GET"): needs(P.POLICY_VIEW),
    ("admin.units", "GET"): needs(P.UNIT_MANAGE),
    ("admin.unit", "GET"): UNIT,
    ("admin.create_unit", "GET"): UNIT,
    ("admin.create_unit", "POST"): UNIT,
    ("admin.rename_unit", "GET"): UNIT,
    ("admin.rename_unit", "POST"): UNIT,
    ("admin.move_unit", "GET"): UNIT,
    ("admin.move_unit", "POST"): UNIT,
    ("admin.retire_unit", "GET"): UNIT,
    ("admin.retire_unit", "POST"): UNIT,
    ("admin.users", "GET"): needs(P.USER_MANAGE),
    ("admin.create_user", "GET"): needs(P.USER_MANAGE),
    ("admin.create_user", "POST"): needs(P.USER_MANAGE),
    ("admin.user", "GET"): USER,
    ("admin.edit_user", "GET"): USER,
    ("admin.edit_user", "POST"): USER,
    ("admin.deactivate_user", "POST"): USER,
    ("admin.reactivate_user", "POST"): USER,
    ("admin.reset_password", "POST"): USER,
    ("admin.reset_second_factor", "POST"): USER,
    ("admin.partners", "GET"): needs(P.PARTNER_MANAGE),
    ("admin.create_partner", "GET"): needs(P.PARTNER_MANAGE),
    ("admin.create_partner", "POST"): needs(P.PARTNER_MANAGE),
    ("admin.edit_partner", "GET"): needs(P.PARTNER_MANAGE, "partner"),
    ("admin.edit_partner", "POST"): needs(P.PARTNER_MANAGE, "partner"),
    # Audit.
    ("audit.index", "GET"): needs(P.AUDIT_READ),
    ("audit.export", "POST"): needs(P.AUDIT_READ),
    # The page is open to every audit reader; its events are those visible_audit_events allows.
    ("audit.object_events", "GET"): needs(P.AUDIT_READ),
    ("audit.checkpoint", "GET"): needs(P.AUDIT_VERIFY),
    ("audit.checkpoint_export", "POST"): needs(P.AUDIT_VERIFY),
    # Cases.
    ("cases.index", "GET"): needs(P.CASE_READ),
    ("cases.search_page", "GET"): needs(P.CASE_READ),
    ("cases.search_page", "POST"): needs(P.CASE_READ),
    ("cases.supervision", "GET"): needs(P.CASE_SUPERVISE),
    ("cases.intake", "GET"): needs(P.CASE_CREATE, OWN_UNIT),
    ("cases.intake", "POST"): needs(P.CASE_CREATE, OWN_UNIT),
    ("cases.file", "GET"): FILE,
    ("cases.summary", "GET"): needs(P.CASE_SUPERVISE, "case"),
    ("cases.break_glass", "POST"): needs(P.CASE_BREAK_GLASS, "case"),
    ("cases.print_file", "GET"): READ,
    ("cases.assessment", "GET"): READ,
    ("cases.download_attachment", "GET"): READ,
    ("referrals.case_referral", "GET"): READ,
    **{
        (endpoint, method): EDIT
        for endpoint in (
            "cases.edit_intake",
            "cases.classify",
            "cases.new_action",
            "cases.correct_action",
            "cases.new_assessment",
            "cases.give_consent",
            "cases.withdraw_consent",
            "cases.record_legal_basis",
            "cases.end_legal_basis",
            "cases.add_person",
            "cases.edit_person",
            "cases.add_relationship",
            "cases.new_support",
            "cases.edit_support",
            "cases.new_follow_up",
            "cases.edit_follow_up",
        )
        for method in ("GET", "POST")
    },
    ("cases.upload_attachment", "POST"): EDIT,
    ("workflow.start_monitoring", "POST"): EDIT,
    ("workflow.resume_handling", "POST"): EDIT,
    ("workflow.send_quick_report", "POST"): needs(P.QUICK_REPORT_SEND, "case"),
    ("workflow.request_escalation", "POST"): needs(P.ESCALATION_REQUEST, "case"),
    ("workflow.request_closure", "POST"): needs(P.CLOSURE_REQUEST, "case"),
    ("workflow.take_over", "POST"): needs(P.CASE_TAKE_OVER, "case"),
    ("workflow.reopen", "POST"): needs(P.CASE_REOPEN, "case"),
    ("workflow.accept_escalation", "POST"): needs(P.ESCALATION_ANSWER, "escalation"),
    ("workflow.return_escalation", "POST"): needs(P.ESCALATION_ANSWER, "escalation"),
    ("workflow.approve_closure", "POST"): needs(P.CLOSURE_DECIDE, "closure"),
    ("workflow.ask_to_act", "GET"): needs(P.ACTION_REQUEST_SEND, "case"),
    ("workflow.ask_to_act", "POST"): needs(P.ACTION_REQUEST_SEND, "case"),
    ("workflow.answer_request", "GET"): ANSWERS,
    ("workflow.answer_request", "POST"): ANSWERS,
    ("workflow.withdraw_request", "POST"): needs(
        P.ACTION_REQUEST_SEND, "moved_case", params=ON_ACTION_REQUEST
    ),
    ("workflow.refuse_closure", "POST"): needs(P.CLOSURE_DECIDE, "closure"),
    # Case deadlines for case workers; for those who manage breaches, the breaches to notify.
    ("workflow.board", "GET"): needs(P.CASE_READ, otherwise=Check(P.BREACH_MANAGE)),
    ("workflow.inbox", "GET"): SELF,
    ("workflow.open_notification", "POST"): Gate(
        checks=(Check(P.ACCOUNT_SELF), Check(P.ACCOUNT_SELF, "notification", 404))
    ),
    ("workflow.quick_reports", "GET"): needs(P.QUICK_REPORT_RECEIVE),
    ("workflow.quick_report", "GET"): needs(P.QUICK_REPORT_RECEIVE, "quick_report"),
    ("workflow.forward_quick_report", "POST"): needs(P.QUICK_REPORT_RECEIVE, "quick_report"),
    # Referrals, from the case's side and the partner's.
    ("referrals.new_referral", "GET"): needs(P.REFERRAL_SEND, "case"),
    ("referrals.new_referral", "POST"): needs(P.REFERRAL_SEND, "case"),
    ("referrals.withdraw", "POST"): needs(P.REFERRAL_SEND, "case"),
    ("referrals.reshare", "GET"): needs(P.REFERRAL_SEND, "case"),
    ("referrals.reshare", "POST"): needs(P.REFERRAL_SEND, "case"),
    ("referrals.partner_home", "GET"): needs(P.REFERRAL_WORK),
    ("referrals.partner_referral", "GET"): PORTAL,
    ("referrals.accept", "POST"): PORTAL,
    ("referrals.decline", "POST"): PORTAL,
    ("referrals.start", "POST"): PORTAL,
    ("referrals.complete", "POST"): PORTAL,
    ("referrals.add_note", "POST"): PORTAL,
    ("referrals.record_service", "POST"): PORTAL_SERVICE,
    ("referrals.check_in", "POST"): PORTAL,
    ("referrals.check_out", "POST"): PORTAL,
    ("referrals.shelters", "GET"): needs(P.CASE_SUPERVISE),
    # Reports.
    ("reports.index", "GET"): needs(P.REPORT_VIEW),
    ("reports.export", "POST"): needs(P.REPORT_VIEW),
    ("reports.national_form", "GET"): NATIONAL,
    ("reports.national_export", "POST"): NATIONAL,
    # Data protection.
    ("dataprotection.requests_register", "GET"): needs(
        (P.DATA_REQUEST_RECORD, P.DATA_REQUEST_REVIEW)
    ),
    ("dataprotection.new_request", "GET"): READ,
    ("dataprotection.new_request", "POST"): READ,
    ("dataprotection.request_page", "GET"): DATA_REQUEST,
    ("dataprotection.acknowledge_request", "POST"): Gate(
        checks=(SEES_REQUEST, Check(P.DATA_REQUEST_RECORD, "data_request")), params=ON_REQUEST
    ),
    # An empty form is sent back to the page before the service is asked (its note is required).
    ("dataprotection.complete_request", "POST"): DATA_REQUEST,
    # Erasing on an access request is refused after the check (nothing is shredded here).
    ("dataprotection.erase_person", "POST"): FULFILS,
    ("dataprotection.export_request", "POST"): FULFILS,
    ("dataprotection.review_request", "POST"): Gate(
        checks=(SEES_REQUEST, Check(P.DATA_REQUEST_REVIEW, "data_request")), params=ON_REQUEST
    ),
    ("dataprotection.breach_register", "GET"): needs(P.BREACH_MANAGE),
    ("dataprotection.new_breach", "GET"): needs(P.BREACH_REPORT),
    ("dataprotection.new_breach", "POST"): needs(P.BREACH_REPORT),
    ("dataprotection.breach_page", "GET"): BREACH,
    ("dataprotection.breach_notified", "POST"): BREACH,
    # Retention: legal holds are set at the province or centre, over their subtree.
    ("retention.holds", "GET"): needs(P.CASE_HOLD, OWN_UNIT),
    ("retention.set_hold", "POST"): needs(P.CASE_HOLD, OWN_UNIT),
    ("retention.lift_hold", "POST"): Gate(
        checks=(Check(P.CASE_HOLD, OWN_UNIT), Check(P.CASE_HOLD, "case", 404))
    ),
    ("retention.retention_report", "GET"): needs(P.RETENTION_REPORT),
    # --- The API (/api/v1): bearer tokens; nobody signed in gets 401 ---------------------------
    ("api.whoami", "GET"): SIGNED_IN,
    ("api.openapi_document", "GET"): SIGNED_IN,
    ("api.list_cases", "GET"): needs(P.CASE_READ),
    ("api.supervision", "GET"): needs(P.CASE_SUPERVISE),
    ("api.deadlines", "GET"): needs(P.CASE_READ),
    ("api.create_case", "POST"): needs(P.CASE_CREATE, OWN_UNIT),
    ("api.get_case", "GET"): FILE,
    **{
        ("api." + name, "GET"): READ
        for name in (
            "list_actions",
            "list_assessments",
            "get_consent",
            "list_people",
            "list_support",
            "list_case_referrals",
        )
    },
    ("api.update_case", "PATCH"): EDIT,
    ("api.classify_case", "PATCH"): EDIT,
    ("api.update_person", "PATCH"): EDIT,
    ("api.update_support", "PATCH"): EDIT,
    **{
        ("api." + name, "POST"): EDIT
        for name in (
            "add_action",
            "correct_action",
            "add_needs_assessment",
            "add_safety_assessment",
            "give_consent",
            "withdraw_consent",
            "record_legal_basis",
            "end_legal_basis",
            "add_person",
            "add_relationship",
            "add_support",
            "schedule_follow_up",
            "follow_up_outcome",
        )
    },
    ("api.send_quick_report", "POST"): needs(P.QUICK_REPORT_SEND, "case"),
    ("api.request_escalation", "POST"): needs(P.ESCALATION_REQUEST, "case"),
    ("api.request_closure", "POST"): needs(P.CLOSURE_REQUEST, "case"),
    ("api.take_over", "POST"): needs(P.CASE_TAKE_OVER, "case"),
    ("api.reopen", "POST"): needs(P.CASE_REOPEN, "case"),
    ("api.send_referral", "POST"): needs(P.REFERRAL_SEND, "case"),
    ("api.withdraw_referral", "POST"): needs(P.REFERRAL_SEND, "case"),
    ("api.accept_escalation", "POST"): needs(P.ESCALATION_ANSWER, "escalation"),
    ("api.return_escalation", "POST"): needs(P.ESCALATION_ANSWER, "escalation"),
    ("api.approve_closure", "POST"): needs(P.CLOSURE_DECIDE, "closure"),
    ("api.refuse_closure", "POST"): needs(P.CLOSURE_DECIDE, "closure"),
    ("api.list_quick_reports", "GET"): needs(P.QUICK_REPORT_RECEIVE),
    ("api.get_quick_report", "GET"): needs(P.QUICK_REPORT_RECEIVE, "quick_report"),
    ("api.forward_quick_report", "POST"): needs(P.QUICK_REPORT_RECEIVE, "quick_report"),
    ("api.list_action_requests", "GET"): READ,
    ("api.ask_to_act", "POST"): needs(P.ACTION_REQUEST_SEND, "case"),
    ("api.answer_action_request", "POST"): ANSWERS,
    ("api.withdraw_action_request", "POST"): needs(P.ACTION_REQUEST_SEND, "moved_case"),
    ("api.list_audit_events", "GET"): needs(P.AUDIT_READ),
    ("api.list_audit_viewers", "GET"): needs(P.AUDIT_READ),
    ("api.audit_checkpoint", "GET"): needs(P.AUDIT_VERIFY),
    ("api.get_report", "GET"): needs(P.REPORT_VIEW),
    ("api.partner_queue", "GET"): needs(P.REFERRAL_WORK),
    ("api.partner_referral", "GET"): PORTAL,
    ("api.partner_accept", "POST"): PORTAL,
    ("api.partner_decline", "POST"): PORTAL,
    ("api.partner_start", "POST"): PORTAL,
    ("api.partner_complete", "POST"): PORTAL,
    ("api.partner_note", "POST"): PORTAL,
    ("api.partner_service", "POST"): PORTAL_SERVICE,
    ("api.partner_check_in", "POST"): PORTAL,
    ("api.partner_check_out", "POST"): PORTAL,
}
