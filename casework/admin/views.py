"""Admin pages: load → authorise → validate → call a service → redirect. No case content here.

Every page first requires the bare permission (so people who administer nothing learn nothing, not
even which ids exist), then the permission on the object: an admin manages her own unit's subtree.
"""

from __future__ import annotations

from math import ceil

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.widgets import HiddenInput

from casework.accounts import units as unit_service
from casework.accounts import users as user_admin
from casework.accounts.models import Unit, User
from casework.admin import bp
from casework.admin.forms import (
    NO_PARTNER,
    STATUS_VALUES,
    CreateUnitForm,
    CreateUserForm,
    EditUserForm,
    MoveUnitForm,
    RenameUnitForm,
    RetireUnitForm,
    UnitSearchForm,
    UserActionForm,
    UserFilterForm,
    choices,
)
from casework.errors import Invalid, StaleEdit
from casework.extensions import db
from casework.labels import LEVEL_LABELS, label
from casework.policy import Permission, Role, can, permission_matrix, require
from casework.referrals.models import Partner

PAGE_SIZE = 50
SEARCH_LIMIT = 50
MAX_PAGE = 100_000


def _actor() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _unit_by_code(code: str) -> Unit | None:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def _load_unit(unit_id: int) -> Unit:
    require(current_user, Permission.UNIT_MANAGE)
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        abort(404)
    require(current_user, Permission.UNIT_MANAGE, unit)
    return unit


def _load_user(user_id: int) -> User:
    require(current_user, Permission.USER_MANAGE)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    require(current_user, Permission.USER_MANAGE, user)
    return user


def _refused(form, exc: Invalid | StaleEdit) -> int:  # type: ignore[no-untyped-def]
    """Undo whatever the service did, put its message beside the field it names (or on top)."""
    db.session.rollback()
    placed = False
    for name, message in exc.fields.items():
        field = form._fields.get(name)
        if field is not None and not isinstance(field.widget, HiddenInput):
            field.errors = [*field.errors, str(message)]
            placed = True
    if not placed:
        form.form_errors.append(str(exc.message))
    return exc.status


def _not_valid(form) -> int:  # type: ignore[no-untyped-def]
    """Status of a submitted form that failed validation; a bad hidden version is said on top."""
    if "version" in form._fields and form.version.errors:
        form.form_errors.append(_("This form is out of date. Reload the page and try again."))
    return 422


def _field_error(field, message: str) -> None:  # type: ignore[no-untyped-def]
    field.errors = [*field.errors, message]


# --- Permissions ------------------------------------------------------------------------------


@bp.get("/permissions")
def permissions():  # type: ignore[no-untyped-def]
    require(current_user, Permission.POLICY_VIEW)
    return render_template("admin/permissions.html", matrix=permission_matrix(), roles=list(Role))


# --- Units ------------------------------------------------------------------------------------


def _levels_below(unit: Unit) -> list[str]:
    levels = unit_service.levels()
    if unit.level not in levels:
        return []
    return levels[levels.index(unit.level) + 1 :]


@bp.get("/units")
def units():  # type: ignore[no-untyped-def]
    require(current_user, Permission.UNIT_MANAGE)
    form = UnitSearchForm(formdata=request.args)
    results: list[Unit] | None = None
    status = 200
    if form.q.data:
        if form.validate():
            results = unit_service.search_units(_actor(), form.q.data, limit=SEARCH_LIMIT + 1)
        else:
            status = 422
    return (
        render_template(
            "admin/units.html",
            form=form,
            home=current_user.unit,
            results=None if results is None else results[:SEARCH_LIMIT],
            more=results is not None and len(results) > SEARCH_LIMIT,
            limit=SEARCH_LIMIT,
        ),
        status,
    )


@bp.get("/units/<int:unit_id>")
def unit(unit_id: int):  # type: ignore[no-untyped-def]
    unit = _load_unit(unit_id)
    here, below = unit_service.user_counts(unit)
    return render_template(
        "admin/unit.html",
        unit=unit,
        crumbs=list(reversed(unit.ancestors())),
        children=unit_service.children_of(unit),
        users_here=here,
        users_below=below,
        can_add=not unit.is_retired and bool(_levels_below(unit)),
        search=UnitSearchForm(formdata=None),
    )


@bp.route("/units/<int:unit_id>/new", methods=["GET", "POST"])
def create_unit(unit_id: int):  # type: ignore[no-untyped-def]
    parent = _load_unit(unit_id)
    form = CreateUnitForm()
    form.level.choices = choices([(lv, label(LEVEL_LABELS, lv)) for lv in _levels_below(parent)])
    status = 200
    if form.validate_on_submit():
        try:
            child = unit_service.create_unit(
                _actor(),
                code=form.code.data,
                name=form.name.data,
                level=form.level.data,
                parent=parent,
            )
        except Invalid as exc:
            status = _refused(form, exc)
        else:
            flash(_("Unit %(code)s has been created.", code=child.code), "success")
            return redirect(url_for("admin.unit", unit_id=child.id), code=303)
    elif form.is_submitted():
        status = _not_valid(form)
    return render_template("admin/unit_new.html", form=form, parent=parent), status


