"""Admin pages: load → authorise → validate → call a service → redirect."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy import select

from casework.accounts.models import Unit, User
from casework.admin import bp
from casework.extensions import db
from casework.policy import Permission, Role, permission_matrix, require


@bp.get("/permissions")
def permissions():  # type: ignore[no-untyped-def]
    require(current_user, Permission.POLICY_VIEW)
    return render_template("admin/permissions.html", matrix=permission_matrix(), roles=list(Role))


@bp.get("/units")
def units():  # type: ignore[no-untyped-def]
    require(current_user, Permission.UNIT_MANAGE)
    root = current_user.unit
    children = db.session.scalars(select(Unit).where(Unit.parent_id == root.id).order_by(Unit.code)).all()
    return render_template("admin/units.html", unit=root, children=children)


@bp.get("/users")
def users():  # type: ignore[no-untyped-def]
    require(current_user, Permission.USER_MANAGE)
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    visible = [u for u in rows if require_quiet(u)]
    return render_template("admin/users.html", users=visible)


def require_quiet(user: User) -> bool:
    from casework.policy import can

    return can(current_user, Permission.USER_MANAGE, user)
