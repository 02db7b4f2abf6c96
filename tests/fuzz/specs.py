"""Every web form of the app, as a user submits it: who, where, and a valid submission that the fuzzer
then corrupts field by field. test_coverage.py fails when a form class has no entry here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from casework.accounts.forms import (
    ChangePasswordForm,
    CodeForm,
    ConfirmPasswordForm,
    EnrolForm,
    LoginForm,
)
from casework.admin import forms as admin
from casework.admin.partner_views import EditPartnerForm, PartnerForm
from casework.api.token_views import TokenForm
from casework.audit.forms import AuditFilterForm
from casework.audit.forms import ExportForm as AuditExportForm
from casework.cases import forms as cases
from casework.cases import people_forms as people
from casework.cases import timeline_forms as timeline
from casework.cases.attachment_forms import AttachmentForm
from casework.cases.search_forms import CaseSearchForm
from casework.cases.support import local_today
from casework.cases.workflow import forms as workflow
from casework.dataprotection import forms as dataprotection
from casework.dataprotection.forms import BreachForm, RequestForm
from casework.db import utcnow
from casework.referrals import delivery
from casework.referrals import forms as referrals
from casework.reports.forms import ExportForm as ReportExportForm
from casework.reports.forms import NationalExportForm, ReportForm
from casework.retention.forms import HoldForm, LiftForm
from tests.conftest import PASSWORD
from tests.fuzz.harness import Spec

MOMENT = "%Y-%m-%dT%H:%M"


def local(hours_ago: float) -> str:
    """A moment typed as a user in Vietnam types it (the forms read local time)."""
    return cases.to_local_naive(utcnow() - timedelta(hours=hours_ago)).strftime(MOMENT)


def case_url(key: str, tail: str) -> Any:
    return lambda w: f"/cases/{w[key].id}{tail}"


def _delivery_url(w: dict[str, Any]) -> str:
    row = delivery.services_of(w["referral"])[0]
    return f"/partner/referrals/{w['referral'].id}/services/{row.support.id}"


def _delivery_valid(w: dict[str, Any]) -> dict[str, Any]:
    name = f"svc-{delivery.services_of(w['referral'])[0].support.id.hex}"
    return {
        f"{name}-version": w["referral"].version,
        f"{name}-result": "delivered",
        f"{name}-on": local_today().isoformat(),
    }


PEOPLE = {
    "role": "representative",
    "full_name": "Lê Thị Mai",
    "sex": "female",
    "date_of_birth": "1980-05-01",
    "phone": "0912 000 111",
    "disability": "",
}
REPORT = {"unit": "C1", "kind": "month", "year": "2026", "month": "1", "grouping": "recorded"}
TIGHT = frozenset({302, 303})
PAGE = frozenset({200})

SPECS: list[Spec] = [
    # --- Sign-in and own account (these forms answer 401/422 on a refusal).
    Spec(
        LoginForm, None, lambda w: "/login", lambda w: {"username": "officer.c1", "password": "x"}
    ),
    Spec(CodeForm, None, lambda w: "/login/code", lambda w: {"code": "123456"}, done=PAGE | TIGHT),
    Spec(
        EnrolForm,
        None,
        lambda w: "/login/second-factor-setup",
        lambda w: {"code": "1"},
        done=PAGE | TIGHT,
    ),
    Spec(
        ChangePasswordForm,
        "officer_c1",
        lambda w: "/account/password",
        lambda w: {"current_password": PASSWORD, "new_password": "x", "confirm": "x"},
    ),
    Spec(
        ConfirmPasswordForm,
        "officer_c1",
        lambda w: "/account/recovery-codes",
        lambda w: {"current_password": "wrong password here"},
        done=PAGE | TIGHT,
    ),
    Spec(
        TokenForm,
        "officer_c1",
        lambda w: "/account/tokens",
        lambda w: {"name": "sync", "scope": "read", "days": "30", "current_password": "nope"},
        done=PAGE | TIGHT,
    ),
    # --- Cases.
    Spec(
        cases.IntakeForm,
        "officer_c1",
        lambda w: "/cases/new",
        lambda w: {
            "received_at": local(1),
            "source": "victim",
            "types": ["domestic_violence"],
            "summary": "Beaten last night",
            "victim_name": "Nguyễn Thị Lan",
            "victim_phone": "0987 654 321",
        },
    ),
    Spec(
        cases.IntakeEditForm,
        "officer_c1",
        case_url("case", "/intake"),
        lambda w: {
            "version": w["case"].version,
            "received_at": local(1),
            "source": "victim",
            "summary": "Beaten again",
        },
    ),
    Spec(
        cases.ClassifyForm,
        "officer_c1",
        case_url("case", "/classify"),
        lambda w: {
            "version": w["case"].version,
            "types": ["domestic_violence.physical"],
            "severity": "S2",
            "risk": "medium",
        },
    ),
    Spec(
        cases.BreakGlassForm,
        "reviewer_hy",
        case_url("case", "/break-glass"),
        lambda w: {"reason": "Court request", "minutes": "60", "password": PASSWORD},
        done=TIGHT | frozenset({403}),
    ),
    Spec(
        CaseSearchForm,
        "officer_c1",
        lambda w: "/cases/search",
        lambda w: {"kind": "phone", "term": "0912 345 678"},
        done=PAGE,
    ),
    Spec(
        AttachmentForm,
        "officer_c1",
        case_url("case", "/attachments"),
        lambda w: {"description": "Medical certificate", "file": (b"plain words\n", "note.txt")},
    ),
    # --- People, consent, legal bases.
    Spec(people.PersonForm, "officer_c1", case_url("case", "/people/new"), lambda w: dict(PEOPLE)),
    Spec(
        people.PersonForm,
        "officer_c1",
        lambda w: f"/cases/{w['case'].id}/people/{w['man'].id}/edit",
        lambda w: {**PEOPLE, "role": "perpetrator", "sex": "male", "version": w["man"].version},
        id="PersonForm (edit)",
    ),
    Spec(
        people.RelationshipForm,
        "officer_c1",
        lambda w: f"/cases/{w['case'].id}/people/{w['man'].id}/relationships/new",
        lambda w: {"kind": "spouse", "other": str(w["victim"].id)},
    ),
    Spec(
        people.ConsentForm,
        "officer_c1",
        case_url("case", "/consent/new"),
        lambda w: {
            "subject": str(w["victim"].id),
            "purposes": ["refer_legal_aid"],
            "given_by": "victim",
            "method": "verbal",
            "given_at": local(0.1),
        },
    ),
    Spec(
        people.WithdrawConsentForm,
        "officer_c1",
        lambda w: f"/cases/{w['case'].id}/consent/{w['consent'].id}/withdraw",
        lambda w: {},
    ),
    Spec(
        people.LegalBasisForm,
        "officer_c1",
        case_url("case", "/legal-basis/new"),
        lambda w: {"basis": "protect_life", "purpose": "record", "note": "She was in danger"},
    ),
    Spec(
        people.EndLegalBasisForm,
        "officer_c1",
        lambda w: f"/cases/{w['case'].id}/legal-basis/{w['basis'].id}/end",
        lambda w: {"version": w["basis"].version, "reason": "The danger is over"},
    ),
    # --- Assessments, actions, support, follow-ups.
    Spec(
        timeline.SafetyAssessmentForm,
        "officer_c1",
        case_url("case", "/assessments/safety/new"),
        lambda w: {"based_on": "1", "risk": "high", "findings": "Threats", "safety_plan": "Go"},
    ),
    Spec(
        timeline.NeedsAssessmentForm,
        "officer_c1",
        case_url("case", "/assessments/needs/new"),
        lambda w: {"based_on": "0", "findings": "Legal advice"},
    ),
    Spec(
        timeline.ActionForm,
        "officer_c1",
        case_url("case", "/actions/new"),
        lambda w: {"kind": "visit", "occurred_at": local(0.1), "description": "Visited"},
    ),
    Spec(
        timeline.ActionCorrectionForm,
        "officer_c1",
        lambda w: f"/cases/{w['case'].id}/actions/{w['action'].id}/correct",
        lambda w: {"kind": "visit", "occurred_at": local(0.1), "description": "Visited at home"},
    ),
    Spec(
        timeline.SupportForm,
        "officer_c1",
        case_url("case", "/support/new"),
        lambda w: {
            "person": str(w["victim"].id),
            "service": "legal_advice",
            "provider": f"unit:{w['C1'].id}",
            "status": "planned",
        },
    ),
    Spec(
        timeline.SupportEditForm,
        "officer_c1",
        lambda w: f"/cases/{w['case'].id}/support/{w['support'].id}",
        lambda w: {
            "version": w["support"].version,
            "provider": f"unit:{w['C1'].id}",
            "status": "in_progress",
            "started_on": local_today().isoformat(),
        },
    ),
    Spec(
        timeline.FollowUpForm,
        "officer_c1",
        case_url("case", "/follow-ups/new"),
        lambda w: {"due_at": local(-48)},
    ),
    Spec(
        timeline.FollowUpEditForm,
        "officer_c1",
        lambda w: f"/cases/{w['case'].id}/follow-ups/{w['follow_up'].id}",
        lambda w: {
            "version": w["follow_up"].version,
            "status": "done",
            "done_at": local(0.2),
            "note": "She is well",
            "due_at": local(-72),
        },
    ),
    # --- Workflow (a refusal comes back as a flash on the case file).
    Spec(
        workflow.QuickReportForm,
        "officer_c1",
        case_url("case", "/quick-report"),
        lambda w: {"situation": "Safe at her sister's"},
    ),
    Spec(
        workflow.ReasonForm,
        "officer_c1",
        case_url("case", "/escalate"),
        lambda w: {"reason": "Needs the district"},
    ),
    Spec(
        workflow.ClosureForm,
        "officer_c1",
        case_url("case", "/closure"),
        lambda w: {"reason": "resolved", "outcome": "Safe"},
    ),
    Spec(
        workflow.DecisionForm,
        "reviewer_d1",
        lambda w: f"/closures/{w['closure'].id}/refuse",
        lambda w: {"comment": "A follow-up visit first"},
    ),
    Spec(
        workflow.GuidanceForm,
        "reviewer_d1",
        lambda w: f"/escalations/{w['escalation'].id}/return",
        lambda w: {"guidance": "Visit her with the police"},
    ),
    Spec(workflow.EmptyForm, "officer_c1", case_url("case", "/monitoring"), lambda w: {}),
    # --- Data protection and retention.
    Spec(
        dataprotection.VersionForm,
        "officer_c1",
        lambda w: f"/data-protection/requests/{w['data_waiting'].id}/acknowledge",
        lambda w: {"version": w["data_waiting"].version},
    ),
    Spec(
        dataprotection.ReviewForm,
        "reviewer_d1",
        lambda w: f"/data-protection/requests/{w['data_waiting'].id}/review",
        lambda w: {
            "version": w["data_waiting"].version,
            "decision": "refuse",
            "note": "She is not a person of this file",
        },
    ),
    Spec(
        dataprotection.CompleteForm,
        "officer_c1",
        lambda w: f"/data-protection/requests/{w['data_granted'].id}/complete",
        lambda w: {"version": w["data_granted"].version, "note": "Her date of birth corrected"},
        refused=frozenset({403}),  # once done, the request is no longer there to carry out
    ),
    Spec(
        dataprotection.ExportForm,
        "officer_c1",
        lambda w: f"/data-protection/requests/{w['data_export'].id}/export",
        lambda w: {"version": w["data_export"].version, "current_password": PASSWORD},
        done=frozenset({200, 303}),
        refused=frozenset({403}),
    ),
    Spec(
        dataprotection.NotifiedForm,
        "auditor",
        lambda w: f"/data-protection/breaches/{w['breach'].id}/notified",
        lambda w: {"version": w["breach"].version, "notified_at": local(0.5)},
    ),
    Spec(
        LiftForm,
        "reviewer_hy",
        lambda w: f"/retention/holds/{w['hold'].id}/lift",
        lambda w: {},
    ),
    Spec(
        workflow.AskToActForm,
        "reviewer_d1",
        case_url("moved", "/action-requests/new"),
        lambda w: {"unit": str(w["C1"].id), "what": "Visit her today", "due_at": local(-6)},
    ),
    Spec(
        workflow.AnswerRequestForm,
        "officer_c1",
        lambda w: f"/action-requests/{w['asked'].id}/answer",
        lambda w: {
            "kind": "visit",
            "occurred_at": local(0.1),
            "description": "Visited; she is safe",
            "version": w["asked"].version,
        },
    ),
    Spec(
        workflow.VersionForm,
        "reviewer_d1",
        lambda w: f"/action-requests/{w['asked'].id}/withdraw",
        lambda w: {"version": w["asked"].version},
    ),
    # --- Referrals, on both sides.
    Spec(
        referrals.ServicesForm,
        "officer_c1",
        case_url("case", "/referrals/new?kind=shelter"),
        lambda w: {"services": ["shelter"]},
        method="GET",
        done=PAGE,
    ),
    Spec(
        referrals.ReferralForm,
        "officer_c1",
        case_url("case", "/referrals/new?kind=shelter"),
        lambda w: {
            "person": str(w["victim"].id),
            "partner": str(w["shelter"].id),
            "services": ["shelter"],
            "packet_fields": ["full_name"],
            "needs": "A bed",
        },
    ),
    Spec(
        referrals.ReshareForm,
        "officer_c1",
        lambda w: f"/cases/{w['case'].id}/referrals/{w['referral'].id}/reshare",
        lambda w: {"packet_fields": ["full_name"], "needs": "A bed and food"},
    ),
    Spec(
        referrals.NoteForm,
        "staff_a",
        lambda w: f"/partner/referrals/{w['referral'].id}/notes",
        lambda w: {"note-body": "She arrived"},
        prefix="note",
    ),
    Spec(
        referrals.OutcomeForm,
        "staff_a",
        lambda w: f"/partner/referrals/{w['referral'].id}/complete",
        lambda w: {"complete-version": w["referral"].version, "complete-outcome": "Safe"},
        prefix="complete",
    ),
    Spec(
        referrals.StayForm,
        "staff_a",
        lambda w: f"/partner/referrals/{w['referral'].id}/stays",
        lambda w: {"check_in-version": w["referral"].version, "check_in-at": local(0.1)},
        prefix="check_in",
    ),
    Spec(
        referrals.VersionedForm,
        "staff_a",
        lambda w: f"/partner/referrals/{w['referral'].id}/start",
        lambda w: {"step-version": w["referral"].version},
        prefix="step",
    ),
    Spec(referrals.DeliveryForm, "staff_a", _delivery_url, _delivery_valid, id="DeliveryForm"),
    # Last: a withdrawn referral is gone from the partner's side (404 there).
    Spec(
        referrals.ReasonForm,
        "officer_c1",
        lambda w: f"/cases/{w['case'].id}/referrals/{w['referral'].id}/withdraw",
        lambda w: {"version": w["referral"].version, "reason": "She moved"},
    ),
    # --- Administration.
    Spec(
        admin.UnitSearchForm,
        "admin",
        lambda w: "/admin/units",
        lambda w: {"q": "C"},
        "GET",
        done=PAGE,
    ),
    Spec(
        admin.UserFilterForm,
        "admin",
        lambda w: "/admin/users",
        lambda w: {"role": "officer", "unit": "HY", "status": "active"},
        "GET",
        done=PAGE,
    ),
    Spec(
        admin.CreateUnitForm,
        "admin",
        lambda w: f"/admin/units/{w['D1'].id}/new",
        lambda w: {"code": "C9", "name": "Xã Mới", "level": "commune"},
    ),
    Spec(
        admin.RenameUnitForm,
        "admin",
        lambda w: f"/admin/units/{w['C2'].id}/rename",
        lambda w: {"version": w["C2"].version, "name": "Phường Hai"},
    ),
    Spec(
        admin.MoveUnitForm,
        "admin",
        lambda w: f"/admin/units/{w['C2'].id}/move",
        lambda w: {"version": w["C2"].version, "parent": "D1"},
    ),
    Spec(
        admin.RetireUnitForm,
        "admin",
        lambda w: f"/admin/units/{w['C2'].id}/retire",
        lambda w: {"version": w["C2"].version, "successor": "C1"},
    ),
    Spec(
        admin.CreateUserForm,
        "admin",
        lambda w: "/admin/users/new",
        lambda w: {
            "username": "new.officer",
            "display_name": "Trần Thị Hoa",
            "role": "officer",
            "unit": "C2",
            "partner": "0",
        },
        done=PAGE | TIGHT,
    ),
    Spec(
        admin.EditUserForm,
        "admin",
        lambda w: f"/admin/users/{w['officer_c2'].id}/edit",
        lambda w: {
            "version": w["officer_c2"].version,
            "display_name": "Staff C2",
            "role": "officer",
            "unit": "C2",
            "partner": "0",
        },
    ),
    Spec(
        admin.UserActionForm,
        "admin",
        lambda w: f"/admin/users/{w['officer_c2'].id}/deactivate",
        lambda w: {"version": w["officer_c2"].version},
    ),
    Spec(
        PartnerForm,
        "admin",
        lambda w: "/admin/partners/new",
        lambda w: {"name": "Clinic", "kind": "health", "units": "D1", "services": ["medical"]},
    ),
    Spec(
        EditPartnerForm,
        "admin",
        lambda w: f"/admin/partners/{w['shelter'].id}/edit",
        lambda w: {
            "version": w["shelter"].version,
            "name": "Shelter A",
            "kind": "shelter",
            "units": "D1",
            "services": ["shelter"],
            "capacity": "4",
            "active": "y",
        },
    ),
    # --- Audit log and reports.
    Spec(
        AuditFilterForm,
        "auditor",
        lambda w: "/audit/",
        lambda w: {"date_from": "2026-01-01", "actor": "officer.c1", "outcome": "ok"},
        "GET",
        done=PAGE,
    ),
    Spec(
        AuditExportForm,
        "auditor",
        lambda w: "/audit/export",
        lambda w: {"date_from": "2026-01-01", "current_password": "not my password"},
        done=PAGE,
    ),
    Spec(ReportForm, "reviewer_hy", lambda w: "/reports", lambda w: dict(REPORT), "GET", done=PAGE),
    Spec(
        ReportExportForm,
        "reviewer_hy",
        lambda w: "/reports/export",
        lambda w: {**REPORT, "format": "csv", "current_password": "not my password"},
        done=PAGE,
    ),
    Spec(
        NationalExportForm,
        "reviewer_hy",
        lambda w: "/reports/national",
        lambda w: {"year": "2026", "current_password": "not my password"},
        done=PAGE,
    ),
]

SPECS += [
    # --- Retention holds and data protection.
    Spec(
        HoldForm,
        "reviewer_hy",
        lambda w: "/retention/holds",
        lambda w: {"case_code": w["case"].code, "reason": "Court file 12/2026", "until": ""},
    ),
    Spec(
        RequestForm,
        "officer_c1",
        lambda w: f"/data-protection/cases/{w['case'].id}/requests/new",
        lambda w: {
            "person": str(w["victim"].id),
            "kind": "access",
            "requester_relation": "subject",
            "received_at": local(0.1),
            "details": "She asks for a copy of her file",
        },
    ),
    Spec(
        BreachForm,
        "officer_c1",
        lambda w: "/data-protection/breaches/new",
        lambda w: {
            "discovered_at": local(0.1),
            "categories": ["contact"],
            "units": [str(w["C1"].id)],
            "people_affected": "3",
            "description": "A printed list was left on a bus",
        },
    ),
]

# Forms with no field a user types into: only a CSRF token, checked by tests/test_security.py.
NO_INPUT = {"WithdrawConsentForm", "EmptyForm", "UserActionForm", "VersionedForm", "LiftForm"}
