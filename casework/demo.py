"""The demo organisation: central, one province, two districts, four communes, two partners and a
user of every role. Development only; the password is public."""

from __future__ import annotations

from dataclasses import dataclass

import click
from sqlalchemy import select

from casework.accounts import service as accounts
from casework.accounts import totp
from casework.accounts import users as user_admin
from casework.accounts.models import Unit, User
from casework.db import utcnow
from casework.extensions import db
from casework.referrals.models import DEFAULT_SERVICES, Partner, PartnerKind

DEMO_PASSWORD = "Demo-HoiPhuNu-2026"  # noqa: S105 (public, demo only; refused in production)  # nosec B105

UNITS = [
    # code, name, level, parent
    ("TW", "Trung ương Hội LHPN Việt Nam", "central", None),
    ("HY", "Hội LHPN tỉnh Hưng Yên", "province", "TW"),
    ("HY-VL", "Hội LHPN huyện Văn Lâm", "district", "HY"),
    ("HY-KC", "Hội LHPN huyện Khoái Châu", "district", "HY"),
    ("HY-VL-LH", "Hội LHPN xã Lạc Hồng", "commune", "HY-VL"),
    ("HY-VL-MH", "Hội LHPN xã Minh Hải", "commune", "HY-VL"),
    ("HY-KC-DT", "Hội LHPN xã Đông Tảo", "commune", "HY-KC"),
    ("HY-KC-BM", "Hội LHPN xã Bình Minh", "commune", "HY-KC"),
]

PARTNERS = [
    ("Nhà tạm lánh - Địa chỉ tin cậy tỉnh Hưng Yên", PartnerKind.SHELTER, 6, 30, ["HY"]),
    (
        "Trung tâm Trợ giúp pháp lý nhà nước tỉnh Hưng Yên",
        PartnerKind.LEGAL_AID,
        None,
        None,
        ["HY"],
    ),
]

USERS = [
    # username, name, role, unit code or partner index
    ("admin", "Quản trị hệ thống", "admin", "TW"),
    ("auditor", "Nguyễn Thu Kiểm", "auditor", "TW"),
    ("reviewer.tw", "Trần Minh Anh (Ban CSLP)", "reviewer", "TW"),
    ("reviewer.hy", "Lê Thị Hồng", "reviewer", "HY"),
    ("reviewer.vl", "Phạm Thị Lan", "reviewer", "HY-VL"),
    ("reviewer.kc", "Đỗ Thị Mai", "reviewer", "HY-KC"),
    ("officer.vl", "Vũ Thị Hà", "officer", "HY-VL"),
    ("officer.lh", "Nguyễn Thị Thu", "officer", "HY-VL-LH"),
    ("officer.mh", "Bùi Thị Nga", "officer", "HY-VL-MH"),
    ("officer.dt", "Hoàng Thị Yến", "officer", "HY-KC-DT"),
    ("partner.shelter", "Ngô Thị Bình", "partner", 0),
    ("partner.legal", "Đặng Văn Công", "partner", 1),
]


@dataclass(frozen=True)
class Login:
    role: str
    where: str
    username: str
    totp_secret: str | None


def load() -> list[Login]:
    """Create whatever of the demo organisation is missing; return every demo login."""
    by_code: dict[str, Unit] = {u.code: u for u in db.session.scalars(select(Unit))}
    for code, name, level, parent in UNITS:
        if code not in by_code:
            unit = Unit(code=code, name=name, level=level, parent=by_code.get(parent or ""))
            db.session.add(unit)
            by_code[code] = unit
    db.session.flush()
    partners: list[Partner] = []
    for name, kind, capacity, max_stay, served in PARTNERS:
        partner = db.session.scalar(select(Partner).where(Partner.name == name))
        if partner is None:
            partner = Partner(name=name, kind=kind.value, capacity=capacity, max_stay_days=max_stay)
            partner.services = ",".join(DEFAULT_SERVICES[kind.value])
            partner.units_served = [by_code[c] for c in served]
            db.session.add(partner)
        partners.append(partner)
    db.session.flush()
    logins = []
    for username, name, role, where in USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            unit = by_code[where] if isinstance(where, str) else None
            partner = partners[where] if isinstance(where, int) else None
            user, _ = user_admin.create_user(
                None,
                username=username,
                display_name=name,
                role=role,
                unit=unit,
                partner=partner,
                password=DEMO_PASSWORD,
            )
            if accounts.second_factor_required(user):
                accounts.begin_totp_enrolment(user)
                user.totp_enabled_at = utcnow()
        secret = None
        if user.totp_enabled:
            secret = totp.seed_text(accounts._seed(user)).replace(" ", "")
        place = user.unit.name if user.unit else (user.partner.name if user.partner else "")
        logins.append(Login(role, place, username, secret))
    return logins


def print_logins(logins: list[Login]) -> None:
    click.echo("")
    click.echo("Demo logins (development only). Password for every account: " + DEMO_PASSWORD)
    click.echo("Second factor: add the secret to an authenticator app, or run")
    click.echo("  .venv/bin/casework users totp-code USERNAME   to print the current code.")
    click.echo("")
    click.echo(f"{'role':<14} {'username':<17} {'TOTP secret':<34} unit / organisation")
    for login in logins:
        click.echo(
            f"{login.role:<14} {login.username:<17} {login.totp_secret or '-':<34} {login.where}"
        )
    click.echo("")
