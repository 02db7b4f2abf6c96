"""Domain errors: small named exceptions that the one error handler renders without internals."""

from __future__ import annotations

from flask_babel import LazyString


class DomainError(Exception):
    """Base of every refusal a service makes; `message` is shown to the user, translated."""

    status = 400

    def __init__(self, message: str | LazyString, **fields: str | LazyString) -> None:
        super().__init__(str(message))
        self.message = message
        # Form field name → message, for views that show the error beside a field.
        self.fields = fields


class Invalid(DomainError):
    """The input breaks a rule; nothing was changed."""

    status = 422


class StaleEdit(DomainError):
    """Someone else saved this record since the form was loaded; nothing was changed."""

    status = 409


class InvalidTransition(DomainError):
    """The record is not in a state that allows this step."""

    status = 409


class SignInFailed(DomainError):
    """Generic sign-in failure: never says whether the user exists, is locked or mistyped."""

    status = 401


class Throttled(DomainError):
    """Too many failed sign-ins from this address; answered with 429."""

    status = 429
