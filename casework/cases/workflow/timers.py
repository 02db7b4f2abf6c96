"""Deadlines computed from a case's data (DOMAIN.md "Timers the software watches").

Each deadline is derived from the intake, classification, actions, support, follow-ups, referrals
and quick reports, so a correction anywhere is reflected at once: the case file computes its own
case's deadlines here on every view; boards, dashboards and the overdue alerts (boards.py) read the
unmet ones that pending.py stores from this same computation at every commit. Limits come from the
configuration (one place, DOMAIN.md defaults). Working days are counted in Vietnam's time
zone, Monday to Friday, skipping the configured public holidays.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.cases import rows as case_rows
from casework.cases.models import Action, Assessment, Case, CaseType, FollowUp, Support
from casework.cases.workflow.models import ActionRequest, QuickReport
from casework.db import utcnow
from casework.extensions import db
from casework.referrals.models import Referral

LABELS = {
    "notify_commune_chair": _l("Tell the commune People's Committee chair (domestic violence)"),
    "report_child_abuse": _l("Report child abuse to 111, the commune or the police"),
    "child_emergency": _l("Emergency intervention for a child at serious risk"),
    "child_plan": _l("Child support and intervention plan"),
    "contact_ban_decision": _l("Commune chair's decision on a contact ban"),
    "contact_ban_ends": _l("Contact ban ends (at most 3 days): check her safety before"),
    "medical_referral_pep": _l("Medical referral within 72 hours (HIV prevention)"),
    "medical_referral_ec": _l("Medical referral within 120 hours (emergency contraception)"),
    "quick_report": _l("Quick report to the higher level"),
    "follow_up": _l("Follow-up contact"),
    "referral_answer": _l("Partner's answer to a referral"),
    "action_request": _l("Action asked of a unit below"),
    "data_request_ack": _l("Acknowledge a data-protection request"),
    "data_request_answer": _l("Answer a data-protection request"),
}


@dataclass(frozen=True)
class Deadline:
    case_id: uuid.UUID
    kind: str
    due_at: datetime
    done_at: datetime | None = None
    subject: str = ""  # which action or follow-up, when a case has several of the kind

    @property
    def label(self) -> object:
        return LABELS.get(self.kind, self.kind)

    def overdue(self, now: datetime | None = None) -> bool:
        return self.done_at is None and self.due_at < (now or utcnow())

    def late(self) -> bool:
        """Done, but after the deadline."""
        return self.done_at is not None and self.done_at > self.due_at


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _holidays() -> set[date]:
    return {date.fromisoformat(d) for d in current_app.config["PUBLIC_HOLIDAYS"]}


def local_now() -> datetime:
    return utcnow().astimezone(_tz())


def holidays_configured(year: int) -> bool:
    """Whether the administrator entered any public holiday of that year."""
    return any(day.year == year for day in _holidays())


def add_working_days(start: datetime, days: int, holidays: set[date] | None = None) -> datetime:
    """The end of the `days`-th working day after `start`, counted in local time.

    A case received on Friday evening with 5 working days is due at the end of the next Friday;
    Saturdays, Sundays and holidays do not count. The result is 23:59:59 local time, in UTC.
    """
    holidays = _holidays() if holidays is None else holidays
    tz = _tz()
    day = start.astimezone(tz).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            counted += 1
    end = datetime.combine(day, time(23, 59, 59), tzinfo=tz)
    return end.astimezone(start.tzinfo or tz)


def _hours(name: str) -> timedelta:
    return timedelta(hours=current_app.config["DEADLINE_HOURS"][name])


def _first(moments: Iterable[datetime | None]) -> datetime | None:
    found = [m for m in moments if m is not None]
    return min(found) if found else None


@dataclass
class _Facts:
    """What the deadlines of a batch of cases depend on, loaded in one query per table."""

    actions: dict[uuid.UUID, list[Action]]
    supports: dict[uuid.UUID, list[Support]]
    assessments: dict[uuid.UUID, list[Assessment]]
    follow_ups: dict[uuid.UUID, list[FollowUp]]
    quick_reports: dict[uuid.UUID, list[QuickReport]]
    referrals: dict[uuid.UUID, list[Referral]] = field(default_factory=dict)
    action_requests: dict[uuid.UUID, list[ActionRequest]] = field(default_factory=dict)
    # Each case's type codes, read in one query for a batch (None: from each case itself).
    types: dict[uuid.UUID, set[str]] | None = None


def _group(rows: Iterable[object]) -> dict[uuid.UUID, list]:  # type: ignore[type-arg]
    grouped: dict[uuid.UUID, list] = defaultdict(list)  # type: ignore[type-arg]
    for row in rows:
        grouped[row.case_id].append(row)  # type: ignore[attr-defined]
    return grouped


def _facts(case_ids: list[uuid.UUID], empty: frozenset[type] = frozenset()) -> _Facts:
    """The records the cases' deadlines are computed from; `empty` names the models known to
    have no row of these cases (not queried)."""

    def rows(model):  # type: ignore[no-untyped-def]
        if model in empty:
            return []
        if len(case_ids) == 1:  # one case's file: the rows its other sections read too
            return case_rows.of_case(model, case_ids[0])
        return (
            db.session.scalars(select(model).where(model.case_id.in_(case_ids))) if case_ids else []
        )

    every_action = list(rows(Action))
    superseded = {a.supersedes_id for a in every_action if a.supersedes_id is not None}
    actions = [a for a in every_action if a.id not in superseded]
    types: dict[uuid.UUID, set[str]] | None = None
    if len(case_ids) > 1:  # a board: not one lazy load per case
        types = defaultdict(set)
        codes = select(CaseType.case_id, CaseType.code).where(CaseType.case_id.in_(case_ids))
        for case_id, code in db.session.execute(codes):
            types[case_id].add(code)
    return _Facts(
        _group(actions),
        _group(rows(Support)),
        _group(rows(Assessment)),
        _group(rows(FollowUp)),
        _group(rows(QuickReport)),
        referrals=_group(rows(Referral)),
        action_requests=_group(rows(ActionRequest)),
        types=types,
    )


# Classifications that mean a sexual assault, besides the intake's own "sexual violence" box: the
# medical referral (HIV prevention within 72 h, emergency contraception within 120 h) applies.
SEXUAL_ASSAULT_TYPES = frozenset({"child_abuse.sexual", "domestic_violence.forced_sex"})
SEXUAL_ASSAULT_GBV = frozenset({"rape", "sexual_assault"})


def needs_medical_referral(case: Case, types: set[str] | None = None) -> bool:
    return bool(
        case.sexual_violence
        or case.gbv_type in SEXUAL_ASSAULT_GBV
        or SEXUAL_ASSAULT_TYPES & (set(case.type_codes) if types is None else types)
    )


def _case_deadlines(case: Case, f: _Facts) -> list[Deadline]:
    out: list[Deadline] = []
    start = case.received_at
    types = set(case.type_codes) if f.types is None else f.types.get(case.id, set())
    actions = f.actions.get(case.id, [])

    def acted(
        kinds: set[str], authorities: set[str] | None = None, after: datetime | None = None
    ) -> datetime | None:
        return _first(
            a.occurred_at
            for a in actions
            if a.kind in kinds
            and (authorities is None or a.authority in authorities)
            and (after is None or a.occurred_at >= after)
        )

    if "domestic_violence" in types:
        done = acted({"notify_authority"}, {"commune_committee"})
        out.append(
            Deadline(case.id, "notify_commune_chair", start + _hours("notify_commune_chair"), done)
        )
    child = case.child_involved or "child_abuse" in types
    if child:
        done = acted({"notify_authority"}, {"hotline_111", "police", "commune_committee"})
        out.append(
            Deadline(case.id, "report_child_abuse", start + _hours("report_child_abuse"), done)
        )
        if case.immediate_danger:
            done = _first(
                [
                    acted({"protective_measure", "visit", "accompaniment"}),
                    _first(
                        datetime.combine(s.started_on, time(0), tzinfo=_tz())
                        for s in f.supports.get(case.id, [])
                        if s.service in ("shelter", "medical") and s.started_on
                    ),
                ]
            )
            out.append(
                Deadline(case.id, "child_emergency", start + _hours("child_emergency"), done)
            )
        plan_done = _first(
            a.created_at for a in f.assessments.get(case.id, []) if a.kind == "safety"
        )
        due = add_working_days(start, current_app.config["CHILD_PLAN_WORKING_DAYS"])
        out.append(Deadline(case.id, "child_plan", due, plan_done))
    for request in (a for a in actions if a.kind == "contact_ban_request"):
        done = acted({"contact_ban", "protective_measure", "reply"}, after=request.occurred_at)
        out.append(
            Deadline(
                case.id,
                "contact_ban_decision",
                request.occurred_at + _hours("contact_ban_decision"),
                done,
                str(request.id),
            )
        )
    for ban in (a for a in actions if a.kind == "contact_ban"):
        # The ban lapses after at most CONTACT_BAN_DAYS: someone sees her, or asks for a new ban,
        # before it does.
        ends = ban.occurred_at + timedelta(days=current_app.config["CONTACT_BAN_DAYS"])
        checked = acted(
            {"visit", "accompaniment", "counselling", "contact_ban_request", "protective_measure"},
            after=ban.occurred_at,
        )
        done = _first(
            [
                checked,
                _first(
                    u.done_at
                    for u in f.follow_ups.get(case.id, [])
                    if u.status == "done" and u.done_at and u.done_at >= ban.occurred_at
                ),
            ]
        )
        out.append(Deadline(case.id, "contact_ban_ends", ends, done, str(ban.id)))
    if needs_medical_referral(case, types):
        # Medical care given, or a referral asking for it that was not declined or withdrawn.
        medical = _first(
            [
                _first(s.created_at for s in f.supports.get(case.id, []) if s.service == "medical"),
                _first(
                    r.sent_at
                    for r in f.referrals.get(case.id, [])
                    if "medical" in r.services.split(",")
                    and r.status not in ("declined", "withdrawn")
                ),
            ]
        )
        out.append(
            Deadline(
                case.id, "medical_referral_pep", start + _hours("medical_referral_pep"), medical
            )
        )
        out.append(
            Deadline(case.id, "medical_referral_ec", start + _hours("medical_referral_ec"), medical)
        )
    # From the moment the severity first needed a quick report (a case raised to S3 a week after
    # its first classification is not overdue at once).
    reportable = case.reportable_since or case.classified_at
    if reportable and case.severity in current_app.config["QUICK_REPORT_SEVERITIES"]:
        sent = _first(r.sent_at for r in f.quick_reports.get(case.id, []))
        due = reportable + timedelta(hours=current_app.config["QUICK_REPORT_HOURS"])
        out.append(Deadline(case.id, "quick_report", due, sent))
    for referral in f.referrals.get(case.id, []):
        # A partner answers within the configured hours; a withdrawal ends the wait.
        out.append(
            Deadline(
                case.id,
                "referral_answer",
                referral.sent_at + _hours("referral_answer"),
                referral.answered_at or referral.withdrawn_at,
                str(referral.id),
            )
        )
    for asked in f.action_requests.get(case.id, []):
        # The unit below answers by the time asked; a withdrawal ends the wait.
        out.append(
            Deadline(case.id, "action_request", asked.due_at, asked.answered_at, str(asked.id))
        )
    for follow_up in f.follow_ups.get(case.id, []):
        done = (
            follow_up.done_at
            if follow_up.status == "done"
            else (follow_up.due_at if follow_up.status == "missed" else None)
        )
        out.append(Deadline(case.id, "follow_up", follow_up.due_at, done, str(follow_up.id)))
    return sorted(out, key=lambda d: d.due_at)


def deadlines_for(case: Case) -> list[Deadline]:
    """Every deadline of one case, earliest first."""
    return _case_deadlines(case, _facts([case.id]))


def deadlines_for_cases(
    cases: list[Case], empty: frozenset[type] = frozenset()
) -> dict[uuid.UUID, list[Deadline]]:
    """Every deadline of each case; `empty` as for _facts."""
    facts = _facts([c.id for c in cases], empty)
    return {c.id: _case_deadlines(c, facts) for c in cases}
