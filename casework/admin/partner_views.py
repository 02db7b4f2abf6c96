"""Admin pages for partner organisations: list, create, edit. Their staff are created on the user
pages. Load → authorise → validate → call a service → redirect; no case content here."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from casework.admin import bp
from casework.cases import vocab
from casework.cases.forms import MultiCheckboxField
from casework.errors import Invalid, StaleEdit
from casework.extensions import db
from casework.formfields import Form, IntegerField
from casework.labels import PARTNER_KIND_LABELS
from casework.policy import Permission, require
from casework.referrals import partners as service
from casework.referrals.models import Partner


class PartnerForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    units = StringField(
        _l("Units served"),
        description=_l("Unit codes, separated by spaces or commas."),
        validators=[DataRequired(_l("Enter at least one unit code.")), Length(max=2000)],
    )
    contacts = TextAreaField(
        _l("Contacts"),
        description=_l("The organisation's phone and contact person. Never a shelter's address."),
        validators=[Optional(), Length(max=1000)],
    )
    services = MultiCheckboxField(
        _l("Services offered"),
        description=_l("A referral offers this partner only for the services ticked here."),
    )
    capacity = IntegerField(
        _l("Capacity (shelters)"),
        description=_l("Places for women and children staying."),
        validators=[Optional(), NumberRange(min=0)],
    )
    max_stay_days = IntegerField(
        _l("Maximum stay in days (shelters)"), validators=[Optional(), NumberRange(min=1)]
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k, v) for k, v in PARTNER_KIND_LABELS.items()]
        self.services.choices = list(vocab.SERVICES.items())


class EditPartnerForm(PartnerForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    active = BooleanField(_l("Active (receives referrals)"))


def _fields(form: PartnerForm) -> dict[str, object]:
    return {
        "name": form.name.data,
        "kind": form.kind.data,
        "unit_codes": service.unit_codes(form.units.data),
        "contacts": form.contacts.data,
        "capacity": form.capacity.data,
        "max_stay_days": form.max_stay_days.data,
        "services": form.services.data or [],
    }


def _show(form: PartnerForm, exc: Invalid | StaleEdit) -> int:
    db.session.rollback()
    placed = False
    for name, message in exc.fields.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, str(message)]
            placed = True
    if not placed:
        form.form_errors.append(str(exc.message))
    return exc.status


@bp.get("/partners")
def partners():  # type: ignore[no-untyped-def]
    rows = service.managed_partners(current_user._get_current_object())
    return render_template("admin/partners.html", partners=rows)


@bp.route("/partners/new", methods=["GET", "POST"])
def create_partner():  # type: ignore[no-untyped-def]
    require(current_user, Permission.PARTNER_MANAGE)
    form = PartnerForm()
    status = 200
    if form.validate_on_submit():
        try:
            service.create_partner(current_user._get_current_object(), **_fields(form))
        except Invalid as exc:
            status = _show(form, exc)
        else:
            flash(_("Partner added. Create its staff accounts on the user pages."), "success")
            return redirect(url_for("admin.partners"), code=303)
    elif request.method == "POST":
        status = 422
    return render_template("admin/partner_form.html", form=form, partner=None), status


@bp.route("/partners/<int:partner_id>/edit", methods=["GET", "POST"])
def edit_partner(partner_id: int):  # type: ignore[no-untyped-def]
    require(current_user, Permission.PARTNER_MANAGE)
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        abort(404)
    require(current_user, Permission.PARTNER_MANAGE, partner)
    form = EditPartnerForm()
    if request.method == "GET":
        form.version.data = partner.version
        form.name.data, form.kind.data = partner.name, partner.kind
        form.units.data = " ".join(u.code for u in partner.units_served)
        form.contacts.data = partner.contacts
        form.capacity.data, form.max_stay_days.data = partner.capacity, partner.max_stay_days
        form.services.data = partner.service_codes
        form.active.data = partner.active
    status = 200
    if form.validate_on_submit():
        try:
            service.update_partner(
                current_user._get_current_object(),
                partner,
                expected_version=form.version.data,
                active=form.active.data,
                **_fields(form),
            )
            db.session.flush()
        except StaleDataError:
            status = _show(form, StaleEdit(_l("Someone else saved this partner meanwhile.")))
        except (Invalid, StaleEdit) as exc:
            status = _show(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.partners"), code=303)
    elif request.method == "POST":
        status = 422
    return render_template("admin/partner_form.html", form=form, partner=partner), status
