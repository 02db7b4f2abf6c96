"""Template globals: the access policy, dates in Vietnam's time zone, the language list."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import format_datetime, get_locale
from flask_login import current_user

from casework.cases import vocab
from casework.labels import LEVEL_LABELS, PARTNER_KIND_LABELS, ROLE_LABELS, label
from casework.policy import Permission, can


def _unread() -> int:
    from casework.cases.workflow.notifications import unread_count

    return unread_count(current_user) if current_user.is_authenticated else 0


def init_app(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict[str, object]:
        return {
            "get_locale": get_locale,
            "can": lambda permission, obj=None: can(current_user, permission, obj),
            "Permission": Permission,
            "role_label": lambda code: label(ROLE_LABELS, code),
            "level_label": lambda code: label(LEVEL_LABELS, code),
            "partner_kind_label": lambda code: label(PARTNER_KIND_LABELS, code),
            "vocab": vocab,
            "unread_notifications": _unread,
            "label": label,
        }

    @app.template_filter("without")
    def _without(mapping: dict[str, object], key: str) -> dict[str, object]:
        return {k: v for k, v in mapping.items() if k != key}

    @app.template_filter("when")
    def _when(value: datetime | None, fmt: str = "short") -> str:
        return "" if value is None else format_datetime(value, fmt)
