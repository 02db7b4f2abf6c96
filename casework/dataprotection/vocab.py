"""Labels of the data-protection codes (the codes themselves live in models.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

REQUEST_KINDS = {
    "access": _l("Access: a copy of her data"),
    "rectification": _l("Rectification: correct her data"),
    "restriction": _l("Restriction: limit the processing"),
    "withdrawal": _l("Withdrawal of consent"),
    "erasure": _l("Erasure: delete her data"),
}

REQUESTER_RELATIONS = {
    "subject": _l("The person herself"),
    "representative": _l("Her legal representative or guardian"),
    "authorised": _l("Someone she authorised (lawyer, relative)"),
    "alleged_perpetrator": _l("The alleged perpetrator, or someone for him"),
    "other": _l("Someone else"),
}

REQUEST_STATUSES = {
    "received": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "approved": _l("Granted, to be carried out"),
    "refused": _l("Refused"),
    "completed": _l("Done"),
}

BREACH_CATEGORIES = {
    "identity": _l("Names, dates of birth, ID numbers"),
    "contact": _l("Phone numbers and addresses"),
    "narrative": _l("Case narratives and assessments"),
    "health": _l("Health and sexual-violence data"),
    "children": _l("Children's data"),
    "shelter": _l("Shelter locations"),
    "reporter": _l("Reporters' identities"),
    "attachments": _l("Attached files"),
    "staff_accounts": _l("Staff accounts and passwords"),
}

BREACH_STATUSES = {
    "open": _l("To notify"),
    "notified": _l("Authority notified"),
    "closed": _l("Closed"),
}
