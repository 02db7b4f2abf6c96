"""Test-only models with encrypted fields, on their own MetaData: never in the app's migrations."""

from __future__ import annotations

import uuid

from sqlalchemy import MetaData, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casework.crypto import blindindex
from casework.crypto.fields import EncryptedDate, EncryptedText
from casework.db import NAMING_CONVENTION, new_uuid


class TestBase(DeclarativeBase):
    __test__ = False
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Victim(TestBase):
    """A person: every field under the person's own data key."""

    __tablename__ = "crypto_test_victim"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    full_name = EncryptedText(key_owner="person", owner_attr="id", index=blindindex.NAME)
    phone = EncryptedText(key_owner="person", owner_attr="id", index=blindindex.PHONE)
    id_number = EncryptedText(key_owner="person", owner_attr="id", index=blindindex.ID_NUMBER)
    birth_date = EncryptedDate(key_owner="person", owner_attr="id")
    sex: Mapped[str | None] = mapped_column(String(8))  # de-identified: stays plain


class Note(TestBase):
    """A case-owned row: encrypted under its case's data key."""

    __tablename__ = "crypto_test_note"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    body = EncryptedText(key_owner="case")
    kind: Mapped[str] = mapped_column(String(16), default="note")
