""" "My account" → API tokens: create one after re-entering the password (its secret shown once),
list them with their last use, revoke one."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from casework.accounts import bp
from casework.api import tokens
from casework.db import utcnow
from casework.errors import Invalid
from casework.formfields import Form, IntegerField
from casework.policy import Permission, require

SCOPE_LABELS = {"read": _l("Read only"), "write": _l("Read and write")}


class TokenForm(Form):
    name = StringField(
        _l("Name"),
        description=_l("What the token is for, such as the name of the program that uses it."),
        validators=[DataRequired(_l("Give the token a name.")), Length(max=tokens.NAME_MAX)],
    )
    scope = SelectField(_l("Access"), validators=[DataRequired()])
    days = IntegerField(
        _l("Valid for (days)"),
        default=30,
        validators=[InputRequired(_l("Enter a number of days.")), NumberRange(min=1)],
    )
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=1024)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.scope.choices = list(SCOPE_LABELS.items())


def _me():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _page(form: TokenForm, status: int = 200):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "accounts/tokens.html",
            form=form,
            tokens=tokens.tokens_of(_me()),
            scope_labels=SCOPE_LABELS,
            max_days=current_app.config["API_TOKEN_MAX_DAYS"],
            now=utcnow(),
        ),
        status,
    )


@bp.get("/account/tokens")
def api_tokens():  # type: ignore[no-untyped-def]
    require(current_user, Permission.ACCOUNT_SELF)
    return _page(TokenForm())


@bp.post("/account/tokens")
def create_api_token():  # type: ignore[no-untyped-def]
    require(current_user, Permission.ACCOUNT_SELF)
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        token, secret = tokens.create_token(
            _me(),
            name=form.name.data,
            scope=form.scope.data,
            days=form.days.data,
            current_password=form.current_password.data,
        )
    except Invalid as exc:
        for name, message in exc.fields.items():
            getattr(form, name).errors = [str(message)]
        return _page(form, 422)
    return render_template("accounts/token_created.html", token=token, secret=secret)


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_api_token(token_id: int):  # type: ignore[no-untyped-def]
    require(current_user, Permission.ACCOUNT_SELF)
    token = tokens.get_token(token_id)
    if token is None:
        abort(404)
    tokens.revoke(_me(), token)  # another's token: 404 as well, and the attempt audited
    flash(_("The token has been revoked."), "success")
    return redirect(url_for("accounts.api_tokens"), code=303)
