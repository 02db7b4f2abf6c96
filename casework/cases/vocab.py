"""The case vocabulary (DOMAIN.md): codes stored in the database, with their display names.

Codes are stable English identifiers; labels are translated. Adding a code is a data change that
needs no migration (columns hold strings checked here, not database enums).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUSES = {
    "open": _l("Open (being verified)"),
    "active": _l("Being handled"),
    "monitoring": _l("Monitoring"),
    "closure_requested": _l("Closure requested"),
    "closed": _l("Closed"),
}

SAFETY_FLAGS = {
    "immediate_danger": _l("immediate danger"),
    "child_involved": _l("child involved"),
    "injuries": _l("injuries"),
    "sexual_violence": _l("sexual violence"),
}

SOURCES = {
    "victim": _l("Victim in person"),
    "relative": _l("Relative"),
    "neighbour": _l("Neighbour or community member"),
    "branch": _l("Union branch (chi hội)"),
    "hotline_111": _l("Hotline 111"),
    "police": _l("Police"),
    "petition": _l("Petition (đơn thư)"),
    "citizen_reception": _l("Citizen reception"),
    "media": _l("Media"),
    "own_detection": _l("Detected by the Union"),
    "other": _l("Other"),
}

# Case types, each with its sub-types (DV law 2022 art. 3 for domestic violence).
CASE_TYPES: dict[str, tuple[object, dict[str, object]]] = {
    "domestic_violence": (
        _l("Domestic violence"),
        {
            "physical": _l("Physical harm"),
            "insult": _l("Insults, humiliation"),
            "psychological": _l("Psychological pressure"),
            "neglect": _l("Neglect, abandonment"),
            "isolation": _l("Isolation, forced confinement"),
            "obstruct_relations": _l("Obstructing family relations"),
            "disclose_private": _l("Disclosing private life"),
            "forced_sex": _l("Forced sex within marriage"),
            "forced_marriage_divorce": _l("Forced child marriage, marriage or divorce"),
            "economic": _l("Economic control"),
            "forced_out": _l("Forcing out of the home"),
        },
    ),
    "sexual_violence": (_l("Sexual violence or harassment"), {}),
    "child_abuse": (
        _l("Child abuse"),
        {
            "sexual": _l("Sexual abuse"),
            "physical": _l("Physical abuse"),
            "emotional": _l("Emotional abuse"),
            "neglect": _l("Neglect"),
            "labour": _l("Labour exploitation"),
        },
    ),
    "trafficking": (_l("Human trafficking"), {}),
    "child_marriage": (_l("Child or forced marriage"), {}),
    "family_dispute": (
        _l("Marriage and family dispute"),
        {
            "divorce": _l("Divorce"),
            "custody": _l("Custody"),
            "support": _l("Maintenance"),
            "property": _l("Property"),
        },
    ),
    "labour_rights": (_l("Women workers' labour rights"), {}),
    "land_property": (_l("Land and property"), {}),
    "social_policy": (_l("Social-policy entitlements, discrimination"), {}),
    "online_violence": (_l("Online violence"), {}),
    "other": (_l("Other"), {}),
}

GBV_TYPES = {
    "rape": _l("Rape"),
    "sexual_assault": _l("Sexual assault"),
    "physical_assault": _l("Physical assault"),
    "forced_marriage": _l("Forced marriage"),
    "denial_of_resources": _l("Denial of resources, opportunities or services"),
    "psychological_abuse": _l("Psychological or emotional abuse"),
    "non_gbv": _l("Not GBV / not applicable"),
}

SEVERITIES = {
    "S1": _l("S1 routine"),
    "S2": _l("S2 complex"),
    "S3": _l("S3 serious"),
    "S4": _l("S4 prominent"),
}

RISKS = {
    "low": _l("Low"),
    "medium": _l("Medium"),
    "high": _l("High"),
    "imminent": _l("Imminent"),
}

PERSON_ROLES = {
    "victim": _l("Victim"),
    "child": _l("Child in the victim's care"),
    "perpetrator": _l("Alleged perpetrator"),
    "representative": _l("Legal representative"),
}

SEXES = {
    "female": _l("Female"),
    "male": _l("Male"),
    "other": _l("Other"),
    "unknown": _l("Not known"),
}

AGE_BANDS = ("0-5", "6-11", "12-15", "16-17", "18-29", "30-59", "60+")

RELATIONSHIPS = {
    "spouse": _l("Husband or wife"),
    "former_spouse": _l("Former husband or wife"),
    "partner": _l("Partner"),
    "parent": _l("Parent"),
    "step_parent": _l("Step-parent"),
    "child": _l("Child"),
    "sibling": _l("Brother or sister"),
    "other_family": _l("Other family member"),
    "in_law": _l("In-law"),
    "acquaintance": _l("Acquaintance"),
    "employer": _l("Employer"),
    "stranger": _l("Stranger"),
    "other": _l("Other"),
}

CONSENT_PURPOSES = {
    "record": _l("Record and handle the case"),
    "share_higher_level": _l("Share with a higher Union level"),
    "refer_shelter": _l("Refer to a trusted address or shelter"),
    "refer_legal_aid": _l("Refer to legal aid"),
    "refer_health": _l("Refer to a health facility"),
    "refer_social": _l("Refer to social or child-protection services"),
    "refer_police": _l("Refer to the police"),
    "contact_phone": _l("Contact by phone"),
}

CONSENT_GIVERS = {
    "victim": _l("The victim"),
    "child_and_representative": _l("The child (7 or older) together with the representative"),
    "representative": _l("The legal representative"),
    "substitute": _l("A substitute guardian or child-protection worker"),
}

CONSENT_METHODS = {
    "written": _l("In writing"),
    "verbal": _l("Verbally, in person"),
    "phone": _l("By phone"),
}

LEGAL_BASES = {
    "protect_life": _l("Urgent protection of life or health"),
    "mandatory_notification": _l("Notification required by law"),
    "child_protection": _l("Child protection"),
}

ACTION_KINDS = {
    "notify_authority": _l("Notification to an authority"),
    "recommendation": _l("Recommendation sent (kiến nghị)"),
    "reply": _l("Reply received"),
    "visit": _l("Visit"),
    "counselling": _l("Counselling"),
    "reconciliation": _l("Reconciliation (hòa giải)"),
    "accompaniment": _l("Accompanying the victim"),
    "protective_measure": _l("Protective measure"),
    "contact_ban_request": _l("Contact-ban request"),
    "contact_ban": _l("Contact ban decided (at most 3 days)"),
    "other": _l("Other"),
}

AUTHORITIES = {
    "commune_committee": _l("Commune People's Committee chair"),
    "police": _l("Police"),
    "hotline_111": _l("Hotline 111"),
    "procuracy": _l("Procuracy"),
    "court": _l("Court"),
    "health": _l("Health facility"),
    "school": _l("School"),
    "other": _l("Other"),
}

SERVICES = {
    "counselling": _l("Counselling"),
    "medical": _l("Medical care"),
    "shelter": _l("Shelter"),
    "legal_advice": _l("Legal advice"),
    "legal_aid": _l("Legal aid"),
    "economic": _l("Economic support"),
    "education": _l("Education"),
    "other": _l("Other"),
}

SUPPORT_STATUSES = {
    "planned": _l("Planned"),
    "in_progress": _l("In progress"),
    "delivered": _l("Delivered"),
    "stopped": _l("Stopped"),
}

FOLLOW_UP_STATUSES = {"due": _l("Due"), "done": _l("Done"), "missed": _l("Missed")}

ASSESSMENT_KINDS = {"safety": _l("Safety and risk"), "needs": _l("Needs")}


def age_band(age: int) -> str:
    """The statistics band of DOMAIN.md for an age in whole years."""
    for limit, band in (
        (5, "0-5"),
        (11, "6-11"),
        (15, "12-15"),
        (17, "16-17"),
        (29, "18-29"),
        (59, "30-59"),
    ):
        if age <= limit:
            return band
    return "60+"


def type_label(code: str) -> str:
    main, _, sub = code.partition(".")
    label, subs = CASE_TYPES.get(main, (code, {}))
    return f"{label} – {subs.get(sub, sub)}" if sub else str(label)


def all_type_codes() -> list[str]:
    codes = []
    for main, (_label, subs) in CASE_TYPES.items():
        codes.append(main)
        codes.extend(f"{main}.{sub}" for sub in subs)
    return codes
