"""The upload form of the case file's attachments section."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from casework.accounts.models import User
from casework.cases.attachments import DESCRIPTION_MAX
from casework.cases.models import Case
from casework.formfields import Form
from casework.policy import Permission, can

# What the phone's file picker offers first (the server still judges every file by its content).
ACCEPT = (
    ".pdf,.jpg,.jpeg,.png,.webp,.txt,.docx,.xlsx,.odt,"
    "application/pdf,image/jpeg,image/png,image/webp,text/plain"
)


class AttachmentForm(Form):
    file = FileField(
        _l("File"),
        description=_l(
            "PDF, photo (JPEG, PNG, WebP), plain text, Word, Excel or OpenDocument text; at most "
            "20 MB. Files are sensitive: they are encrypted, and photos lose their location and "
            "camera details."
        ),
        validators=[FileRequired(_l("Choose a file."))],
        render_kw={"accept": ACCEPT},
    )
    description = TextAreaField(
        _l("What is this file?"),
        description=_l(
            "For example: medical certificate, petition, decision of the commune chair. "
            "Encrypted; seen only by the units handling the case."
        ),
        validators=[DataRequired(_l("Say what the file is.")), Length(max=DESCRIPTION_MAX)],
        render_kw={"rows": 2},
    )


def upload_form_for(actor: User, case: Case) -> AttachmentForm | None:
    """An empty upload form for those who may add files to the case, else None."""
    return AttachmentForm() if can(actor, Permission.CASE_EDIT, case) else None
