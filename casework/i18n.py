"""Translations and dates, found once per request.

A case list shows about a hundred translated labels and twenty-five dates. Flask-Babel resolves the
request's locale and catalogue for every string (about 10 µs each) and Babel looks up the locale's
date patterns for every date; here both are found once and reused, with the same results.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from babel import Locale, dates
from flask import Flask, g
from flask_babel import (
    Babel,
    Domain,
    format_datetime,
    get_locale,
    get_timezone,
    get_translations,
)

NAMED_FORMATS = frozenset({"short", "medium", "long", "full"})

# The request's catalogue, once found. A context variable rather than flask.g: reading g goes
# through a proxy, which is what made each string cost as much as it did.
_REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("casework_i18n_request", default=None)


class RequestDomain(Domain):
    """The message domain, remembering the request's catalogue for the rest of the request.

    A request has one language (chosen once by the locale selector), so the catalogue found for its
    first string serves every later one. Outside a request (the command line, where
    `force_locale` writes a notice in another language) nothing is remembered."""

    def get_translations(self) -> Any:
        memo = _REQUEST.get()
        if memo is None:
            return super().get_translations()
        found = memo.get("translations")
        if found is None:
            found = memo["translations"] = super().get_translations()
        return found


def translations() -> Any:
    """The request's catalogue (Flask-Babel's lookup outside a request)."""
    memo = _REQUEST.get()
    found = memo.get("translations") if memo is not None else None
    return found if found is not None else get_translations()


def install(app: Flask, babel: Babel) -> None:
    """Make the request-remembering domain Flask-Babel's default one, and the templates' _() use
    the remembered catalogue directly (as Flask-Babel's own callables do, without its lookups)."""
    domain = app.extensions["babel"].default_domain
    babel.domain_instance = RequestDomain(domain=domain)  # type: ignore[misc]
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )

    @app.before_request
    def _remember_translations() -> None:
        g.casework_i18n_token = _REQUEST.set({})

    @app.teardown_request
    def _forget_translations(_exc: BaseException | None) -> None:
        token = g.pop("casework_i18n_token", None)
        if token is None:
            return
        try:
            _REQUEST.reset(token)
        except ValueError:  # torn down in another context (a streamed response's end)
            _REQUEST.set(None)


@functools.lru_cache(maxsize=32)
def _patterns(locale: Locale, fmt: str) -> tuple[str, Any, Any]:
    """How the locale writes a date and time: the glue ("{1}, {0}"), the date and the time."""
    return (
        dates.get_datetime_format(fmt, locale=locale).replace("'", ""),
        dates.get_date_format(fmt, locale=locale),
        dates.get_time_format(fmt, locale=locale),
    )


def when(value: datetime | None, fmt: str = "short") -> str:
    """A moment in the user's language and Vietnam's time zone, as flask_babel.format_datetime
    writes it (a stored time without a zone is UTC)."""
    if value is None:
        return ""
    memo = _REQUEST.get()
    place = memo.get("place") if memo is not None else None
    if place is None:
        place = (get_locale(), get_timezone())
        if memo is not None:
            memo["place"] = place
    locale, zone = place
    if fmt not in NAMED_FORMATS or locale is None:
        return format_datetime(value, fmt)
    glue, date_pattern, time_pattern = _patterns(locale, fmt)
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    day = local.date()
    return glue.replace(
        "{0}", time_pattern.apply(local.timetz(), locale, reference_date=day)
    ).replace("{1}", date_pattern.apply(day, locale))
