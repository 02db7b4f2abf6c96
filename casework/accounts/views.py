"""Sign-in (password, then second factor or its set-up), sign-out, own account."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from casework.accounts import bp, service, totp
from casework.accounts.forms import (
    ChangePasswordForm,
    CodeForm,
    ConfirmPasswordForm,
    EnrolForm,
    LoginForm,
)
from casework.accounts.models import User
from casework.db import utcnow
from casework.errors import Invalid, SignInFailed
from casework.extensions import db
from casework.policy import Permission, require
from casework.security import public, sign_in, sign_out

PENDING_MINUTES = 5


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _set_pending(user: User, step: str) -> None:
    session["pending"] = {
        "uid": user.id,
        "step": step,
        "at": utcnow().timestamp(),
        # The password she proved: changed or reset before the next step, it no longer counts.
        "pw": user.password_changed_at.timestamp(),
    }


def _pending(step: str) -> User | None:
    """The user who passed the password step, if she did so in the last few minutes."""
    data = session.get("pending")
    if not isinstance(data, dict) or data.get("step") != step:
        return None
    if utcnow().timestamp() - float(data.get("at", 0)) > timedelta(minutes=PENDING_MINUTES).seconds:
        session.pop("pending", None)
        return None
    user = db.session.get(User, data.get("uid"))
    if user is None or not user.active or data.get("pw") != user.password_changed_at.timestamp():
        return None
    return user


def _after_full_sign_in(user: User):  # type: ignore[no-untyped-def]
    sign_in(user)
    return redirect(url_for("main.home"), code=303)


def _show_errors(form, exc: Invalid) -> None:  # type: ignore[no-untyped-def]
    placed = False
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, str(message)]
            placed = True
    if not placed:
        form.form_errors.append(str(exc.message))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("main.home"), code=303)
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = service.check_password(form.username.data, form.password.data, _client_address())
        except SignInFailed as exc:
            form.form_errors.append(str(exc.message))
            status = 401
        else:
            if user.totp_enabled:
                _set_pending(user, "code")
                return redirect(url_for("accounts.second_factor"), code=303)
            if service.second_factor_required(user):
                _set_pending(user, "enrol")
                return redirect(url_for("accounts.enrol_second_factor"), code=303)
            return _after_full_sign_in(user)
    elif request.method == "POST":
        status = 422
    return render_template("accounts/login.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
@public
def second_factor():  # type: ignore[no-untyped-def]
    user = _pending("code")
    if user is None:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("accounts.login"), code=303)
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            service.check_second_factor(user, form.code.data, _client_address())
        except SignInFailed as exc:
            form.form_errors.append(str(exc.message))
            status = 401
        else:
            if service.unused_recovery_codes(user) <= 2:
                flash(
                    _("You have few recovery codes left. Make new ones in your account."), "warning"
                )
            return _after_full_sign_in(user)
    elif request.method == "POST":
        status = 422
    return render_template("accounts/second_factor.html", form=form), status


def _enrolment_page(user: User, form: EnrolForm, status: int, endpoint: str):  # type: ignore[no-untyped-def]
    seed = service.pending_seed(user) or service.begin_totp_enrolment(user)
    uri = totp.provisioning_uri(seed, user.username, current_app.config["TOTP_ISSUER"])
    return (
        render_template(
            "accounts/enrol.html",
            form=form,
            qr_svg=totp.qr_svg(uri),
            seed_text=totp.seed_text(seed),
            action=url_for(endpoint),
        ),
        status,
    )


@bp.route("/login/second-factor-setup", methods=["GET", "POST"])
@public
def enrol_second_factor():  # type: ignore[no-untyped-def]
    user = _pending("enrol")
    if user is None:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("accounts.login"), code=303)
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = service.confirm_totp_enrolment(user, form.code.data)
        except Invalid as exc:
            _show_errors(form, exc)
            return _enrolment_page(user, form, 422, "accounts.enrol_second_factor")
        sign_in(user)
        return render_template("accounts/recovery_codes.html", codes=codes)
    return _enrolment_page(
        user, form, 422 if request.method == "POST" else 200, "accounts.enrol_second_factor"
    )


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    sign_out()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"), code=303)


@bp.get("/account")
def account():  # type: ignore[no-untyped-def]
    require(current_user, Permission.ACCOUNT_SELF)
    return render_template(
        "accounts/account.html",
        recovery_left=service.unused_recovery_codes(current_user),
        required=service.second_factor_required(current_user),
        codes_form=ConfirmPasswordForm(),
    )


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():  # type: ignore[no-untyped-def]
    require(current_user, Permission.ACCOUNT_SELF)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            service.change_password(user, form.current_password.data, form.new_password.data)
        except Invalid as exc:
            _show_errors(form, exc)
            return render_template("accounts/change_password.html", form=form), 422
        # Every session ended, this one too; the person who just proved her password goes on.
        sign_in(user)
        flash(_("Your password has been changed. Other devices have been signed out."), "success")
        return redirect(url_for("accounts.account"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/change_password.html", form=form), status


@bp.route("/account/second-factor", methods=["GET", "POST"])
def own_second_factor():  # type: ignore[no-untyped-def]
    """Optional set-up for accounts whose role does not require a second factor."""
    require(current_user, Permission.ACCOUNT_SELF)
    user = current_user._get_current_object()
    if user.totp_enabled:
        return redirect(url_for("accounts.account"), code=303)
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = service.confirm_totp_enrolment(user, form.code.data)
        except Invalid as exc:
            _show_errors(form, exc)
            return _enrolment_page(user, form, 422, "accounts.own_second_factor")
        return render_template("accounts/recovery_codes.html", codes=codes)
    return _enrolment_page(
        user, form, 422 if request.method == "POST" else 200, "accounts.own_second_factor"
    )


@bp.post("/account/recovery-codes")
def new_recovery_codes():  # type: ignore[no-untyped-def]
    require(current_user, Permission.ACCOUNT_SELF)
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        try:
            codes = service.new_recovery_codes(
                current_user._get_current_object(), form.current_password.data
            )
        except Invalid as exc:
            flash(str(exc.message), "error")
            return redirect(url_for("accounts.account"), code=303)
        return render_template("accounts/recovery_codes.html", codes=codes)
    flash(_("Enter your current password to make new recovery codes."), "error")
    return redirect(url_for("accounts.account"), code=303)
