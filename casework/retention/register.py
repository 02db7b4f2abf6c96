"""The register of processing activities, generated from the configuration and the code.

For the impact-assessment file that Law 91/2025 and Decree 356/2025 ask of the controller: who
processes which personal data, for which purposes, on which legal bases, shared with whom, kept for
how long and protected how. Generated, never copied: the purposes and legal bases come from the case
vocabulary, the encrypted data from the models, the periods from RETENTION_YEARS, so the register
changes when the configuration does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape

from casework.cases import vocab
from casework.crypto import fields
from casework.extensions import db
from casework.labels import PARTNER_KIND_LABELS

# What each table with encrypted fields holds, in words (a table the code adds later still appears,
# under its own name, so the register never silently leaves data out).
_TABLE_LABELS = {
    "case_file": _l("Case file: summary narrative, reporter's name and contact"),
    "person": _l(
        "People in a case: names, other names, date of birth, phone, address, ID number, "
        "safe contact"
    ),
}


@dataclass
class Section:
    title: str
    rows: list[tuple[str, ...]] = field(default_factory=list)
    head: tuple[str, ...] = ()
    text: str = ""


def _retention_rows() -> list[tuple[str, ...]]:
    config = current_app.config
    by_type: dict[str, int] = config["RETENTION_YEARS"]
    rows = [(_("Any other case (default)"), str(config["RETENTION_DEFAULT_YEARS"]))]
    for code, (label, _subs) in vocab.CASE_TYPES.items():
        if code in by_type:
            rows.append((str(label), str(by_type[code])))
    for code, years in sorted(by_type.items()):
        if "." in code:
            rows.append((vocab.type_label(code), str(years)))
    return rows


def _data_rows() -> list[tuple[str, ...]]:
    rows = []
    for spec in fields.encrypted_models([db.metadata]):
        table = spec.model.__table__.name  # type: ignore[attr-defined]
        names = ", ".join(f.name for f in spec.fields)
        owners = ", ".join(sorted({f.key_owner for f in spec.fields}))
        rows.append((str(_TABLE_LABELS.get(table, table)), names, owners))
    return rows


def sections() -> list[Section]:
    config = current_app.config
    contact = config.get("DATA_PROTECTION_CONTACT") or _("not configured")
    purposes = [
        (str(label), _("Consent of the person, for this purpose, withdrawable"))
        for label in vocab.CONSENT_PURPOSES.values()
    ]
    purposes += [
        (_("Handle a case without consent"), str(label)) for label in vocab.LEGAL_BASES.values()
    ]
    purposes.append(
        (
            _("Statistics and periodic reports (de-identified)"),
            _("The Union's reporting duty; no name or identifier is used"),
        )
    )
    purposes.append(
        (
            _("Audit log: who read or changed what"),
            _("Security of processing required by the law; ids only, no victim's data"),
        )
    )
    return [
        Section(
            _("Controller"),
            head=(_("Item"), _("Value")),
            rows=[
                (_("Controller"), str(config["CONTROLLER_NAME"])),
                (_("Data-protection contact"), str(contact)),
            ],
        ),
        Section(
            _("Purposes and legal bases"), head=(_("Purpose"), _("Legal basis")), rows=purposes
        ),
        Section(
            _("Data subjects"),
            head=(_("Who"),),
            rows=[(str(label),) for label in vocab.PERSON_ROLES.values()]
            + [(_("Reporters"),), (_("Union staff and partners' staff (accounts)"),)],
        ),
        Section(
            _("Personal data held encrypted"),
            head=(_("Record"), _("Fields"), _("Key")),
            rows=_data_rows(),
            text=_(
                "Sensitive data: private and family life, health, sex life, crime. Statistics "
                "fields (sex, age band, ethnicity, disability, case types, severity, dates) are "
                "not encrypted and identify nobody on their own."
            ),
        ),
        Section(
            _("Recipients"),
            head=(_("Recipient"), _("When")),
            rows=[(_("Higher Union levels"), _("Quick reports (de-identified), escalation"))]
            + [
                (str(label), _("Referral packet, with consent or a recorded legal basis"))
                for label in PARTNER_KIND_LABELS.values()
            ]
            + [
                (str(label), _("Notifications the law requires"))
                for label in vocab.AUTHORITIES.values()
            ],
        ),
        Section(
            _("Retention after closure, by case type"),
            head=(_("Case type"), _("Years")),
            rows=_retention_rows(),
            text=_(
                "A case of several types keeps the longest period. When the period is over the "
                "case's and its people's data keys are destroyed (crypto-shredding); a legal hold "
                "stops this. Backups are encrypted, and a restored backup erases again whatever "
                "had been erased since."
            ),
        ),
        Section(
            _("Security measures"),
            text=_(
                "Field-level AES-256-GCM encryption with a key per case and per person; master "
                "keys outside the database; blind indexes for search; a hash-chained audit log "
                "with signed checkpoints; second factor for reviewers, partners, auditors and "
                "admins; need-to-know access decided by one policy; no personal data in logs or "
                "addresses. Transfers abroad: none by the system."
            ),
        ),
    ]


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    out = [f"# {_('Register of personal data processing')}: casework", ""]
    for section in sections():
        out += [f"## {section.title}", ""]
        if section.text:
            out += [section.text, ""]
        if section.rows:
            out.append("| " + " | ".join(section.head) + " |")
            out.append("|" + "---|" * len(section.head))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in section.rows]
            out.append("")
    return "\n".join(out)


def html(lang: str = "vi") -> str:
    title = escape(_("Register of personal data processing"))
    out = [
        "<!doctype html>",
        f'<html lang="{escape(lang)}"><head><meta charset="utf-8">',
        f"<title>{title}</title></head><body>",
        f"<h1>{title}: casework</h1>",
    ]
    for section in sections():
        out.append(f"<h2>{escape(section.title)}</h2>")
        if section.text:
            out.append(f"<p>{escape(section.text)}</p>")
        if section.rows:
            out.append("<table><thead><tr>")
            out += [f"<th>{escape(h)}</th>" for h in section.head]
            out.append("</tr></thead><tbody>")
            for row in section.rows:
                out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
            out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
