"""What the case file page shows below the intake, gathered section by section.

Each area of the file (people, consent, timeline, support, attachments) contributes one entry, so the
file view stays one query per section and each area keeps its own code.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.accounts.models import User
from casework.cases import rows as case_rows
from casework.cases import search
from casework.cases.models import Case, Person
from casework.db import utcnow
from casework.extensions import db


def people(case: Case) -> list[Person]:
    from casework.cases import people as people_service

    return people_service.people_of(case)


def _section_models() -> tuple[type, ...]:
    """The kinds of record the file's sections read by case (probed first: rows.probe)."""
    from casework.cases.models import (
        Action,
        Assessment,
        Attachment,
        Consent,
        FollowUp,
        LegalBasis,
        Relationship,
        Support,
    )
    from casework.cases.workflow.models import (
        ActionRequest,
        ClosureRequest,
        Escalation,
        QuickReport,
        Transition,
    )
    from casework.referrals.models import Referral
    from casework.retention.models import LegalHold

    return (Action, Assessment, Attachment, Consent, FollowUp, LegalBasis, Relationship, Support,
            ActionRequest, ClosureRequest, Escalation, QuickReport, Transition, Referral, LegalHold)  # fmt: skip


def for_file(actor: User, case: Case) -> dict[str, Any]:
    # Which sections have anything at all, in one query: the empty ones read nothing more.
    case_rows.probe(case.id, _section_models())
    # The people are read once, for every section that shows or checks them.
    everyone = people(case)
    sections: dict[str, Any] = {"people": everyone, "includes": [], "nav": []}
    # A legal hold keeps the file past its retention period: the file says so, not its reason.
    from casework.cases.support import local_today
    from casework.retention import service as retention
    from casework.retention.models import LegalHold

    sections["hold"] = (
        None
        if case_rows.none_of(LegalHold, case.id)
        else retention.active_holds([case.id], local_today()).get(case.id)
    )
    # Possible repeat victim: inserted first, so the warning comes before the other sections.
    victims = [p for p in everyone if p.role == "victim"]
    sections["repeat"] = search.repeat_matches(actor, case, victims=victims)
    sections["includes"].insert(0, "cases/_repeat_warning.html")
    if sections["repeat"].cases or sections["repeat"].hidden:
        sections["nav"].insert(0, ("repeat", _l("Possible repeat victim")))
    # People (cases/_people.html is included by file.html itself) and consent.
    from casework.cases import consent
    from casework.cases import people as people_service

    sections["people_cards"] = people_service.cards(actor, case, people=everyone)
    sections["consent"] = consent.section(actor, case)
    sections["includes"].append("cases/_consent.html")
    sections["nav"].append(("consent", _l("Consent")))
    # Attachments: the list, and the upload form for those who may add files.
    from casework.cases import attachment_forms, attachments

    sections["attachments"] = attachments.list_attachments(case)
    sections["attachment_form"] = attachment_forms.upload_form_for(actor, case)
    sections["includes"].append("cases/_attachments.html")
    sections["nav"].append(("attachments", _l("Attachments")))
    # What is done for the victim: assessments and actions, then support and follow-ups.
    from casework.cases import support, timeline

    sections["timeline"] = timeline.for_file(actor, case)
    sections["support"] = support.for_file(actor, case)
    sections["includes"] += ["cases/_timeline.html", "cases/_support.html"]
    # The Decision 2605 workflow: deadlines, quick reports, escalation, closure.
    sections["workflow"] = workflow(actor, case)
    sections["includes"].insert(1, "cases/_workflow.html")
    sections["nav"].insert(0, ("workflow", _l("Deadlines and workflow")))
    sections["nav"] += [
        ("assessments", _l("Assessments")),
        ("actions", _l("Actions")),
        ("support", _l("Support")),
        ("follow-ups", _l("Follow-ups")),
    ]
    # Referrals to partners, after the support they feed.
    from casework.referrals import portal as referrals

    sections["referrals"] = referrals.for_file(actor, case)
    sections["includes"].append("referrals/_case_section.html")
    sections["nav"].append(("referrals", _l("Referrals")))
    return sections


def workflow(actor: User, case: Case) -> dict[str, Any]:
    """Status, deadlines and the workflow records of the case, with the steps the actor may take."""
    from casework.cases.workflow import forms, requests, service, timers
    from casework.cases.workflow.models import ClosureRequest, Escalation, QuickReport, Transition
    from casework.policy import Permission, can

    reports = sorted(case_rows.of_case(QuickReport, case.id), key=lambda r: r.number)
    history = (
        []
        if case_rows.none_of(Transition, case.id)
        else list(
            db.session.scalars(
                select(Transition).where(Transition.case_id == case.id).order_by(Transition.at)
            )
        )
    )
    asked = requests.of_case(case)
    return {
        "deadlines": timers.deadlines_for(case),
        "action_requests": asked,
        "now": utcnow(),
        "can_ask": can(actor, Permission.ACTION_REQUEST_SEND, case)
        and case.status != "closed"
        and bool(requests.units_to_ask(case)),
        "answerable": {r.id for r in asked if can(actor, Permission.ACTION_REQUEST_ANSWER, r)},
        "quick_reports": reports,
        "quick_report_required": service.quick_report_required(case),
        "escalation": (
            None if case_rows.none_of(Escalation, case.id) else service.pending_escalation(case)
        ),
        "closure": (
            None if case_rows.none_of(ClosureRequest, case.id) else service.pending_closure(case)
        ),
        "history": history,
        "can_edit": can(actor, Permission.CASE_EDIT, case),
        "can_reopen": can(actor, Permission.CASE_REOPEN, case),
        "can_take_over": can(actor, Permission.CASE_TAKE_OVER, case),
        "forms": {
            "quick_report": forms.QuickReportForm(),
            "reason": forms.ReasonForm(),
            "closure": forms.ClosureForm(),
            "decision": forms.DecisionForm(),
            "guidance": forms.GuidanceForm(),
            "empty": forms.EmptyForm(),
            "version": forms.VersionForm(),
        },
        "closure_labels": forms.CLOSURE_REASON_LABELS,
    }
