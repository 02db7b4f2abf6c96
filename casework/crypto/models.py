"""Data keys: one per person and one per case, stored wrapped by a master key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import UTCDateTime, new_uuid, utcnow
from casework.extensions import db

OWNER_KINDS = ("person", "case")


class DataKey(db.Model):
    """A 256-bit data key, wrapped (AES key wrap) under the master key named by master_key_id.

    A shredded key keeps its row as a tombstone (owner, version, shredded_at) with no key bytes, so
    that reading its values raises KeyShredded rather than "missing".
    """

    __tablename__ = "data_key"
    __table_args__ = (
        UniqueConstraint("owner_kind", "owner_id", "key_version"),
        CheckConstraint(f"owner_kind IN {OWNER_KINDS!r}", name="known_owner_kind"),
        CheckConstraint("key_version >= 1", name="key_version_positive"),
        CheckConstraint(
            "(wrapped_key IS NOT NULL AND master_key_id IS NOT NULL AND shredded_at IS NULL) OR "
            "(wrapped_key IS NULL AND master_key_id IS NULL AND shredded_at IS NOT NULL)",
            name="wrapped_or_shredded",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    master_key_id: Mapped[str | None] = mapped_column(String(64), index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<DataKey id={self.id} owner={self.owner_kind}:{self.owner_id} v{self.key_version}>"
