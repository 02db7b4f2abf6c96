"""Units of the Union, staff accounts, their sessions and second factors."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    bindparam,
    literal,
    select,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column, object_session, relationship
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from casework.db import UTCDateTime, utcnow
from casework.extensions import db
from casework.policy import Role

ROLE_VALUES = tuple(r.value for r in Role)


class Unit(db.Model):
    """A Union unit in the tree (central, province, district, commune…); levels are configuration."""

    __tablename__ = "unit"
    __table_args__ = (
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        CheckConstraint(
            "successor_id IS NULL OR retired_at IS NOT NULL", name="successor_only_when_retired"
        ),
        CheckConstraint("successor_id IS NULL OR successor_id <> id", name="not_own_successor"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("unit.id", ondelete="RESTRICT"), index=True
    )
    valid_from: Mapped[date | None] = mapped_column(Date)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    parent: Mapped[Unit | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list[Unit]] = relationship(
        foreign_keys=[parent_id], back_populates="parent", order_by="Unit.code"
    )
    successor: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[successor_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    def ancestors(self) -> list[Unit]:
        """Parent first, root last. Parents the session already holds cost nothing; the first one
        it does not hold is read with all those above it in one query."""
        chain: list[Unit] = []
        node: Unit | None = self
        while node is not None:
            session = object_session(node)
            parent_id = node.parent_id
            if (
                "parent" in node.__dict__  # loaded, or set and not yet flushed
                or parent_id is None
                or session is None
                or session.identity_map.get(identity_key(Unit, parent_id)) is not None
            ):
                node = node.parent
                if node is not None:
                    chain.append(node)
            else:
                above = list(session.scalars(_ANCESTORS, {"start": parent_id}))
                # Linked as if loaded one by one: the session holds units only while something
                # refers to them, and the next call must find them through `parent` again.
                for child, parent in zip([node, *above], above, strict=False):
                    set_committed_value(child, "parent", parent)
                chain.extend(above)
                break
        return chain


def _ancestors_query():  # type: ignore[no-untyped-def]
    """A unit (bound as "start") and every unit above it, nearest first: one recursive query."""
    up = (
        select(Unit.id, Unit.parent_id, literal(0).label("depth"))
        .where(Unit.id == bindparam("start"))
        .cte("up", recursive=True)
    )
    above = aliased(Unit)
    up = up.union_all(
        select(above.id, above.parent_id, up.c.depth + 1)
        .join(up, above.id == up.c.parent_id)
        .where(up.c.depth < 64)  # a tree is a few levels deep; bad data must not loop for ever
    )
    return select(Unit).join(up, Unit.id == up.c.id).order_by(up.c.depth)


_ANCESTORS = _ancestors_query()


class User(db.Model):
    """A staff member or a partner organisation's user: exactly one unit or one partner, one role."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLE_VALUES!r}", name="known_role"),
        CheckConstraint(
            "(role = 'partner' AND partner_id IS NOT NULL AND unit_id IS NULL) OR "
            "(role <> 'partner' AND unit_id IS NOT NULL AND partner_id IS NULL)",
            name="unit_or_partner",
        ),
        CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("unit.id", ondelete="RESTRICT"), index=True
    )
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner.id", ondelete="RESTRICT"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Second factor: the seed is sealed (crypto.secretbox) and bound to this row.
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit | None] = relationship()
    partner: Mapped[Partner | None] = relationship()  # noqa: F821 (referrals.models)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    # Flask-Login protocol; sessions are server-side (UserSession), so get_id is not used to log in.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None


class UserSession(db.Model):
    """A signed-in browser: revocable on the server; the cookie holds only a random token."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """A one-time code that stands in for the second factor; only its hash is kept."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailure(db.Model):
    """A failed sign-in from a client address, for per-address throttling."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