def _unit_edit(unit_id: int, form_class, template: str, apply):  # type: ignore[no-untyped-def]
    """The shared life of a unit edit: a versioned form, one service call, 409 when stale."""
    unit = _load_unit(unit_id)
    form = form_class()
    status = 200
    if not form.is_submitted():
        form.version.data = unit.version
        if "name" in form._fields:
            form.name.data = unit.name
    elif form.validate():
        try:
            message = apply(unit, form)
        except (Invalid, StaleEdit) as exc:
            status = _refused(form, exc)
        else:
            if message is not None:
                flash(message, "success")
                return redirect(url_for("admin.unit", unit_id=unit.id), code=303)
            status = 422
    else:
        status = _not_valid(form)
    return render_template(template, form=form, unit=unit), status


@bp.route("/units/<int:unit_id>/rename", methods=["GET", "POST"])
def rename_unit(unit_id: int):  # type: ignore[no-untyped-def]
    def apply(unit: Unit, form: RenameUnitForm) -> str:
        unit_service.rename_unit(_actor(), unit, form.name.data, expected_version=form.version.data)
        return _("The unit has been renamed.")

    return _unit_edit(unit_id, RenameUnitForm, "admin/unit_rename.html", apply)


@bp.route("/units/<int:unit_id>/move", methods=["GET", "POST"])
def move_unit(unit_id: int):  # type: ignore[no-untyped-def]
    def apply(unit: Unit, form: MoveUnitForm) -> str | None:
        new_parent = _unit_by_code(form.parent.data)
        if new_parent is None:
            _field_error(form.parent, _("No unit has this code."))
            return None
        unit_service.move_unit(_actor(), unit, new_parent, expected_version=form.version.data)
        return _("The unit has been moved under %(code)s.", code=new_parent.code)

    return _unit_edit(unit_id, MoveUnitForm, "admin/unit_move.html", apply)


@bp.route("/units/<int:unit_id>/retire", methods=["GET", "POST"])
def retire_unit(unit_id: int):  # type: ignore[no-untyped-def]
    def apply(unit: Unit, form: RetireUnitForm) -> str | None:
        successor = _unit_by_code(form.successor.data)
        if successor is None:
            _field_error(form.successor, _("No unit has this code."))
            return None
        unit_service.retire_unit(_actor(), unit, successor, expected_version=form.version.data)
        return _("The unit has been retired; %(code)s takes over its work.", code=successor.code)

    return _unit_edit(unit_id, RetireUnitForm, "admin/unit_retire.html", apply)


# --- Users ------------------------------------------------------------------------------------


def _partner_choices(keep: Partner | None = None) -> list[tuple[int, str]]:
    """Active partner organisations the admin manages (and the user's current one, if any)."""
    partners = db.session.scalars(
        select(Partner).where(Partner.active.is_(True)).order_by(Partner.name)
    ).all()
    chosen = [p for p in partners if can(current_user, Permission.USER_MANAGE, p)]
    if keep is not None and keep not in chosen:
        chosen.insert(0, keep)
    return [(p.id, p.name) for p in chosen]


def _placement(form) -> tuple[Unit | None, Partner | None, bool]:  # type: ignore[no-untyped-def]
    """The unit (by code) or partner the form names; False when the code names no unit."""
    if form.role.data == Role.PARTNER:
        partner_id = form.partner.data
        partner = (
            db.session.get(Partner, partner_id) if partner_id not in (None, NO_PARTNER) else None
        )
        return None, partner, True
    if not form.unit.data:
        return None, None, True  # the service says that a unit is needed
    unit = _unit_by_code(form.unit.data)
    if unit is None:
        _field_error(form.unit, _("No unit has this code."))
        return None, None, False
    return unit, None, True


