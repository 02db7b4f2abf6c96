"""Personal access tokens for the JSON API: only the secret's SHA-256 is kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.accounts.models import User
from casework.audit.models import AuditEvent
from casework.db import UTCDateTime, utcnow
from casework.extensions import db

SCOPES = ("read", "write")


class ApiToken(db.Model):
    """A user's token: scoped, expiring, revocable; shown once, then only its prefix."""

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint(f"scope IN {SCOPES!r}", name="known_scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(8))
    # The first characters of the secret: enough to recognise a token in a list, useless to guess.
    prefix: Mapped[str] = mapped_column(String(16))
    # A 256-bit random secret needs no slow hash: SHA-256 cannot be inverted and leaves no guessing.
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(32))

    user: Mapped[User] = relationship()

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now and self.user.active


# The rate limit counts a token's requests of the last minute from the audit log: this index answers
# it with a range scan of that token's newest events (the API is the index's only reader, so it is
# declared here, beside the query that needs it).
Index(
    "ix_audit_event_object_at",
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.at,
)
