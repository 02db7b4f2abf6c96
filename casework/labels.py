"""Display names for the vocabulary stored as codes: roles, unit levels, partner kinds."""

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "officer": _l("Case officer"),
    "reviewer": _l("Reviewer"),
    "partner": _l("Partner staff"),
    "auditor": _l("Auditor"),
    "admin": _l("Administrator"),
}

LEVEL_LABELS = {
    "central": _l("Central"),
    "province": _l("Province"),
    "district": _l("District"),
    "commune": _l("Commune"),
    "branch": _l("Branch"),
}

PARTNER_KIND_LABELS = {
    "shelter": _l("Trusted address / shelter"),
    "legal_aid": _l("Legal-aid centre"),
    "health": _l("Health facility"),
    "social": _l("Social or child-protection service"),
    "police": _l("Police"),
    "other": _l("Other service"),
}


def label(mapping: dict[str, object], code: str | None) -> str:
    if code is None:
        return ""
    return str(mapping.get(code, code))