@bp.get("/users")
def users():  # type: ignore[no-untyped-def]
    require(current_user, Permission.USER_MANAGE)
    form = UserFilterForm(formdata=request.args)
    # Clamped: a huge number would overflow PostgreSQL's OFFSET instead of showing an empty page.
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    valid = form.validate()
    unit = None
    if valid and form.unit.data:
        unit = _unit_by_code(form.unit.data)
        if unit is None or not can(current_user, Permission.USER_MANAGE, unit):
            _field_error(form.unit, _("No unit has this code among the units you administer."))
            valid = False
    rows: list[User] = []
    total = 0
    if valid:
        active = STATUS_VALUES.get(form.status.data or "")
        rows, total = user_admin.list_users(
            _actor(),
            role=form.role.data or None,
            unit=unit,
            active=active,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        # The query is the policy in SQL; the policy itself has the last word on every row.
        rows = [u for u in rows if can(current_user, Permission.USER_MANAGE, u)]
    filters = {
        k: v
        for k, v in (
            ("role", form.role.data),
            ("unit", form.unit.data),
            ("status", form.status.data),
        )
        if v
    }
    return (
        render_template(
            "admin/users.html",
            form=form,
            users=rows,
            total=total,
            page=page,
            pages=max(1, ceil(total / PAGE_SIZE)),
            filters=filters,
        ),
        200 if valid else 422,
    )


@bp.route("/users/new", methods=["GET", "POST"])
def create_user():  # type: ignore[no-untyped-def]
    require(current_user, Permission.USER_MANAGE)
    form = CreateUserForm()
    form.set_partners(_partner_choices())
    status = 200
    if form.validate_on_submit():
        unit, partner, found = _placement(form)
        if not found:
            status = 422
        else:
            try:
                user, password = user_admin.create_user(
                    _actor(),
                    username=form.username.data,
                    display_name=form.display_name.data,
                    role=form.role.data,
                    unit=unit,
                    partner=partner,
                )
            except Invalid as exc:
                status = _refused(form, exc)
            else:
                # Shown once, in this response only: never in a flash, a URL, a log or the audit.
                return render_template(
                    "admin/user_password.html", user=user, password=password, created=True
                )
    elif form.is_submitted():
        status = _not_valid(form)
    return render_template("admin/user_new.html", form=form), status


def _user_page(user: User, form: UserActionForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    form = form or UserActionForm()
    # The page shows the account as it is now, so its actions carry the version it shows.
    form.version.data = user.version
    return render_template("admin/user.html", user=user, form=form), status


@bp.get("/users/<int:user_id>")
def user(user_id: int):  # type: ignore[no-untyped-def]
    return _user_page(_load_user(user_id))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id: int):  # type: ignore[no-untyped-def]
    user = _load_user(user_id)
    form = EditUserForm()
    form.set_partners(_partner_choices(keep=user.partner))
    status = 200
    if not form.is_submitted():
        form.version.data = user.version
        form.display_name.data = user.display_name
        form.role.data = user.role
        form.unit.data = user.unit.code if user.unit is not None else ""
        form.partner.data = user.partner_id or NO_PARTNER
    elif form.validate():
        unit, partner, found = _placement(form)
        if not found:
            status = 422
        else:
            try:
                changed = user_admin.update_user(
                    _actor(),
                    user,
                    display_name=form.display_name.data,
                    role=form.role.data,
                    unit=unit,
                    partner=partner,
                    expected_version=form.version.data,
                )
            except (Invalid, StaleEdit) as exc:
                status = _refused(form, exc)
            else:
                if changed:
                    flash(_("The account has been changed."), "success")
                else:
                    flash(_("Nothing was changed."), "info")
                return redirect(url_for("admin.user", user_id=user.id), code=303)
    else:
        status = _not_valid(form)
    return render_template("admin/user_edit.html", form=form, user=user), status


def _user_action(user_id: int, apply):  # type: ignore[no-untyped-def]
    """A confirmed action on an account: the page again (422/409) when refused, else apply's answer."""
    user = _load_user(user_id)
    form = UserActionForm()
    if not form.validate_on_submit():
        _not_valid(form)
        return _user_page(user, form, 422)
    try:
        return apply(user, form.version.data)
    except (Invalid, StaleEdit) as exc:
        status = _refused(form, exc)
        return _user_page(user, form, status)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id: int):  # type: ignore[no-untyped-def]
    def apply(user: User, version: int):  # type: ignore[no-untyped-def]
        user_admin.deactivate_user(_actor(), user, expected_version=version)
        flash(_("The account has been deactivated and signed out everywhere."), "success")
        return redirect(url_for("admin.user", user_id=user.id), code=303)

    return _user_action(user_id, apply)


@bp.post("/users/<int:user_id>/reactivate")
def reactivate_user(user_id: int):  # type: ignore[no-untyped-def]
    def apply(user: User, version: int):  # type: ignore[no-untyped-def]
        user_admin.reactivate_user(_actor(), user, expected_version=version)
        flash(_("The account has been reactivated."), "success")
        return redirect(url_for("admin.user", user_id=user.id), code=303)

    return _user_action(user_id, apply)


@bp.post("/users/<int:user_id>/reset-password")
def reset_password(user_id: int):  # type: ignore[no-untyped-def]
    def apply(user: User, version: int):  # type: ignore[no-untyped-def]
        password = user_admin.reset_password(_actor(), user, expected_version=version)
        return render_template(
            "admin/user_password.html", user=user, password=password, created=False
        )

    return _user_action(user_id, apply)


@bp.post("/users/<int:user_id>/reset-second-factor")
def reset_second_factor(user_id: int):  # type: ignore[no-untyped-def]
    def apply(user: User, version: int):  # type: ignore[no-untyped-def]
        user_admin.reset_second_factor(_actor(), user, expected_version=version)
        flash(
            _(
                "The second factor has been removed. The user sets up a new one at her next sign-in."
            ),
            "success",
        )
        return redirect(url_for("admin.user", user_id=user.id), code=303)

    return _user_action(user_id, apply)
