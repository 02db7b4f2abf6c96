"""Sign-in and own-account forms."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from casework.formfields import Form


class LoginForm(Form):
    username = StringField(
        _l("Username"), validators=[DataRequired(_l("Enter your username.")), Length(max=64)]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=1024)]
    )


class CodeForm(Form):
    code = StringField(
        _l("Code"),
        description=_l(
            "The 6-digit code from your authenticator app, or one of your recovery codes."
        ),
        validators=[DataRequired(_l("Enter the code.")), Length(max=32)],
    )


class EnrolForm(Form):
    code = StringField(
        _l("Code from the app"),
        description=_l("After adding the account, enter the 6-digit code the app shows."),
        validators=[DataRequired(_l("Enter the code.")), Length(max=16)],
    )


class ChangePasswordForm(Form):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=1024)],
    )
    new_password = PasswordField(
        _l("New password"),
        description=_l("At least 12 characters. A short sentence you can remember works well."),
        validators=[DataRequired(_l("Enter a new password.")), Length(max=1024)],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(_l("Enter the new password again.")),
            EqualTo("new_password", _l("The two new passwords are not the same.")),
        ],
    )


class ConfirmPasswordForm(Form):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=1024)],
    )
